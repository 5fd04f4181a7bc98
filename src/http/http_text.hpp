// The text rules of HTTP that more than one layer checks or writes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace reverse_etl::http {

// An RFC 9110 token: what a method or a header name consists of (letters,
// digits and !#$%&'*+-.^_`|~). Checking it keeps a CR or LF out of a request line.
bool is_token(const std::string &text);

// Every byte but RFC 3986's unreserved characters percent-encoded as %XX
// (upper-case hex, as libcurl's curl_easy_escape does), so a value can
// neither end a path segment nor start a query.
std::string percent_encode(std::string_view text);

// percent_encode(text) appended to `out`.
void append_percent_encoded(std::string &out, std::string_view text);

// The size percent_encode(text) has, without building it.
size_t percent_encoded_size(std::string_view text);

}  // namespace reverse_etl::http
