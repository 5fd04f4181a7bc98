// Whether text is an http(s) URL a destination could be given, read by
// libcurl's own URL parser (the one that sends the request): the syntax only.
// Which hosts may be reached is reverse_etl.allowed_hosts' business at
// request time (host_allowlist.hpp).
#pragma once

#include <string>

namespace reverse_etl::http {

enum class UrlSyntax {
    Ok,
    Whitespace,   // a space or a control character, which must be percent-encoded
    NotHttp,      // another scheme, or none
    NoHost,
    BadPort,      // not a number from 1 to 65535
    Credentials,  // user name or password in the URL
    Malformed,    // anything else libcurl refuses
};

UrlSyntax check_url_syntax(const std::string &url);

}  // namespace reverse_etl::http
