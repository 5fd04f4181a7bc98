// Host patterns and networks: reverse_etl.allowed_hosts and
// reverse_etl.blocked_networks as their check hooks read them
// (http/host_allowlist, http/network_blocklist, common/setting_list), and the
// URL check every request passes (check_url, over libcurl's URL parser).
// Input: one text, read as each setting and as a URL.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common/setting_list.hpp"
#include "http/host_allowlist.hpp"
#include "http/network_blocklist.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;

namespace {

const char *const kHosts[] = {"api.segment.io", "hooks.example.com", "example.com", "127.0.0.1", "[::1]",
                              "169.254.169.254", "[fe80::1]", "localhost", "a.b.c.example.com."};
const long kPorts[] = {80, 443, 8080, 65535};

void check_allowlist(const std::string &text) {
    std::optional<http::HostAllowlist> allowlist;
    try {
        allowlist = http::HostAllowlist::parse(text);
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "HostAllowlist::parse");
        return;
    }
    // Each item alone is a valid list too, and allows no more than the whole.
    for (const std::string &item : split_setting_list(text)) {
        const http::HostAllowlist one({item});
        for (const char *host : kHosts)
            for (const long port : kPorts) {
                FUZZ_CHECK(!one.allows(host, port) || allowlist->allows(host, port), "allows less than an item");
                FUZZ_CHECK(!allowlist->names(host, port) || allowlist->allows(host, port), "names what it does not allow");
            }
    }
    const http::HostAllowlist everything = http::HostAllowlist::parse("*");
    for (const char *url : {"https://api.segment.io/v1/batch", "http://127.0.0.1:18080/m", "https://[::1]/"}) {
        FUZZ_CHECK(http::host_allowed(everything, url), "\"*\" does not allow a URL");
        (void)http::host_allowed(*allowlist, url);
    }
}

void check_blocklist(const std::string &text) {
    std::optional<http::NetworkBlocklist> blocklist;
    try {
        blocklist = http::NetworkBlocklist::parse(text);
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "NetworkBlocklist::parse");
        return;
    }
    // The address each network is written with lies in it.
    for (const std::string &item : http::NetworkBlocklist::split(text)) {
        const std::string address = item.substr(0, item.find('/'));
        sockaddr_in ipv4{};
        sockaddr_in6 ipv6{};
        ipv4.sin_family = AF_INET;
        ipv6.sin6_family = AF_INET6;
        if (inet_pton(AF_INET, address.c_str(), &ipv4.sin_addr) == 1)
            FUZZ_CHECK(blocklist->find(reinterpret_cast<sockaddr *>(&ipv4), sizeof ipv4) != nullptr,
                       "network does not contain its address: " + item);
        else if (inet_pton(AF_INET6, address.c_str(), &ipv6.sin6_addr) == 1)
            FUZZ_CHECK(blocklist->find(reinterpret_cast<sockaddr *>(&ipv6), sizeof ipv6) != nullptr,
                       "network does not contain its address: " + item);
    }
}

// The input's first bytes as a socket address of either family, any length.
void check_socket_address(const uint8_t *data, size_t size) {
    static const http::NetworkBlocklist defaults = http::NetworkBlocklist::parse(http::kDefaultBlockedNetworks);
    sockaddr_storage storage{};
    std::memcpy(&storage, data, std::min(size, sizeof storage));
    const auto *address = reinterpret_cast<const sockaddr *>(&storage);
    const size_t length = size > 0 ? data[0] % (sizeof storage + 1) : 0;
    (void)defaults.find(address, length);
    (void)http::address_text(address, length);
    storage.ss_family = size > 1 && data[1] % 2 ? AF_INET6 : AF_INET;
    (void)defaults.find(address, sizeof storage);
    const http::AddressText text = http::address_text(address, sizeof storage);
    FUZZ_CHECK(std::memchr(text.data(), '\0', text.size()) != nullptr, "address text not terminated");
}

void check_url(const std::string &text) {
    static const http::HostAllowlist allowlist =
        http::HostAllowlist::parse("*.example.com, api.segment.io:443, 127.0.0.1:18080, [::1]");
    bool passed = true;
    try {
        const http::UrlTarget target = http::check_url(text, allowlist);
        FUZZ_CHECK(allowlist.allows(target.host, target.port), "check_url passed a host the list refuses");
        FUZZ_CHECK(target.port > 0 && target.port <= 65535, "port out of range");
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "check_url");
        passed = false;
    }
    FUZZ_CHECK(http::host_allowed(allowlist, text) == passed, "host_allowed and check_url disagree");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = fuzz::text_of(data, size);
    check_allowlist(text);
    check_blocklist(text);
    check_socket_address(data, size);
    check_url(text);
    return 0;
}
