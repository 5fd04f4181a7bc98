// Small text helpers every layer uses.
#pragma once

#include <string>
#include <string_view>

namespace reverse_etl {

// A name or value as messages show it: between double quotes.
inline std::string quoted(const std::string &text) { return "\"" + text + "\""; }

// Without leading and trailing spaces, tabs and line breaks.
inline std::string_view trimmed(std::string_view text) {
    constexpr std::string_view kBlanks = " \t\r\n";
    const size_t first = text.find_first_not_of(kBlanks);
    if (first == std::string_view::npos)
        return {};
    return text.substr(first, text.find_last_not_of(kBlanks) - first + 1);
}

inline std::string trimmed(const std::string &text) { return std::string(trimmed(std::string_view(text))); }

}  // namespace reverse_etl
