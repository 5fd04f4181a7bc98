#include "http/http_text.hpp"

#include <algorithm>
#include <limits>
#include <new>

#include "http/curl_handles.hpp"

namespace reverse_etl::http {

bool is_token(const std::string &text) {
    static const std::string kSymbols = "!#$%&'*+-.^_`|~";
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               kSymbols.find(c) != std::string::npos;
    });
}

std::string percent_encode(const std::string &text) {
    // libcurl ignores the handle (since 7.82); the length is an int.
    if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
        throw std::bad_alloc();
    const CurlString encoded(
        curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size())));
    if (!encoded)
        throw std::bad_alloc();
    return std::string(encoded.get());
}

}  // namespace reverse_etl::http
