// common/parse_number (numbers read without the standard library's exceptions)
// and common/interval_length (exact interval lengths, clamped, never overflowing).
#include <cstdint>
#include <limits>
#include <optional>

#include <gtest/gtest.h>

#include "common/interval_length.hpp"
#include "common/parse_number.hpp"
#include "common/sql_text.hpp"
#include "test_support.hpp"

namespace reverse_etl {
namespace {

TEST(ParseNumber, WholeTextDecimalOnly) {
    EXPECT_EQ(parse_integer<int>("42"), 42);
    EXPECT_EQ(parse_integer<int>("-42"), -42);
    EXPECT_EQ(parse_integer<int64_t>("9223372036854775807"), std::numeric_limits<int64_t>::max());
    EXPECT_EQ(parse_integer<int64_t>("-9223372036854775808"), std::numeric_limits<int64_t>::min());
    for (const char *bad : {"", " 1", "1 ", "+1", "1.0", "1e3", "0x10", "abc", "12abc", "2147483648", "-2147483649"})
        EXPECT_EQ(parse_integer<int>(bad), std::nullopt) << '"' << bad << '"';
    EXPECT_EQ(parse_integer<unsigned>("-1"), std::nullopt);
    EXPECT_EQ(parse_integer<uint8_t>("256"), std::nullopt);
}

TEST(ParseNumber, NumbersFromOurOwnQueries) {
    EXPECT_EQ(number_from_sql<int64_t>("123"), 123);
    EXPECT_DOUBLE_EQ(number_from_sql<double>("2.5"), 2.5);
    const Error error = test::error_of([] { number_from_sql<int>("12 rows"); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    EXPECT_EQ(error.message(), "unexpected number \"12 rows\" in a query result");
    EXPECT_EQ(error.detail(), "The extension's own query returned a value it cannot read as a number.");
    // Long garbage is cut in the message.
    const Error long_error = test::error_of([] { number_from_sql<int>(std::string(100, 'x')); });
    EXPECT_EQ(long_error.message(), "unexpected number \"" + std::string(64, 'x') + "\" in a query result");
}

TEST(IntervalLength, CountsAMonthAsThirtyDaysAndClamps) {
    constexpr int64_t kDay = INT64_C(86400000000);
    IntervalLength length = interval_length(1, 2, 3);
    EXPECT_EQ(length.usec, 30 * kDay + 2 * kDay + 3);
    EXPECT_FALSE(length.clamped);
    EXPECT_EQ(interval_length(-1, 30, 0).usec, 0);   // '-1 month +30 days' is zero long
    length = interval_length(INT32_MAX, INT32_MAX, std::numeric_limits<int64_t>::max());
    EXPECT_EQ(length.usec, std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(length.clamped);
    length = interval_length(INT32_MIN, 0, 0);
    EXPECT_EQ(length.usec, std::numeric_limits<int64_t>::min());
    EXPECT_TRUE(length.clamped);
    // The largest exact value: no clamping one microsecond short of the edge.
    length = interval_length(0, 0, std::numeric_limits<int64_t>::max());
    EXPECT_FALSE(length.clamped);
    length = interval_length(0, 1, std::numeric_limits<int64_t>::max() - kDay);
    EXPECT_EQ(length.usec, std::numeric_limits<int64_t>::max());
    EXPECT_FALSE(length.clamped);
}

// Literals and identifiers the library writes into SQL: read back as
// written whatever standard_conforming_strings says.
TEST(SqlText, QuotesLiteralsAndIdentifiers) {
    EXPECT_EQ(quote_literal("id"), "'id'");
    EXPECT_EQ(quote_literal("it's"), "'it''s'");
    EXPECT_EQ(quote_literal("a\\b'c"), "E'a\\\\b''c'");
    EXPECT_EQ(quote_literal(""), "''");
    EXPECT_EQ(quote_identifier("User \"Id\""), "\"User \"\"Id\"\"\"");
    EXPECT_EQ(text_array_literal({std::string("a\"b"), std::nullopt, std::string("c\\d")}),
              "{\"a\\\"b\",NULL,\"c\\\\d\"}");
}

}  // namespace
}  // namespace reverse_etl
