#include "http/host_allowlist.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <curl/curl.h>

#include "common/error.hpp"
#include "common/parse_number.hpp"
#include "common/setting_list.hpp"
#include "common/text.hpp"
#include "http/curl_handles.hpp"

namespace reverse_etl::http {
namespace {

// An IPv4 address in dotted-quad form, or an IPv6 address in brackets, as URLs
// write them (strictly: "127.1" or "0x7f.0.0.1" are not literals here).
bool is_ip_literal(const std::string &host) {
    unsigned char address[sizeof(struct in6_addr)];
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        return inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), address) == 1;
    return inet_pton(AF_INET, host.c_str(), address) == 1;
}

// What the check needs from a URL, as libcurl itself reads it: matching the
// host libcurl will connect to (after its IPv4 normalisation, userinfo
// stripping, punycode) leaves no parser differential to slip through.
struct UrlParts {
    std::string scheme;
    std::string host;
    long port = 0;
};

// ASCII only: the backend's locale must not change which hosts match.
std::string ascii_lower(std::string text) {
    for (char &c : text)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return text;
}

// "www.example.com." names the same host as "www.example.com".
std::string without_final_dot(std::string host) {
    if (host.size() > 1 && host.back() == '.')
        host.pop_back();
    return host;
}

// A port after ":", digits only (parse_integer alone would take "-1").
std::optional<long> port_number(const std::string &digits) {
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    const std::optional<long> port = parse_integer<long>(digits);
    if (!port || *port < 1 || *port > 65535)
        return std::nullopt;
    return port;
}

bool is_host_name(const std::string &host) {
    return !host.empty() && host.front() != '.' && host.front() != '-' &&
           std::all_of(host.begin(), host.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
           });
}

bool is_bracketed_ipv6(const std::string &host) {
    return host.size() > 2 && host.front() == '[' && host.back() == ']' &&
           std::all_of(host.begin() + 1, host.end() - 1, [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.';
           });
}

bool ends_with(const std::string &text, const std::string &suffix) {
    return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Error bad_pattern(const std::string &text) {
    return Error(sqlstate::kInvalidParameterValue,
                 "invalid host pattern \"" + text + "\" in reverse_etl.allowed_hosts",
                 "A pattern is \"*\", a host name, \"*.\" followed by a domain, or an IP address, "
                 "optionally followed by \":port\".");
}

std::optional<std::string> url_part(CURLU *url, CURLUPart part, unsigned int flags, CURLUcode &error) {
    char *raw = nullptr;
    error = curl_url_get(url, part, &raw, flags);
    const CurlString text(raw);
    if (error != CURLUE_OK)
        return std::nullopt;
    return std::string(text.get());
}

// The host in the form libcurl resolves: punycode for an international name.
// libidn2 converts from the locale's charset, so in a backend whose LC_CTYPE
// is "C" that fails; the name as written then only matches "*" (or nothing),
// which errs on the side of refusing.
std::optional<std::string> host_of(CURLU *url, CURLUcode &error) {
#ifdef CURLU_PUNYCODE
    if (auto host = url_part(url, CURLUPART_HOST, CURLU_PUNYCODE, error))
        return host;
#endif
    return url_part(url, CURLUPART_HOST, 0, error);
}

// Parses with libcurl; on failure returns the CURLUcode that says why.
CURLUcode parse_url(const std::string &url, UrlParts &parts) {
    const CurlUrlPtr handle(curl_url());
    if (!handle)
        return CURLUE_OUT_OF_MEMORY;
    // Any scheme parses, so "ftp://" gets the scheme message, not "invalid URL".
    const unsigned int flags = CURLU_NON_SUPPORT_SCHEME;
    CURLUcode error = curl_url_set(handle.get(), CURLUPART_URL, url.c_str(), flags);
    if (error != CURLUE_OK)
        return error;
    const auto scheme = url_part(handle.get(), CURLUPART_SCHEME, 0, error);
    if (!scheme)
        return error;
    parts.scheme = ascii_lower(*scheme);
    if (parts.scheme != "http" && parts.scheme != "https")
        return CURLUE_OK;  // the caller rejects the scheme; host and port do not matter
    const auto host = host_of(handle.get(), error);
    if (!host)
        return error;
    const auto port = url_part(handle.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT, error);
    if (!port)
        return error;
    parts.host = without_final_dot(ascii_lower(*host));
    parts.port = std::strtol(port->c_str(), nullptr, 10);
    return parts.host.empty() ? CURLUE_NO_HOST : CURLUE_OK;
}

bool is_web_scheme(const std::string &scheme) { return scheme == "http" || scheme == "https"; }

}  // namespace

HostAllowlist::HostAllowlist(const std::vector<std::string> &patterns) {
    for (const std::string &pattern : patterns)
        patterns_.push_back(parse_pattern(pattern));
}

HostAllowlist HostAllowlist::parse(const std::string &setting) { return HostAllowlist(split_setting_list(setting)); }

HostAllowlist::Pattern HostAllowlist::parse_pattern(const std::string &text) {
    std::string host = ascii_lower(trimmed(text));
    std::optional<long> port;
    // The port follows the last colon, except inside an IPv6 literal's brackets.
    const size_t colon = host.rfind(':');
    if (colon != std::string::npos && (host.front() != '[' || host.find(']') < colon)) {
        const std::string digits = host.substr(colon + 1);
        port = port_number(digits);
        if (!port)
            throw bad_pattern(text);
        host.erase(colon);
    }
    if (host == "*")
        return Pattern{Kind::kAnyHost, {}, port};
    if (host.rfind("*.", 0) == 0) {
        const std::string domain = without_final_dot(host.substr(2));
        if (!is_host_name(domain))
            throw bad_pattern(text);
        return Pattern{Kind::kSubdomains, domain, port};
    }
    host = without_final_dot(host);
    if (is_host_name(host) || is_bracketed_ipv6(host))
        return Pattern{Kind::kExactHost, host, port};
    throw bad_pattern(text);
}

bool HostAllowlist::Pattern::matches(const std::string &candidate, long candidate_port) const {
    if (port && *port != candidate_port)
        return false;
    switch (kind) {
    case Kind::kAnyHost: return true;
    case Kind::kExactHost: return candidate == host;
    case Kind::kSubdomains: return candidate.size() > host.size() + 1 && ends_with(candidate, "." + host);
    }
    return false;
}

bool HostAllowlist::allows(const std::string &host, long port) const {
    const std::string candidate = without_final_dot(ascii_lower(host));
    return std::any_of(patterns_.begin(), patterns_.end(),
                       [&](const Pattern &pattern) { return pattern.matches(candidate, port); });
}

bool HostAllowlist::names(const std::string &host, long port) const {
    if (!is_ip_literal(host))
        return false;
    const std::string candidate = without_final_dot(ascii_lower(host));
    return std::any_of(patterns_.begin(), patterns_.end(), [&](const Pattern &pattern) {
        return pattern.kind == Kind::kExactHost && pattern.matches(candidate, port);
    });
}

bool host_allowed(const HostAllowlist &allowlist, const std::string &url) {
    UrlParts parts;
    return parse_url(url, parts) == CURLUE_OK && is_web_scheme(parts.scheme) &&
           allowlist.allows(parts.host, parts.port);
}

UrlTarget check_url(const std::string &url, const HostAllowlist &allowlist) {
    UrlParts parts;
    const CURLUcode error = parse_url(url, parts);
    if (error != CURLUE_OK)
        throw Error(sqlstate::kInvalidParameterValue, "destination URL is not valid", curl_url_strerror(error));
    if (!is_web_scheme(parts.scheme))
        throw Error(sqlstate::kInvalidParameterValue, "only http and https URLs are allowed",
                    "The URL's scheme is \"" + parts.scheme + "\".");
    if (!allowlist.allows(parts.host, parts.port))
        throw Error(sqlstate::kInsufficientPrivilege, "destination host \"" + parts.host + "\" is not allowed",
                    "No pattern in reverse_etl.allowed_hosts matches host \"" + parts.host + "\" on port " +
                        std::to_string(parts.port) + ".",
                    "Add it to reverse_etl.allowed_hosts.");
    return UrlTarget{parts.host, parts.port};
}

}  // namespace reverse_etl::http
