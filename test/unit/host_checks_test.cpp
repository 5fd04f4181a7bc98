// http/host_allowlist (reverse_etl.allowed_hosts and the URL check every
// request passes), http/network_blocklist (reverse_etl.blocked_networks),
// common/setting_list, http/http_types.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/setting_list.hpp"
#include "http/host_allowlist.hpp"
#include "http/http_types.hpp"
#include "http/network_blocklist.hpp"
#include "http/url_syntax.hpp"
#include "test_support.hpp"

namespace reverse_etl::http {
namespace {

using test::error_of;

void expect_bad_pattern(const std::string &setting, const std::string &pattern) {
    const Error error = error_of([&] { HostAllowlist::parse(setting); });
    EXPECT_EQ(error.sqlstate(), "22023") << setting;
    EXPECT_EQ(error.message(), "invalid host pattern \"" + pattern + "\" in reverse_etl.allowed_hosts")
        << setting;
    EXPECT_EQ(error.detail(),
              "A pattern is \"*\", a host name, \"*.\" followed by a domain, or an IP address, "
              "optionally followed by \":port\".");
}

TEST(UrlSyntax, ClassifiesWhatASettingMustNotHold) {
    EXPECT_EQ(check_url_syntax("https://hooks.example.com/in?x=1"), UrlSyntax::Ok);
    EXPECT_EQ(check_url_syntax("HTTP://[::1]:8080/"), UrlSyntax::Ok);
    EXPECT_EQ(check_url_syntax("https://x.example/a b"), UrlSyntax::Whitespace);
    EXPECT_EQ(check_url_syntax("https://x.example/\x7f"), UrlSyntax::Whitespace);
    EXPECT_EQ(check_url_syntax("ftp://x.example/"), UrlSyntax::NotHttp);
    EXPECT_EQ(check_url_syntax("x.example/in"), UrlSyntax::NotHttp);
    EXPECT_EQ(check_url_syntax("http://"), UrlSyntax::NoHost);
    // libcurl would read these as host "hook": an http URL has none.
    EXPECT_EQ(check_url_syntax("https:///hook"), UrlSyntax::NoHost);
    EXPECT_EQ(check_url_syntax("http:/hook/x"), UrlSyntax::NotHttp);
    EXPECT_EQ(check_url_syntax("http://x.example:0/"), UrlSyntax::BadPort);
    EXPECT_EQ(check_url_syntax("http://x.example:65536/"), UrlSyntax::BadPort);
    EXPECT_EQ(check_url_syntax("http://x.example:x/"), UrlSyntax::BadPort);
    EXPECT_EQ(check_url_syntax("https://user:pw@x.example/"), UrlSyntax::Credentials);
    EXPECT_EQ(check_url_syntax("https://user@x.example/"), UrlSyntax::Credentials);
    EXPECT_EQ(check_url_syntax("http://[::1/in"), UrlSyntax::Malformed);
}

TEST(SettingList, SplitsTrimsAndSkipsEmptyItems) {
    EXPECT_EQ(split_setting_list(""), std::vector<std::string>{});
    EXPECT_EQ(split_setting_list(" , ,\t"), std::vector<std::string>{});
    EXPECT_EQ(split_setting_list(" a ,b,,\n c\r\n"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(split_setting_list("a b"), std::vector<std::string>{"a b"});
}

TEST(HostAllowlist, EmptyAllowsNothingAndStarEverything) {
    const HostAllowlist none = HostAllowlist::parse("");
    EXPECT_FALSE(none.allows("example.com", 443));
    const HostAllowlist any = HostAllowlist::parse("*");
    EXPECT_TRUE(any.allows("example.com", 443));
    EXPECT_TRUE(any.allows("127.0.0.1", 1));
    EXPECT_TRUE(any.allows("[::1]", 65535));
}

TEST(HostAllowlist, ExactHostsIgnoreCaseAndAFinalDot) {
    const HostAllowlist list = HostAllowlist::parse("API.Segment.io., 127.0.0.1");
    EXPECT_TRUE(list.allows("api.segment.io", 443));
    EXPECT_TRUE(list.allows("api.SEGMENT.io.", 80));
    EXPECT_FALSE(list.allows("eu.api.segment.io", 443));   // not its subdomains
    EXPECT_FALSE(list.allows("segment.io", 443));
    EXPECT_FALSE(list.allows("api.segment.io.evil.net", 443));
    EXPECT_TRUE(list.allows("127.0.0.1", 8080));
    EXPECT_FALSE(list.allows("127.0.0.2", 8080));
}

TEST(HostAllowlist, WildcardsMatchSubdomainsOnly) {
    const HostAllowlist list = HostAllowlist::parse("*.example.com");
    EXPECT_TRUE(list.allows("a.example.com", 443));
    EXPECT_TRUE(list.allows("a.b.EXAMPLE.com", 443));
    EXPECT_FALSE(list.allows("example.com", 443));
    EXPECT_FALSE(list.allows(".example.com", 443));
    EXPECT_FALSE(list.allows("badexample.com", 443));
    EXPECT_FALSE(list.allows("a.example.com.evil.net", 443));
    EXPECT_FALSE(list.allows("example.org", 443));
}

TEST(HostAllowlist, PortsRestrictAPattern) {
    const HostAllowlist list = HostAllowlist::parse("example.com:8443, *.internal:80, *:9999, [::1]:8080, [fe80::1]");
    EXPECT_TRUE(list.allows("example.com", 8443));
    EXPECT_FALSE(list.allows("example.com", 443));
    EXPECT_TRUE(list.allows("svc.internal", 80));
    EXPECT_FALSE(list.allows("svc.internal", 8080));
    EXPECT_TRUE(list.allows("anything.at.all", 9999));
    EXPECT_TRUE(list.allows("[::1]", 8080));
    EXPECT_FALSE(list.allows("[::1]", 80));
    EXPECT_TRUE(list.allows("[FE80::1]", 443));   // no port: any port
}

TEST(HostAllowlist, BadPatternsAreRefusedNamingTheFirst) {
    expect_bad_pattern("good.com, exa mple.com, bad!", "exa mple.com");
    expect_bad_pattern("*.", "*.");
    expect_bad_pattern("*.*.com", "*.*.com");
    expect_bad_pattern("a.*.com", "a.*.com");
    expect_bad_pattern("**", "**");
    expect_bad_pattern("http://example.com", "http://example.com");
    expect_bad_pattern(":80", ":80");
    expect_bad_pattern("example.com:0", "example.com:0");
    expect_bad_pattern("example.com:65536", "example.com:65536");
    expect_bad_pattern("example.com:-1", "example.com:-1");
    expect_bad_pattern("example.com:+80", "example.com:+80");
    expect_bad_pattern("example.com:", "example.com:");
    expect_bad_pattern("::1", "::1");               // IPv6 needs its brackets
    expect_bad_pattern("[::1", "[::1");
    expect_bad_pattern("[::g]", "[::g]");
    expect_bad_pattern("-example.com", "-example.com");
    expect_bad_pattern(".example.com", ".example.com");
    expect_bad_pattern("ex\xC3\xA4mple.com", "ex\xC3\xA4mple.com");
    // The constructor gets the items as they are; messages show them so.
    const Error error = error_of([] { HostAllowlist(std::vector<std::string>{" bad host "}); });
    EXPECT_EQ(error.message(), "invalid host pattern \" bad host \" in reverse_etl.allowed_hosts");
    EXPECT_NO_THROW(HostAllowlist(std::vector<std::string>{" Example.COM:443 "}));
}

TEST(HostAllowlist, NamesOnlyIpLiteralsGivenExactly) {
    const HostAllowlist list = HostAllowlist::parse("127.0.0.1, [::1]:8080, localhost, *.0.0.1, 10.0.0.1:80");
    EXPECT_TRUE(list.names("127.0.0.1", 443));
    EXPECT_TRUE(list.names("[::1]", 8080));
    EXPECT_FALSE(list.names("[::1]", 8081));
    EXPECT_TRUE(list.names("10.0.0.1", 80));
    EXPECT_FALSE(list.names("10.0.0.1", 81));
    // A host name never lifts the block, even named exactly: its DNS may change.
    EXPECT_TRUE(list.allows("localhost", 80));
    EXPECT_FALSE(list.names("localhost", 80));
    // Patterns never name an address.
    EXPECT_TRUE(list.allows("127.0.0.1", 443));
    EXPECT_FALSE(HostAllowlist::parse("*, *.0.0.1").names("127.0.0.1", 443));
    // Not literals in the strict sense URLs use.
    EXPECT_FALSE(HostAllowlist::parse("127.1").names("127.1", 80));
    EXPECT_FALSE(HostAllowlist::parse("[::1]").names("::1", 80));
}

TEST(UrlCheck, TargetsAsLibcurlReadsThem) {
    const HostAllowlist any = HostAllowlist::parse("*");
    UrlTarget target = check_url("HTTPS://API.Segment.IO/v1/batch", any);
    EXPECT_EQ(target.host, "api.segment.io");
    EXPECT_EQ(target.port, 443);
    target = check_url("http://example.com./x?y#z", any);
    EXPECT_EQ(target.host, "example.com");
    EXPECT_EQ(target.port, 80);
    target = check_url("http://[::1]:8080/hook", any);
    EXPECT_EQ(target.host, "[::1]");
    EXPECT_EQ(target.port, 8080);
    // The user information is not the host.
    target = check_url("https://example.com@evil.example/x", any);
    EXPECT_EQ(target.host, "evil.example");
    // Other spellings of an IPv4 address are matched as the address libcurl
    // connects to, so "127.0.0.1" in a pattern means all of them.
    for (const char *spelling : {"http://127.1/", "http://0x7f.0.0.1/", "http://2130706433/", "http://0177.0.0.1/"})
        EXPECT_EQ(check_url(spelling, any).host, "127.0.0.1") << spelling;
    target = check_url("https://user:pass@example.com:8443", any);
    EXPECT_EQ(target.host, "example.com");
    EXPECT_EQ(target.port, 8443);
}

TEST(UrlCheck, RefusesOtherSchemesBadUrlsAndHostsNotAllowed) {
    const HostAllowlist list = HostAllowlist::parse("example.com, *.hooks.example:443");
    EXPECT_EQ(check_url("https://example.com/a", list).host, "example.com");
    EXPECT_EQ(check_url("https://x.hooks.example/a", list).host, "x.hooks.example");

    Error error = error_of([&] { check_url("ftp://example.com/file", list); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "only http and https URLs are allowed");
    EXPECT_EQ(error.detail(), "The URL's scheme is \"ftp\".");
    EXPECT_EQ(error_of([&] { check_url("FILE:///etc/passwd", list); }).detail(), "The URL's scheme is \"file\".");

    for (const char *bad : {"", "not a url", "http://", "http://exa mple.com/", "http://[::1/"}) {
        error = error_of([&] { check_url(bad, list); });
        EXPECT_EQ(error.sqlstate(), "22023") << bad;
        EXPECT_EQ(error.message(), "destination URL is not valid") << bad;
        EXPECT_FALSE(error.detail().empty()) << bad;   // libcurl's reason: its wording is not ours
    }

    // A URL may carry a token (Slack webhooks): messages name the host only.
    error = error_of([&] { check_url("https://hooks.slack.com/services/T000/B000/secret-token", list); });
    EXPECT_EQ(error.sqlstate(), "42501");
    EXPECT_EQ(error.message(), "destination host \"hooks.slack.com\" is not allowed");
    EXPECT_EQ(error.detail(), "No pattern in reverse_etl.allowed_hosts matches host \"hooks.slack.com\" on port 443.");
    EXPECT_EQ(error.hint(), "Add it to reverse_etl.allowed_hosts.");
    EXPECT_EQ(error.message().find("secret-token"), std::string::npos);

    error = error_of([&] { check_url("http://x.hooks.example/a", list); });
    EXPECT_EQ(error.detail(), "No pattern in reverse_etl.allowed_hosts matches host \"x.hooks.example\" on port 80.");
    EXPECT_EQ(error_of([&] { check_url("https://example.com@evil.example/", list); }).message(),
              "destination host \"evil.example\" is not allowed");
    // libcurl reads "https:///path" as host "path"; the check follows libcurl.
    EXPECT_EQ(error_of([&] { check_url("https:///path", list); }).message(),
              "destination host \"path\" is not allowed");

    EXPECT_TRUE(host_allowed(list, "https://example.com"));
    EXPECT_FALSE(host_allowed(list, "https://evil.example"));
    EXPECT_FALSE(host_allowed(list, "ftp://example.com"));
    EXPECT_FALSE(host_allowed(list, "::::"));
}

// ---- reverse_etl.blocked_networks

sockaddr_in ipv4(const char *text) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    EXPECT_EQ(inet_pton(AF_INET, text, &address.sin_addr), 1) << text;
    return address;
}

sockaddr_in6 ipv6(const char *text) {
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, text, &address.sin6_addr), 1) << text;
    return address;
}

// The network (as written) that blocks the address, or "" when none does.
std::string blocked_by(const NetworkBlocklist &list, const char *address) {
    const std::string *network = nullptr;
    if (std::strchr(address, ':')) {
        const sockaddr_in6 socket = ipv6(address);
        network = list.find(reinterpret_cast<const sockaddr *>(&socket), sizeof socket);
    } else {
        const sockaddr_in socket = ipv4(address);
        network = list.find(reinterpret_cast<const sockaddr *>(&socket), sizeof socket);
    }
    return network ? *network : std::string();
}

void expect_bad_network(const std::string &entry, const std::string &detail) {
    const Error error = error_of([&] { NetworkBlocklist::parse("10.0.0.0/8, " + entry); });
    EXPECT_EQ(error.sqlstate(), "22023") << entry;
    EXPECT_EQ(error.message(), "invalid network \"" + entry + "\" in reverse_etl.blocked_networks");
    EXPECT_EQ(error.detail(), detail) << entry;
    EXPECT_EQ(error.hint(),
              "A network is an IPv4 or IPv6 address, optionally followed by \"/\" and a prefix length, "
              "as in \"10.0.0.0/8\" or \"fc00::/7\".");
}

TEST(NetworkBlocklist, TheDefaultBlocksTheServerAndMetadataServices) {
    const NetworkBlocklist list = NetworkBlocklist::parse(kDefaultBlockedNetworks);
    EXPECT_EQ(blocked_by(list, "127.0.0.1"), "127.0.0.0/8");
    EXPECT_EQ(blocked_by(list, "127.255.255.254"), "127.0.0.0/8");
    EXPECT_EQ(blocked_by(list, "::1"), "::1/128");
    EXPECT_EQ(blocked_by(list, "::ffff:127.0.0.1"), "127.0.0.0/8");   // IPv4-mapped
    EXPECT_EQ(blocked_by(list, "0.0.0.0"), "0.0.0.0/8");
    EXPECT_EQ(blocked_by(list, "::"), "::/128");
    EXPECT_EQ(blocked_by(list, "169.254.169.254"), "169.254.0.0/16");
    EXPECT_EQ(blocked_by(list, "fe80::1"), "fe80::/10");
    EXPECT_EQ(blocked_by(list, "febf:ffff::1"), "fe80::/10");
    EXPECT_EQ(blocked_by(list, "fd00:ec2::254"), "fd00:ec2::254/128");
    EXPECT_EQ(blocked_by(list, "100.100.100.200"), "100.100.100.200/32");
    for (const char *open : {"8.8.8.8", "10.0.0.1", "128.0.0.1", "169.255.0.1", "100.100.100.201",
                             "2001:db8::1", "fec0::1", "fd00:ec2::253", "::2"})
        EXPECT_EQ(blocked_by(list, open), "") << open;
}

TEST(NetworkBlocklist, PrefixesAtBitBoundaries) {
    const NetworkBlocklist list = NetworkBlocklist::parse(" 10.128.0.0/9 ,192.0.2.7, fc00::/7, ::ffff:172.16.0.0/108");
    EXPECT_EQ(blocked_by(list, "10.128.0.0"), "10.128.0.0/9");
    EXPECT_EQ(blocked_by(list, "10.255.255.255"), "10.128.0.0/9");
    EXPECT_EQ(blocked_by(list, "10.127.255.255"), "");
    EXPECT_EQ(blocked_by(list, "192.0.2.7"), "192.0.2.7");
    EXPECT_EQ(blocked_by(list, "192.0.2.8"), "");
    EXPECT_EQ(blocked_by(list, "fdff::1"), "fc00::/7");
    EXPECT_EQ(blocked_by(list, "fe00::1"), "");
    // An IPv6-written network of mapped addresses blocks plain IPv4 too.
    EXPECT_EQ(blocked_by(list, "172.31.255.255"), "::ffff:172.16.0.0/108");
    EXPECT_EQ(blocked_by(list, "172.32.0.0"), "");

    // /0: all of IPv4 (in its mapped form), or everything.
    const NetworkBlocklist all_ipv4 = NetworkBlocklist::parse("0.0.0.0/0");
    EXPECT_EQ(blocked_by(all_ipv4, "203.0.113.9"), "0.0.0.0/0");
    EXPECT_EQ(blocked_by(all_ipv4, "2001:db8::1"), "");
    EXPECT_EQ(blocked_by(NetworkBlocklist::parse("::/0"), "2001:db8::1"), "::/0");
    EXPECT_EQ(blocked_by(NetworkBlocklist::parse("::/0"), "8.8.8.8"), "::/0");

    EXPECT_TRUE(NetworkBlocklist::parse(" , ").empty());
    EXPECT_EQ(blocked_by(NetworkBlocklist::parse(""), "127.0.0.1"), "");
}

TEST(NetworkBlocklist, BadEntriesSayWhatIsWrong) {
    expect_bad_network("10.0.0.1/8",
                       "The address has bits set to the right of the /8 prefix; the network is 10.0.0.0/8.");
    expect_bad_network("fe80::1/10",
                       "The address has bits set to the right of the /10 prefix; the network is fe80::/10.");
    const std::string ipv4_length = "The prefix length after \"/\" must be a number from 0 to 32.";
    expect_bad_network("10.0.0.0/33", ipv4_length);
    expect_bad_network("10.0.0.0/", ipv4_length);
    expect_bad_network("10.0.0.0/-1", ipv4_length);
    expect_bad_network("10.0.0.0/+8", ipv4_length);
    expect_bad_network("10.0.0.0/8/8", ipv4_length);
    expect_bad_network("::/129", "The prefix length after \"/\" must be a number from 0 to 128.");
    expect_bad_network("300.1.2.3/8", "\"300.1.2.3\" is not an IPv4 or IPv6 address.");
    expect_bad_network("127.1", "\"127.1\" is not an IPv4 or IPv6 address.");
    expect_bad_network("localhost", "\"localhost\" is not an IPv4 or IPv6 address.");
    expect_bad_network("fe80::1%eth0", "\"fe80::1%eth0\" is not an IPv4 or IPv6 address.");
    expect_bad_network("[::1]", "\"[::1]\" is not an IPv4 or IPv6 address.");
}

TEST(NetworkBlocklist, OtherAddressFamiliesAndShortLengthsMatchNothing) {
    const NetworkBlocklist list = NetworkBlocklist::parse("::/0, 0.0.0.0/0");
    const sockaddr_in v4 = ipv4("127.0.0.1");
    EXPECT_EQ(list.find(reinterpret_cast<const sockaddr *>(&v4), sizeof v4 - 1), nullptr);
    EXPECT_EQ(list.find(nullptr, 0), nullptr);
    sockaddr_un local{};
    local.sun_family = AF_UNIX;
    EXPECT_EQ(list.find(reinterpret_cast<const sockaddr *>(&local), sizeof local), nullptr);

    EXPECT_STREQ(address_text(reinterpret_cast<const sockaddr *>(&v4), sizeof v4).data(), "127.0.0.1");
    const sockaddr_in6 v6 = ipv6("::ffff:169.254.169.254");
    EXPECT_STREQ(address_text(reinterpret_cast<const sockaddr *>(&v6), sizeof v6).data(), "::ffff:169.254.169.254");
    EXPECT_STREQ(address_text(reinterpret_cast<const sockaddr *>(&local), sizeof local).data(), "?");
    EXPECT_STREQ(address_text(reinterpret_cast<const sockaddr *>(&v6), 4).data(), "?");
    EXPECT_STREQ(address_text(nullptr, 0).data(), "?");
}

TEST(HttpTypes, HeaderLookupIgnoresAsciiCaseOnly) {
    const Headers headers = {{"Content-Type", "a"}, {"retry-after", "5"}, {"X-\xC3\x84", "b"}, {"Retry-After", "6"}};
    EXPECT_EQ(*find_header(headers, "content-type"), "a");
    EXPECT_EQ(*find_header(headers, "RETRY-AFTER"), "5");   // the first one
    EXPECT_EQ(find_header(headers, "X-\xC3\xA4"), nullptr);
    EXPECT_EQ(find_header(headers, "Content-Typ"), nullptr);
}

}  // namespace
}  // namespace reverse_etl::http
