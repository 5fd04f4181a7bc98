// reverse_etl.allowed_hosts (SPEC sections 8 and 9): which hosts destinations
// may reach, and the URL check every request passes before it is sent.
//
// Patterns, case-insensitive, surrounding whitespace ignored, each optionally
// followed by ":port" to allow that port only:
//   *                 any host
//   api.segment.io    exactly that host
//   *.example.com     any subdomain of example.com (not example.com itself)
//   127.0.0.1, [::1]  an IP address literal, as written in URLs
// A host named exactly (the last two forms) may also be reached at an address
// in reverse_etl.blocked_networks (network_blocklist.hpp); "*" and "*.domain"
// never lift that block.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace reverse_etl::http {

class HostAllowlist {
  public:
    // One pattern per element. Throws Error 22023 naming the first bad one, so a
    // GUC check hook can reject a typo instead of silently allowing nothing.
    explicit HostAllowlist(const std::vector<std::string> &patterns);

    // The setting's text: patterns separated by commas; empty items are skipped,
    // so "" allows no host at all.
    static HostAllowlist parse(const std::string &setting);

    // `host` as it appears in a URL (IPv6 in brackets), any case, `port` the
    // effective one (80/443 when the URL has none).
    bool allows(const std::string &host, long port) const;

    // True if `host` is an IP address literal that a pattern names exactly
    // (not "*" or "*.domain") with the port: that address was chosen on
    // purpose, so reverse_etl.blocked_networks does not apply to it. A host
    // name never qualifies, even named exactly: whoever controls its DNS
    // could point it at a blocked address (a metadata service, say).
    bool names(const std::string &host, long port) const;

  private:
    enum class Kind { kAnyHost, kExactHost, kSubdomains };
    struct Pattern {
        Kind kind;
        std::string host;        // lower case; for kSubdomains the domain after "*."
        std::optional<long> port;
        bool matches(const std::string &host, long port) const;
    };
    static Pattern parse_pattern(const std::string &text);

    std::vector<Pattern> patterns_;
};

// True if `url` is an http(s) URL whose host and port the allowlist allows.
bool host_allowed(const HostAllowlist &allowlist, const std::string &url);

// Where a checked URL leads: its host as libcurl reads it (lower case, IPv6
// in brackets) and its effective port.
struct UrlTarget {
    std::string host;
    long port = 0;
};

// Throws reverse_etl::Error unless `url` may be requested:
//   22023 "destination URL is not valid"            (libcurl cannot parse it)
//   22023 "only http and https URLs are allowed"
//   42501 "destination host "h" is not allowed"     hint: add it to reverse_etl.allowed_hosts
// Messages never quote the whole URL: it may carry a token (e.g. Slack webhooks).
UrlTarget check_url(const std::string &url, const HostAllowlist &allowlist);

}  // namespace reverse_etl::http
