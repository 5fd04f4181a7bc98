#include "http/http_text.hpp"

#include <algorithm>

namespace reverse_etl::http {

bool is_token(const std::string &text) {
    static const std::string kSymbols = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               kSymbols.find(c) != std::string::npos;
    });
}

namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

// Written here rather than with curl_easy_escape, which appends each escaped
// byte with a formatted print: form bodies (Amplitude's) escape most of a
// JSON array, and that print was the largest cost of building them.
std::string percent_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string encoded;
    encoded.resize(percent_encoded_size(text));
    char *out = encoded.data();
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c)) {
            *out++ = ch;
        } else {
            *out++ = '%';
            *out++ = kHex[c >> 4];
            *out++ = kHex[c & 0x0F];
        }
    }
    return encoded;
}

size_t percent_encoded_size(std::string_view text) {
    size_t size = text.size();
    for (const char ch : text)
        if (!is_unreserved(static_cast<unsigned char>(ch)))
            size += 2;
    return size;
}

}  // namespace reverse_etl::http
