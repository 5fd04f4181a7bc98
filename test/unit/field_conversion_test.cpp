// catalog/field_conversion: values converted, in place in the payload text, to
// the type their destination field declares (docs/destination-definitions.md).
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "catalog/field_conversion.hpp"

namespace reverse_etl::catalog {
namespace {

// The converted JSON, or "! reason" when the value cannot be converted. The
// value is written after a prefix, as the payload builder does, which must be
// left as it was.
std::string convert(FieldType type, const std::string &json) {
    const std::string prefix = "{\"k\":";
    std::string text = prefix + json;
    const std::optional<std::string> reason = convert_to_field_type(type, text, prefix.size());
    EXPECT_EQ(text.compare(0, prefix.size(), prefix), 0) << "the prefix was changed: " << text;
    if (reason) {
        EXPECT_EQ(text, prefix + json) << "a refused value must be left as it was";
        return "! " + *reason;
    }
    return text.substr(prefix.size());
}

TEST(FieldConversion, NullAndAnyPassUnchanged) {
    for (const FieldType type : {FieldType::String, FieldType::Number, FieldType::Integer, FieldType::Boolean,
                                 FieldType::Datetime, FieldType::Object, FieldType::Array, FieldType::Any})
        EXPECT_EQ(convert(type, "null"), "null");
    EXPECT_EQ(convert(FieldType::Any, "{\"a\":[1]}"), "{\"a\":[1]}");
    std::string empty;
    EXPECT_EQ(convert_to_field_type(FieldType::String, empty), std::nullopt);
}

TEST(FieldConversion, ToStringKeepsTheDigitsAsRendered) {
    EXPECT_EQ(convert(FieldType::String, "\"x\""), "\"x\"");
    EXPECT_EQ(convert(FieldType::String, "1.50"), "\"1.50\"");
    EXPECT_EQ(convert(FieldType::String, "123456789012345678901234567890"), "\"123456789012345678901234567890\"");
    EXPECT_EQ(convert(FieldType::String, "-0"), "\"-0\"");
    EXPECT_EQ(convert(FieldType::String, "1e400"), "\"1e400\"");
    EXPECT_EQ(convert(FieldType::String, "true"), "\"true\"");
    EXPECT_EQ(convert(FieldType::String, "{\"a\":1}"), "! a JSON object cannot be sent as a string");
    EXPECT_EQ(convert(FieldType::String, "[1]"), "! a JSON array cannot be sent as a string");
}

TEST(FieldConversion, ToNumber) {
    EXPECT_EQ(convert(FieldType::Number, "49.00"), "49.00");
    EXPECT_EQ(convert(FieldType::Number, "\"49.00\""), "49.00");
    EXPECT_EQ(convert(FieldType::Number, "\"-1.5e+3\""), "-1.5e+3");
    EXPECT_EQ(convert(FieldType::Number, "\"1e400\""), "1e400");
    // Escapes that spell a number are read for what they mean.
    EXPECT_EQ(convert(FieldType::Number, "\"\\u0034\\u0032\""), "42");
    for (const char *bad : {"\"\"", "\" 42\"", "\"42 \"", "\"+1\"", "\"01\"", "\".5\"", "\"5.\"", "\"NaN\"",
                            "\"0x1F\"", "\"1,5\""})
        EXPECT_EQ(convert(FieldType::Number, bad), std::string("! the string ") + bad + " is not a number") << bad;
    EXPECT_EQ(convert(FieldType::Number, "true"), "! a boolean cannot be sent as a number");
    EXPECT_EQ(convert(FieldType::Number, "[1]"), "! a JSON array cannot be sent as a number");
}

TEST(FieldConversion, ToIntegerTakesWholeNumbersInPlainDigits) {
    EXPECT_EQ(convert(FieldType::Integer, "42"), "42");
    EXPECT_EQ(convert(FieldType::Integer, "-7"), "-7");
    EXPECT_EQ(convert(FieldType::Integer, "42.00"), "42");
    EXPECT_EQ(convert(FieldType::Integer, "4.2e1"), "42");
    EXPECT_EQ(convert(FieldType::Integer, "4200e-2"), "42");
    EXPECT_EQ(convert(FieldType::Integer, "12.30e1"), "123");
    EXPECT_EQ(convert(FieldType::Integer, "0.05e2"), "5");
    EXPECT_EQ(convert(FieldType::Integer, "-1.5E3"), "-1500");
    EXPECT_EQ(convert(FieldType::Integer, "0.000"), "0");
    EXPECT_EQ(convert(FieldType::Integer, "-0.0"), "0");
    EXPECT_EQ(convert(FieldType::Integer, "0e-99999999"), "0");
    EXPECT_EQ(convert(FieldType::Integer, "123456789012345678901234567890.000"), "123456789012345678901234567890");
    EXPECT_EQ(convert(FieldType::Integer, "\"42\""), "42");
    EXPECT_EQ(convert(FieldType::Integer, "\"-4.20e1\""), "-42");

    EXPECT_EQ(convert(FieldType::Integer, "4.5"), "! 4.5 is not an integer");
    EXPECT_EQ(convert(FieldType::Integer, "1e-1"), "! 1e-1 is not an integer");
    EXPECT_EQ(convert(FieldType::Integer, "1e-999999999"), "! 1e-999999999 is not an integer");
    EXPECT_EQ(convert(FieldType::Integer, "\"4.5\""), "! the string \"4.5\" is not an integer");
    EXPECT_EQ(convert(FieldType::Integer, "\"four\""), "! the string \"four\" is not a number");
    // Exponents are expanded up to 1000 digits, never into megabytes of zeros.
    EXPECT_EQ(convert(FieldType::Integer, "1e999"), "1" + std::string(999, '0'));
    EXPECT_EQ(convert(FieldType::Integer, "1e1000"), "! 1e1000 has more than 1000 digits as an integer");
    EXPECT_EQ(convert(FieldType::Integer, "1e999999999999999999999"),
              "! 1e999999999999999999999 has more than 1000 digits as an integer");
    EXPECT_EQ(convert(FieldType::Integer, "false"), "! a boolean cannot be sent as an integer");
}

TEST(FieldConversion, ToBoolean) {
    EXPECT_EQ(convert(FieldType::Boolean, "true"), "true");
    EXPECT_EQ(convert(FieldType::Boolean, "\"false\""), "false");
    EXPECT_EQ(convert(FieldType::Boolean, "\"True\""), "! the string \"True\" is not \"true\" or \"false\"");
    EXPECT_EQ(convert(FieldType::Boolean, "\"1\""), "! the string \"1\" is not \"true\" or \"false\"");
    EXPECT_EQ(convert(FieldType::Boolean, "1"), "! a number cannot be sent as a boolean");
}

TEST(FieldConversion, ToDatetimeGivesRfc3339) {
    EXPECT_EQ(convert(FieldType::Datetime, "\"2026-03-08\""), "\"2026-03-08T00:00:00Z\"");
    EXPECT_EQ(convert(FieldType::Datetime, "\"2026-03-08T02:30:00\""), "\"2026-03-08T02:30:00Z\"");
    EXPECT_EQ(convert(FieldType::Datetime, "\"2026-03-08 02:30\""), "\"2026-03-08T02:30:00Z\"");
    EXPECT_EQ(convert(FieldType::Datetime, "\"2026-03-08T02:30:00.123456+00:00\""),
              "\"2026-03-08T02:30:00.123456+00:00\"");
    EXPECT_EQ(convert(FieldType::Datetime, "\"2026-03-08 02:30:59Z\""), "\"2026-03-08T02:30:59Z\"");
    EXPECT_EQ(convert(FieldType::Datetime, "\"2026-03-08T02:30+0530\""), "\"2026-03-08T02:30:00+05:30\"");
    EXPECT_EQ(convert(FieldType::Datetime, "\"2026-03-08 02:30:00-08\""), "\"2026-03-08T02:30:00-08:00\"");
    EXPECT_EQ(convert(FieldType::Datetime, "\"2024-02-29\""), "\"2024-02-29T00:00:00Z\"");
    EXPECT_EQ(convert(FieldType::Datetime, "\"2000-02-29\""), "\"2000-02-29T00:00:00Z\"");

    const std::string not_iso = " is not an ISO 8601 date or date-time";
    for (const char *bad : {"\"2026-02-29\"", "\"1900-02-29\"", "\"2026-13-01\"", "\"2026-04-31\"",
                            "\"2026-1-1\"", "\"26-01-01\"", "\"infinity\"", "\"2026-03-08T24:00\"",
                            "\"2026-03-08T02:60\"", "\"2026-03-08T02:30:00.\"", "\"2026-03-08T02:30Z+01\"",
                            "\"2026-03-08T02:30+1\"", "\"2026-03-08T02:30+01:0\"", "\"2026-03-08x\"",
                            "\"10000-01-01\"", "\"2026-03-08T02:30:00 BC\"", "\"\""})
        EXPECT_EQ(convert(FieldType::Datetime, bad), std::string("! the string ") + bad + not_iso) << bad;
    EXPECT_EQ(convert(FieldType::Datetime, "1700000000"), "! a number cannot be sent as a datetime");
}

TEST(FieldConversion, ObjectsAndArrays) {
    EXPECT_EQ(convert(FieldType::Object, "{}"), "{}");
    EXPECT_EQ(convert(FieldType::Array, "[]"), "[]");
    EXPECT_EQ(convert(FieldType::Object, "[]"), "! a JSON array cannot be sent as an object");
    EXPECT_EQ(convert(FieldType::Array, "\"[1]\""), "! a string cannot be sent as an array");
    EXPECT_EQ(convert(FieldType::Object, "3"), "! a number cannot be sent as an object");
}

TEST(FieldConversion, ReasonsShowAtMostFortyBytesCutAtACharacter) {
    const std::string long_text = "\"" + std::string(38, 'a') + "\xC3\xA9" + "tail\"";   // é spans bytes 39-40
    EXPECT_EQ(convert(FieldType::Number, long_text),
              "! the string \"" + std::string(38, 'a') + "... is not a number");
    EXPECT_EQ(convert(FieldType::Integer, "1." + std::string(50, '5')),
              "! 1." + std::string(38, '5') + "... is not an integer");
}

}  // namespace
}  // namespace reverse_etl::catalog
