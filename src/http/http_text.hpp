// The text rules of HTTP that more than one layer checks or writes.
#pragma once

#include <string>

namespace reverse_etl::http {

// An RFC 9110 token: what a method or a header name consists of (letters,
// digits and !#$%&'*+-.^_`|~). Checking it keeps a CR or LF out of a request line.
bool is_token(const std::string &text);

// Every byte but RFC 3986's unreserved characters percent-encoded (libcurl's
// curl_easy_escape), so a value can neither end a path segment nor start a query.
std::string percent_encode(const std::string &text);

}  // namespace reverse_etl::http
