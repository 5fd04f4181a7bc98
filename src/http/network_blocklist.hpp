// reverse_etl.blocked_networks: the networks no destination may connect to
// (loopback, link-local, cloud metadata...) unless reverse_etl.allowed_hosts
// names its host exactly. The check is made on the address each connection is
// about to be opened to, after DNS resolution, so a name that resolves to a
// blocked address (or is made to, by DNS rebinding) gains nothing.
//
// Entries are CIDR networks, IPv4 ("169.254.0.0/16") or IPv6 ("fe80::/10"); an
// address alone is a network of that one address. IPv4 addresses are matched
// in their IPv4-mapped IPv6 form (::ffff:a.b.c.d), and so are IPv4 networks:
// a connection to ::ffff:127.0.0.1, which the kernel delivers to 127.0.0.1,
// is in 127.0.0.0/8, and "::ffff:127.0.0.0/104" blocks 127.0.0.1 too.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

namespace reverse_etl::http {

// The setting's default: the server itself (loopback and the unspecified
// addresses, which reach it too), link-local networks (169.254.169.254 is the
// metadata service of AWS, GCP, Azure and others; the address for instance
// credentials), and the metadata addresses outside link-local of AWS (IPv6)
// and Alibaba Cloud.
inline constexpr const char *kDefaultBlockedNetworks =
    "127.0.0.0/8, ::1/128, 0.0.0.0/8, ::/128, 169.254.0.0/16, fe80::/10, fd00:ec2::254/128, 100.100.100.200/32";

// Room for any address inet_ntop writes, IPv6 included.
using AddressText = std::array<char, INET6_ADDRSTRLEN>;

class NetworkBlocklist {
  public:
    // One network per element. Throws Error 22023 naming the first bad one.
    explicit NetworkBlocklist(const std::vector<std::string> &networks);

    // The setting's text: networks separated by commas; empty items are
    // skipped, so "" blocks nothing.
    static NetworkBlocklist parse(const std::string &setting);
    static std::vector<std::string> split(const std::string &setting);

    // The network, as written in the setting, that contains the socket
    // address (AF_INET or AF_INET6; `length` bytes at `address`), or nullptr.
    // No allocation and no exception: libcurl's socket callback calls it.
    const std::string *find(const sockaddr *address, size_t length) const noexcept;

    bool empty() const { return networks_.empty(); }

  private:
    struct Network {
        std::array<uint8_t, 16> prefix;  // IPv6, or IPv4-mapped IPv6
        int bits;                        // of the 128
        std::string text;
        bool contains(const std::array<uint8_t, 16> &address) const noexcept;
    };
    static Network parse_network(const std::string &text);

    std::vector<Network> networks_;
};

// The address of an AF_INET or AF_INET6 socket address as inet_ntop writes it
// ("169.254.169.254", "::ffff:127.0.0.1"); "?" for anything else. No allocation.
AddressText address_text(const sockaddr *address, size_t length) noexcept;

}  // namespace reverse_etl::http
