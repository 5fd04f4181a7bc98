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

// The text as the value of an application/x-www-form-urlencoded field:
// printable ASCII kept as it is but for the bytes form decoding reads as
// syntax (% & + = ; #), which are percent-encoded, as are spaces, control
// bytes and bytes above 0x7F. Decoded as any form parser decodes (WHATWG URL
// standard, RFC 1866), it is the text again. A JSON array stays about its
// size (Amplitude's identify bodies, sent raw in its own examples), where
// percent_encode triples its punctuation.
void append_form_value_encoded(std::string &out, std::string_view text);

// The size percent_encode(text) has, without building it.
size_t percent_encoded_size(std::string_view text);

}  // namespace reverse_etl::http
