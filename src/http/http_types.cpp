#include "http/http_types.hpp"

#include <algorithm>
#include <utility>

namespace reverse_etl::http {
namespace {

// ASCII only: header names are tokens, and std::tolower would follow the
// backend's locale (LC_CTYPE), which must not change how headers match.
char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignoring_case(const std::string &a, const std::string &b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace

const std::string *find_header(const Headers &headers, const std::string &name) {
    for (const auto &[key, value] : headers)
        if (equals_ignoring_case(key, name))
            return &value;
    return nullptr;
}

void replace_header(Headers &headers, std::string name, std::string value) {
    for (auto &[key, old_value] : headers)
        if (equals_ignoring_case(key, name)) {
            old_value = std::move(value);
            return;
        }
    headers.emplace_back(std::move(name), std::move(value));
}

}  // namespace reverse_etl::http
