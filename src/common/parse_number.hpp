// Numbers read from text without exceptions of the standard library.
//
// std::stoi and friends throw std::invalid_argument or std::out_of_range on
// text they cannot read: an exception no caller expects, with "stoll" for a
// message, and one that would end a background worker with an abort if it
// reached a C entry point. Text from outside (settings, HTTP headers, user
// input) is read with parse_integer and a failure is handled where it is
// read: refused with a clear message, or a fallback where the protocol says
// so. Numbers our own SQL printed (a bigint column, a count) are read with
// number_from_sql, which reports anything else as an internal error.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "common/error.hpp"

namespace reverse_etl {

// The value of `text` when all of it is a decimal number of type T: digits,
// with a leading '-' for signed types; no sign '+', no spaces, nothing after.
// nullopt for anything else, and for a number out of T's range.
template <typename T>
std::optional<T> parse_integer(std::string_view text) {
    static_assert(std::is_integral_v<T>, "parse_integer reads integers");
    T value{};
    const char *const end = text.data() + text.size();
    const auto [stop, status] = std::from_chars(text.data(), end, value);
    if (text.empty() || status != std::errc() || stop != end)
        return std::nullopt;
    return value;
}

// A number PostgreSQL printed for our own query (an integer or a float
// column cast to text). Anything else means the query is not what this code
// expects: an internal error, not a crash.
template <typename T>
T number_from_sql(std::string_view text) {
    T value{};
    const char *const end = text.data() + text.size();
    const auto [stop, status] = std::from_chars(text.data(), end, value);
    if (text.empty() || status != std::errc() || stop != end)
        throw Error(sqlstate::kInternalError,
                    "unexpected number \"" + std::string(text.substr(0, 64)) + "\" in a query result",
                    "The extension's own query returned a value it cannot read as a number.");
    return value;
}

}  // namespace reverse_etl
