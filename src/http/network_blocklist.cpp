#include "http/network_blocklist.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include <arpa/inet.h>

#include "common/error.hpp"
#include "common/parse_number.hpp"
#include "common/setting_list.hpp"
#include "common/text.hpp"

namespace reverse_etl::http {
namespace {

using Address = std::array<uint8_t, 16>;

// Where an IPv4 address sits in its IPv4-mapped IPv6 form ::ffff:a.b.c.d.
constexpr int kMappedPrefixBits = 96;

Address mapped(const in_addr &ipv4) {
    Address address{};
    address[10] = 0xff;
    address[11] = 0xff;
    std::memcpy(address.data() + 12, &ipv4, 4);
    return address;
}

// The address of a socket address, IPv4 in its mapped form; nullopt for
// other families or a length too short for the family.
std::optional<Address> socket_address(const sockaddr *address, size_t length) noexcept {
    if (address == nullptr)
        return std::nullopt;
    if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
        sockaddr_in ipv4;
        std::memcpy(&ipv4, address, sizeof(ipv4));
        return mapped(ipv4.sin_addr);
    }
    if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
        sockaddr_in6 ipv6;
        std::memcpy(&ipv6, address, sizeof(ipv6));
        Address result;
        std::memcpy(result.data(), ipv6.sin6_addr.s6_addr, result.size());
        return result;
    }
    return std::nullopt;
}

// Bits [from, 128) cleared.
Address masked(Address address, int from) {
    for (int bit = from; bit < 128; bit++)
        address[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    return address;
}

// The prefix length after "/", digits only (parse_integer alone would take "-0").
std::optional<int> prefix_length(const std::string &digits, int max) {
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    const std::optional<int> length = parse_integer<int>(digits);
    if (!length || *length > max)
        return std::nullopt;
    return length;
}

Error bad_network(const std::string &text, const std::string &why) {
    return Error(sqlstate::kInvalidParameterValue,
                 "invalid network \"" + text + "\" in reverse_etl.blocked_networks", why,
                 "A network is an IPv4 or IPv6 address, optionally followed by \"/\" and a prefix length, "
                 "as in \"10.0.0.0/8\" or \"fc00::/7\".");
}

// "10.0.0.0/8", "fc00::/7": how the network would have been written without host bits.
std::string network_text(const Address &address, bool ipv4, int length) {
    char buffer[INET6_ADDRSTRLEN] = {0};
    const void *bytes = ipv4 ? static_cast<const void *>(address.data() + 12) : address.data();
    inet_ntop(ipv4 ? AF_INET : AF_INET6, bytes, buffer, sizeof(buffer));
    return std::string(buffer) + "/" + std::to_string(length);
}

}  // namespace

NetworkBlocklist::NetworkBlocklist(const std::vector<std::string> &networks) {
    for (const std::string &network : networks)
        networks_.push_back(parse_network(network));
}

NetworkBlocklist NetworkBlocklist::parse(const std::string &setting) { return NetworkBlocklist(split(setting)); }

std::vector<std::string> NetworkBlocklist::split(const std::string &setting) { return split_setting_list(setting); }

NetworkBlocklist::Network NetworkBlocklist::parse_network(const std::string &written) {
    const std::string text = trimmed(written);
    const size_t slash = text.find('/');
    const std::string address_part = text.substr(0, slash);
    Address address{};
    bool ipv4 = false;
    in_addr ipv4_address{};
    in6_addr ipv6_address{};
    // inet_pton takes dotted-quad IPv4 only (no "127.1", no octal), and IPv6
    // without a zone ("%eth0"): what a network in this list should look like.
    if (inet_pton(AF_INET, address_part.c_str(), &ipv4_address) == 1) {
        ipv4 = true;
        address = mapped(ipv4_address);
    } else if (inet_pton(AF_INET6, address_part.c_str(), &ipv6_address) == 1) {
        std::memcpy(address.data(), ipv6_address.s6_addr, address.size());
    } else {
        throw bad_network(text, "\"" + address_part + "\" is not an IPv4 or IPv6 address.");
    }
    const int max_length = ipv4 ? 32 : 128;
    int length = max_length;
    if (slash != std::string::npos) {
        const std::string digits = text.substr(slash + 1);
        const std::optional<int> given = prefix_length(digits, max_length);
        if (!given)
            throw bad_network(text, "The prefix length after \"/\" must be a number from 0 to " +
                                           std::to_string(max_length) + ".");
        length = *given;
    }
    const int bits = (ipv4 ? kMappedPrefixBits : 0) + length;
    // A typo in the address or the length would otherwise block a network
    // other than the one meant, silently.
    if (masked(address, bits) != address)
        throw bad_network(text, "The address has bits set to the right of the /" + std::to_string(length) +
                                       " prefix; the network is " +
                                       network_text(masked(address, bits), ipv4, length) + ".");
    return Network{address, bits, text};
}

bool NetworkBlocklist::Network::contains(const Address &address) const noexcept {
    const int whole_bytes = bits / 8;
    if (std::memcmp(address.data(), prefix.data(), static_cast<size_t>(whole_bytes)) != 0)
        return false;
    const int rest = bits % 8;
    if (rest == 0)
        return true;
    const auto mask = static_cast<uint8_t>(0xff00u >> rest);
    return (address[whole_bytes] & mask) == prefix[whole_bytes];
}

const std::string *NetworkBlocklist::find(const sockaddr *address, size_t length) const noexcept {
    const std::optional<Address> candidate = socket_address(address, length);
    if (!candidate)
        return nullptr;
    for (const Network &network : networks_)
        if (network.contains(*candidate))
            return &network.text;
    return nullptr;
}

AddressText address_text(const sockaddr *address, size_t length) noexcept {
    AddressText text{};
    text[0] = '?';
    if (address == nullptr)
        return text;
    const void *bytes = nullptr;
    sockaddr_in ipv4;
    sockaddr_in6 ipv6;
    if (address->sa_family == AF_INET && length >= sizeof(ipv4)) {
        std::memcpy(&ipv4, address, sizeof(ipv4));
        bytes = &ipv4.sin_addr;
    } else if (address->sa_family == AF_INET6 && length >= sizeof(ipv6)) {
        std::memcpy(&ipv6, address, sizeof(ipv6));
        bytes = &ipv6.sin6_addr;
    }
    if (bytes == nullptr || inet_ntop(address->sa_family, bytes, text.data(), text.size()) == nullptr) {
        text.fill('\0');
        text[0] = '?';
    }
    return text;
}

}  // namespace reverse_etl::http
