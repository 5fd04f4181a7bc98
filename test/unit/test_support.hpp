// Helpers shared by the unit tests: catching reverse_etl::Error, reading the
// shipped destination definitions, and a stand-in for PostgreSQL's interval input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <jansson.h>

#include "catalog/destination_type.hpp"
#include "common/error.hpp"
#include "common/interval_length.hpp"
#include "common/json.hpp"

namespace reverse_etl::test {

// The Error `action` throws. A test failure (and an empty Error) when it throws
// nothing or something else, so the assertions that follow fail readably.
template <typename Action>
Error error_of(Action &&action) {
    try {
        std::forward<Action>(action)();
    } catch (const Error &error) {
        return error;
    } catch (const std::exception &other) {
        ADD_FAILURE() << "expected reverse_etl::Error, got std::exception: " << other.what();
        return Error("", "");
    }
    ADD_FAILURE() << "expected reverse_etl::Error, nothing was thrown";
    return Error("", "");
}

// The text of a file under the repository (REVERSE_ETL_SOURCE_DIR).
std::string repository_file(const std::string &relative_path);

// A shipped destination type (src/destinations/<type>.json), parsed once.
const catalog::DestinationType &shipped_type(const std::string &type);

// A JSON value parsed with jansson as parse_json does (NUL allowed in strings);
// the test fails on bad JSON.
JsonPtr json(const std::string &text);

// PostgreSQL's interval input, for the few forms the tests use: a sequence of
// "<integer> <unit>" pairs, units microsecond(s), millisecond(s), second(s),
// minute(s), hour(s), day(s), week(s), month(s), year(s). nullopt for anything
// else. The length is computed as the server does it (interval_length: a
// month is 30 days), from the months, days and time the text gives.
std::optional<IntervalLength> read_test_interval(const std::string &text);

}  // namespace reverse_etl::test
