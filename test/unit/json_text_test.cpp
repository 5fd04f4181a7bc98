// common/json_text and common/json: strict JSON text with exact numbers,
// UTF-8 checking, the nesting limit, paths, serialisation, and the jansson
// helpers (shape parsing, messages).
#include <cfloat>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/json.hpp"
#include "common/json_text.hpp"
#include "test_support.hpp"

namespace reverse_etl {
namespace {

using test::error_of;

// The parse error for `text` (a test failure if it parses).
JsonParseError parse_error(const std::string &text) {
    JsonParseError error;
    EXPECT_FALSE(try_parse_json_text(text, &error).has_value()) << text;
    // The checking-only parser agrees, with the same error.
    JsonParseError check_error;
    EXPECT_FALSE(is_json_text(text, &check_error)) << text;
    EXPECT_EQ(check_error.offset, error.offset) << text;
    EXPECT_EQ(check_error.message, error.message) << text;
    return error;
}

std::string round_trip(const std::string &text) {
    const std::optional<JsonValue> value = try_parse_json_text(text);
    EXPECT_TRUE(value.has_value()) << text;
    EXPECT_TRUE(is_json_text(text)) << text;
    return value ? to_json_text(*value) : std::string();
}

std::string nested_arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string escaped(const std::string &utf8) {
    std::string out;
    append_json_string(out, utf8);
    return out;
}

TEST(JsonText, NumbersKeepTheirDigits) {
    EXPECT_EQ(round_trip("49.00"), "49.00");
    EXPECT_EQ(round_trip("123456789012345678901234567890"), "123456789012345678901234567890");
    EXPECT_EQ(round_trip("-123456789012345678901234567890.000000000000000000001"),
              "-123456789012345678901234567890.000000000000000000001");
    EXPECT_EQ(round_trip("1e400"), "1e400");
    EXPECT_EQ(round_trip("-1E-400"), "-1E-400");
    EXPECT_EQ(round_trip("-0"), "-0");
    EXPECT_EQ(round_trip("-0.0e+0"), "-0.0e+0");
    EXPECT_EQ(round_trip(" [ 1 , 2.50 , {\"a\" : 1e1} ] "), "[1,2.50,{\"a\":1e1}]");
    const JsonValue number = *try_parse_json_text("18446744073709551616");
    EXPECT_EQ(number.kind(), JsonKind::Number);
    EXPECT_EQ(number.number_text(), "18446744073709551616");
}

TEST(JsonText, NumbersFollowTheRfcGrammar) {
    for (const char *bad : {"01", "-01", "1.", ".5", "+1", "-", "1e", "1e+", "1.e5", "NaN", "Infinity",
                            "-Infinity", "0x10", "1_000", "--1"}) {
        const JsonParseError error = parse_error(bad);
        EXPECT_FALSE(error.message.empty()) << bad;
    }
    EXPECT_EQ(parse_error("01").message, "unexpected '1' after the JSON value");
    EXPECT_EQ(parse_error("01").offset, 1u);
    EXPECT_EQ(parse_error("+1").message, "unexpected '+'");
    EXPECT_EQ(parse_error("1.").message, "unexpected '1'");   // the number that could not be read
    EXPECT_EQ(parse_error("1.").offset, 0u);

    EXPECT_EQ(JsonValue::number("0").number_text(), "0");
    const Error error = error_of([] { JsonValue::number("1."); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    EXPECT_EQ(error.message(), "\"1.\" is not a JSON number");
    EXPECT_EQ(error_of([] { JsonValue::number(""); }).sqlstate(), "XX000");
    EXPECT_EQ(error_of([] { JsonValue::number("1 "); }).sqlstate(), "XX000");
}

TEST(JsonText, StrictSyntax) {
    EXPECT_EQ(parse_error("").message, "unexpected end of input");
    EXPECT_EQ(parse_error("   ").message, "unexpected end of input");
    EXPECT_EQ(parse_error("[1,]").message, "unexpected ']'");
    EXPECT_EQ(parse_error("{\"a\":1,}").message, "expected a string key instead of '}'");
    EXPECT_EQ(parse_error("{'a':1}").message, "expected a string key instead of '''");
    EXPECT_EQ(parse_error("{\"a\" 1}").message, "expected ':' instead of '1'");
    EXPECT_EQ(parse_error("[1 2]").message, "expected ',' or ']' instead of '2'");
    EXPECT_EQ(parse_error("{\"a\":1 \"b\":2}").message, "expected ',' or '}' instead of '\"'");
    EXPECT_EQ(parse_error("[1").message, "unexpected end of input");
    EXPECT_EQ(parse_error("1 2").message, "unexpected '2' after the JSON value");
    EXPECT_EQ(parse_error("1 2").offset, 2u);
    EXPECT_EQ(parse_error("nul").message, "unexpected 'n'");
    EXPECT_EQ(parse_error("True").message, "unexpected 'T'");
    EXPECT_EQ(parse_error("[1] // comment").message, "unexpected '/' after the JSON value");
    EXPECT_EQ(parse_error("\"a\"\f").message, "unexpected byte 0x0C after the JSON value");
    // Whitespace is space, tab, CR and LF only.
    EXPECT_EQ(round_trip("\t\r\n [ true,false,null ]\n"), "[true,false,null]");
}

TEST(JsonText, StringEscapes) {
    const JsonValue value =
        *try_parse_json_text(R"("q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20AC \ud83d\ude00 \u0000")");
    EXPECT_EQ(value.string_value(),
              std::string("q\" b\\ s/ \b\f\n\r\t \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 ") + '\0');
    EXPECT_EQ(parse_error(R"("\x")").message, "invalid escape \\x");
    EXPECT_EQ(parse_error(R"("\u12")").message, "invalid \\u escape");
    EXPECT_EQ(parse_error(R"("\u12G4")").message, "invalid \\u escape");
    // Unpaired surrogates: the offset is where the escape starts.
    EXPECT_EQ(parse_error(R"("ab\ud800")").message, "unpaired UTF-16 surrogate escape");
    EXPECT_EQ(parse_error(R"("ab\ud800")").offset, 3u);
    EXPECT_EQ(parse_error(R"("\udc00\ud800")").message, "unpaired UTF-16 surrogate escape");
    EXPECT_EQ(parse_error(R"("\ud800\u0041")").message, "unpaired UTF-16 surrogate escape");
    EXPECT_EQ(parse_error(R"("\ud800\ud800")").message, "unpaired UTF-16 surrogate escape");
    EXPECT_EQ(parse_error(R"("\ud800x")").message, "unpaired UTF-16 surrogate escape");
    EXPECT_EQ(parse_error("\"abc").message, "unterminated string");
    EXPECT_EQ(parse_error("\"abc\\").message, "unterminated string");
    EXPECT_EQ(parse_error("\"a\nb\"").message, "control character byte 0x0A in a string must be escaped");
    EXPECT_EQ(parse_error("\"a\nb\"").offset, 2u);
    EXPECT_EQ(parse_error(std::string("\"a\0b\"", 5)).message,
              "control character byte 0x00 in a string must be escaped");
    // DEL and the C1 range are not JSON control characters.
    EXPECT_EQ(try_parse_json_text("\"\x7f\xC2\x80\"")->string_value(), "\x7f\xC2\x80");
}

TEST(JsonText, Utf8IsCheckedInStringsAndKeys) {
    // Valid: 2, 3 and 4 bytes, the highest code point U+10FFFF.
    EXPECT_EQ(round_trip("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\""),
              "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF\"");
    for (const char *bad : {
             "\"\x80\"",                 // a continuation byte alone
             "\"\xC0\x80\"",             // overlong NUL
             "\"\xC1\xBF\"",             // overlong
             "\"\xE0\x80\x80\"",         // overlong 3-byte
             "\"\xF0\x80\x80\x80\"",     // overlong 4-byte
             "\"\xED\xA0\x80\"",         // UTF-16 surrogate U+D800 encoded
             "\"\xF4\x90\x80\x80\"",     // above U+10FFFF
             "\"\xF5\x80\x80\x80\"",     // no such lead byte
             "\"\xFF\"",
             "\"\xC3\"",                 // truncated by the quote
             "\"\xE2\x82\"",
             "\"\xE2\x82x\"",
         }) {
        const JsonParseError error = parse_error(bad);
        EXPECT_EQ(error.message, "invalid UTF-8") << testing::PrintToString(std::string(bad));
        EXPECT_EQ(error.offset, 1u);
    }
    EXPECT_EQ(parse_error("{\"k\xFF\":1}").message, "invalid UTF-8");
    EXPECT_EQ(parse_error("{\"k\xFF\":1}").offset, 3u);
    // Outside strings a non-ASCII byte is just unexpected.
    EXPECT_EQ(parse_error("\xC3\xA9").message, "unexpected byte 0xC3");
}

TEST(JsonText, NestingDepthLimit) {
    ASSERT_EQ(kMaxJsonDepth, 1000);
    EXPECT_TRUE(try_parse_json_text(nested_arrays(1000)).has_value());
    EXPECT_TRUE(is_json_text(nested_arrays(1000)));
    const JsonParseError error = parse_error(nested_arrays(1001));
    EXPECT_EQ(error.message, "JSON nested deeper than 1000 levels");
    EXPECT_EQ(error.offset, 1000u);   // at the 1001st '['

    std::string objects;
    for (int i = 0; i < 1000; ++i)
        objects += "{\"a\":";
    objects += "1" + std::string(1000, '}');
    EXPECT_TRUE(is_json_text(objects));
    EXPECT_EQ(parse_error("[" + objects + "]").message, "JSON nested deeper than 1000 levels");
    // Far deeper input fails the same way, without exhausting the stack.
    EXPECT_EQ(parse_error(std::string(1000000, '[')).message, "JSON nested deeper than 1000 levels");
    // Path lookups over text check the same limit.
    EXPECT_TRUE(find_path_in_text(nested_arrays(1000), {"0", "0"}).valid);
    EXPECT_FALSE(find_path_in_text(nested_arrays(1001), {"0"}).valid);
    EXPECT_FALSE(find_path_in_text(nested_arrays(1001), {}).valid);
}

TEST(JsonText, ParseJsonTextThrowsInvalidTextRepresentation) {
    const Error error = error_of([] { parse_json_text("{\"a\": tru}"); });
    EXPECT_EQ(error.sqlstate(), "22P02");
    EXPECT_EQ(error.message(), "invalid JSON: unexpected 't' at byte 6");
    EXPECT_EQ(parse_json_text(" [1] ").elements().size(), 1u);
}

TEST(JsonText, ObjectsKeepOrderAndDuplicates) {
    const JsonValue object = *try_parse_json_text(R"({"b":1,"a":2,"b":3})");
    ASSERT_EQ(object.members().size(), 3u);
    EXPECT_EQ(to_json_text(object), R"({"b":1,"a":2,"b":3})");
    // The last duplicate counts, as in PostgreSQL's json operators.
    EXPECT_EQ(object.member("b")->number_text(), "3");
    EXPECT_EQ(object.member("c"), nullptr);
    EXPECT_EQ(JsonValue::string("x").member("b"), nullptr);
}

// Plain keys are read in place, others unescaped into a buffer that a nested
// object's keys reuse: every key must still come out whole.
TEST(JsonText, KeysWithEscapesAndNonAsciiKeepTheirNames) {
    const std::string text =
        "{\"a\\\"b\": {\"c\\\\d\": {\"\\u00e9\": 1, \"x\": 2}, \"\xC3\xA9t\xC3\xA9\": 3}, \"plain\": {\"t\\tab\": 4}}";
    const std::optional<JsonValue> value = try_parse_json_text(text);
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(to_json_text(*value),
              "{\"a\\\"b\":{\"c\\\\d\":{\"\xC3\xA9\":1,\"x\":2},\"\xC3\xA9t\xC3\xA9\":3},\"plain\":{\"t\\tab\":4}}");
    EXPECT_EQ(find_path(*value, {"a\"b", "c\\d", "\xC3\xA9"})->number_text(), "1");
    EXPECT_EQ(find_path_in_text(text, {"a\"b", "\xC3\xA9t\xC3\xA9"}).value, std::optional<std::string_view>("3"));
    EXPECT_EQ(find_path_in_text(text, {"plain", "t\tab"}).value, std::optional<std::string_view>("4"));
    // A key's errors are a string's.
    EXPECT_EQ(parse_error("{\"k\x01\":1}").message, "control character byte 0x01 in a string must be escaped");
    EXPECT_EQ(parse_error("{\"k").message, "unterminated string");
}

TEST(JsonText, FindPath) {
    const JsonValue value = *try_parse_json_text(R"({"a":{"b":[10,{"c":"x"}]},"1":"one"})");
    EXPECT_EQ(find_path(value, {}), &value);
    EXPECT_EQ(find_path(value, {"a", "b", "0"})->number_text(), "10");
    EXPECT_EQ(find_path(value, {"a", "b", "1", "c"})->string_value(), "x");
    EXPECT_EQ(find_path(value, {"1"})->string_value(), "one");   // an object key, not an index
    EXPECT_EQ(find_path(value, {"a", "b", "2"}), nullptr);
    EXPECT_EQ(find_path(value, {"a", "b", "01"}), nullptr);      // not a canonical index
    EXPECT_EQ(find_path(value, {"a", "b", "-1"}), nullptr);
    EXPECT_EQ(find_path(value, {"a", "b", "0", "x"}), nullptr);  // into a scalar
    EXPECT_EQ(find_path(value, {"a", "b", "99999999999999999999"}), nullptr);
}

TEST(JsonText, FindPathInTextReturnsTheValueAsWritten) {
    const std::string text = R"({"a": {"n": 49.00, "s": "\u00e9", "o": { "x" : [ 1 ] }}, "a": {"n": 1}})";
    // Duplicate "a": the last one counts.
    JsonTextMatch match = find_path_in_text(text, {"a", "n"});
    EXPECT_TRUE(match.valid);
    EXPECT_EQ(match.value, std::optional<std::string_view>("1"));
    match = find_path_in_text(R"({"n": 49.00, "s": "\u00e9", "o": { "x" : [ 1 ] }})", {"o"});
    EXPECT_EQ(match.value, std::optional<std::string_view>(R"({ "x" : [ 1 ] })"));
    match = find_path_in_text(R"({"n": 49.00, "s": "\u00e9"})", {"s"});
    EXPECT_EQ(match.value, std::optional<std::string_view>(R"("\u00e9")"));
    match = find_path_in_text(R"([5, [6, 7]])", {"1", "0"});
    EXPECT_EQ(match.value, std::optional<std::string_view>("6"));
    // Missing, and into a scalar: valid JSON, no value.
    match = find_path_in_text(R"({"a": 1})", {"b"});
    EXPECT_TRUE(match.valid);
    EXPECT_FALSE(match.value.has_value());
    match = find_path_in_text(R"({"a": 1})", {"a", "b"});
    EXPECT_TRUE(match.valid);
    EXPECT_FALSE(match.value.has_value());
    // A later duplicate that leads nowhere hides the earlier one's value.
    match = find_path_in_text(R"({"a": {"n": 1}, "a": {"m": 2}})", {"a", "n"});
    EXPECT_TRUE(match.valid);
    EXPECT_FALSE(match.value.has_value());
    match = find_path_in_text(R"({"a": {"n": 1}, "a": 3})", {"a", "n"});
    EXPECT_FALSE(match.value.has_value());
    // Invalid JSON after the value found is never half-read.
    JsonParseError error;
    match = find_path_in_text(R"({"a": 1, "b": })", {"a"}, &error);
    EXPECT_FALSE(match.valid);
    EXPECT_FALSE(match.value.has_value());
    EXPECT_EQ(error.message, "unexpected '}'");
    EXPECT_FALSE(find_path_in_text("{\"a\": \"\xFF\"}", {"a"}).valid);
}

// An array found by path, its elements and the members asked for of each, in
// the one pass that checks the whole text (a vendor's per-record results).
TEST(JsonText, FindArrayInTextGivesElementsAndTheirMembers) {
    const std::string text =
        R"({"r": [{"id": "a1", "ok": true}, 7, {"ok": false, "ok": true, "x": {"id": 1}}, {"i\u0064": "b2"}], "z": 1})";
    JsonArrayMatch match = find_array_in_text(text, {"r"}, {"ok", "id"});
    ASSERT_TRUE(match.valid);
    ASSERT_TRUE(match.found);
    ASSERT_EQ(match.elements.size(), 4u);
    ASSERT_EQ(match.members.size(), 8u);
    EXPECT_EQ(match.elements[0], R"({"id": "a1", "ok": true})");
    EXPECT_EQ(match.members[0], std::optional<std::string_view>("true"));
    EXPECT_EQ(match.members[1], std::optional<std::string_view>(R"("a1")"));
    EXPECT_EQ(match.elements[1], "7");   // not an object: no members
    EXPECT_FALSE(match.members[2].has_value());
    EXPECT_FALSE(match.members[3].has_value());
    // The last of duplicates; a nested member is not the element's own.
    EXPECT_EQ(match.members[4], std::optional<std::string_view>("true"));
    EXPECT_FALSE(match.members[5].has_value());
    // Keys compare unescaped.
    EXPECT_EQ(match.members[7], std::optional<std::string_view>(R"("b2")"));
    // The whole text at the root; an empty array.
    match = find_array_in_text(R"( [ ] )", {}, {"id"});
    EXPECT_TRUE(match.valid && match.found && match.elements.empty() && match.members.empty());
    // Not an array, missing, or invalid anywhere (after the array too): nothing found.
    match = find_array_in_text(text, {"z"}, {"id"});
    EXPECT_TRUE(match.valid);
    EXPECT_FALSE(match.found);
    // Duplicates: the last list counts, and a last one that is no list hides the earlier.
    match = find_array_in_text(R"({"r": [{"id": 1}, {"id": 2}], "r": [{"id": 3}]})", {"r"}, {"id"});
    ASSERT_TRUE(match.found);
    ASSERT_EQ(match.elements.size(), 1u);
    EXPECT_EQ(match.members[0], std::optional<std::string_view>("3"));
    match = find_array_in_text(R"({"r": [{"id": 1}], "r": {"id": 3}})", {"r"}, {"id"});
    EXPECT_TRUE(match.valid);
    EXPECT_FALSE(match.found);
    EXPECT_TRUE(match.elements.empty() && match.members.empty());
    EXPECT_FALSE(find_array_in_text(text, {"q"}, {"id"}).found);
    match = find_array_in_text(R"({"r": [{"id": 1}], "z": })", {"r"}, {"id"});
    EXPECT_FALSE(match.valid);
    EXPECT_FALSE(match.found);
    EXPECT_TRUE(match.elements.empty());
    EXPECT_FALSE(find_array_in_text(R"([{"id": tru}])", {}, {"id"}).found);
    // The nesting limit holds inside the elements as everywhere.
    EXPECT_TRUE(find_array_in_text(nested_arrays(1000), {}, {}).found);
    EXPECT_FALSE(find_array_in_text(nested_arrays(1001), {}, {}).valid);
}

TEST(JsonText, SerialisationEscapesAndRepairsUtf8) {
    EXPECT_EQ(escaped("plain"), "\"plain\"");
    EXPECT_EQ(escaped("q\" b\\ /"), R"("q\" b\\ /")");
    EXPECT_EQ(escaped("\b\f\n\r\t"), R"("\b\f\n\r\t")");
    EXPECT_EQ(escaped(std::string("\x01\x1f", 2) + '\0'), R"("\u0001\u001f\u0000")");
    EXPECT_EQ(escaped("\x7f"), "\"\x7f\"");
    EXPECT_EQ(escaped("\xC3\xA9\xF0\x9F\x98\x80"), "\"\xC3\xA9\xF0\x9F\x98\x80\"");
    // Bytes that are not UTF-8 become U+FFFD, one each, so the output is valid JSON.
    EXPECT_EQ(escaped("a\xFF" "b\xC3"), "\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\"");
    EXPECT_EQ(escaped("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_TRUE(is_json_text(escaped("\xC0\x80\xF5\x80\xFF\xFE")));
    std::string spliced = "x";
    append_json_escaped(spliced, "\"\n");
    EXPECT_EQ(spliced, R"(x\"\n)");

    JsonValue built = JsonValue::object();
    built.add_member("k\n", JsonValue::array({JsonValue::boolean(false), JsonValue(), JsonValue::number("-0")}));
    built.add_member("s", JsonValue::string("\xE2\x82\xAC"));
    EXPECT_EQ(to_json_text(built), "{\"k\\n\":[false,null,-0],\"s\":\"\xE2\x82\xAC\"}");
}

TEST(JsonText, Utf8Encoding) {
    std::string out;
    for (const std::uint32_t code : {0x24u, 0xA2u, 0x20ACu, 0x10348u, 0x10FFFFu})
        append_utf8(out, code);
    EXPECT_EQ(out, "\x24\xC2\xA2\xE2\x82\xAC\xF0\x90\x8D\x88\xF4\x8F\xBF\xBF");
}

TEST(JsonText, KindsAndPhrases) {
    EXPECT_EQ(json_kind_of("{}"), JsonKind::Object);
    EXPECT_EQ(json_kind_of("[1]"), JsonKind::Array);
    EXPECT_EQ(json_kind_of("\"x\""), JsonKind::String);
    EXPECT_EQ(json_kind_of("false"), JsonKind::Boolean);
    EXPECT_EQ(json_kind_of("-1"), JsonKind::Number);
    EXPECT_EQ(json_kind_of(""), JsonKind::Null);
    EXPECT_STREQ(json_kind_phrase(JsonKind::Array), "an array");
    EXPECT_STREQ(json_kind_phrase(JsonKind::Null), "null");
}

TEST(JsonText, FromJanssonUsesTheShortestRealText) {
    const JsonPtr value = test::json(R"({"r":0.1,"one":1.0,"big":1e300,"i":-9223372036854775808,"s":"\u00e9"})");
    EXPECT_EQ(to_json_text(json_value_from_jansson(value.get())),
              "{\"r\":0.1,\"one\":1.0,\"big\":1e+300,\"i\":-9223372036854775808,\"s\":\"\xC3\xA9\"}");
}

// ---- common/json.hpp: the jansson side

TEST(JanssonHelpers, ParseJsonNamesTheInput) {
    const Error error = error_of([] { parse_json("{\"a\":}", "settings"); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "settings is not valid JSON");
    EXPECT_NE(error.detail().find("at line 1, column 6"), std::string::npos) << error.detail();
    // jansson refuses numbers it cannot hold.
    EXPECT_EQ(error_of([] { parse_json("1e400", "x"); }).message(), "x is not valid JSON");
    EXPECT_EQ(error_of([] { parse_json("123456789012345678901234567890", "x"); }).sqlstate(), "22023");
}

TEST(JanssonHelpers, ShapeParsingKeepsKindsForAnyNumber) {
    JsonPtr shape = parse_json_shape("[12, -0, 1e400, -1e400, 123456789012345678901234567890, 2.5]", "fields");
    ASSERT_TRUE(json_is_array(shape.get()));
    EXPECT_TRUE(json_is_integer(json_array_get(shape.get(), 0)));
    EXPECT_EQ(json_integer_value(json_array_get(shape.get(), 0)), 12);
    EXPECT_TRUE(json_is_integer(json_array_get(shape.get(), 1)));
    EXPECT_EQ(json_real_value(json_array_get(shape.get(), 2)), DBL_MAX);
    EXPECT_EQ(json_real_value(json_array_get(shape.get(), 3)), -DBL_MAX);
    EXPECT_TRUE(json_is_real(json_array_get(shape.get(), 4)));
    EXPECT_DOUBLE_EQ(json_real_value(json_array_get(shape.get(), 4)), 1.2345678901234568e29);
    EXPECT_EQ(json_real_value(json_array_get(shape.get(), 5)), 2.5);

    // Duplicate keys: jansson keeps one, the last (as parse_json would).
    shape = parse_json_shape(R"({"a":1,"a":2})", "fields");
    EXPECT_EQ(json_object_size(shape.get()), 1u);
    EXPECT_EQ(json_integer_value(json_object_get(shape.get(), "a")), 2);

    // Errors give line and column as parse_json does.
    const Error error = error_of([] { parse_json_shape("{\n  \"a\": tru\n}", "fields"); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "fields is not valid JSON");
    EXPECT_EQ(error.detail(), "unexpected 't' at line 2, column 8");
}

TEST(JanssonHelpers, DumpAndKindNames) {
    const JsonPtr value = test::json(R"({"z":[1,2.5,"x",null,true],"a":{}})");
    EXPECT_EQ(dump_json(value.get()), R"({"z":[1,2.5,"x",null,true],"a":{}})");
    EXPECT_EQ(dump_json(test::json("\"s\"").get()), "\"s\"");
    EXPECT_STREQ(json_kind_name(json_object_get(value.get(), "a")), "object");
    EXPECT_STREQ(json_kind_name(json_array_get(json_object_get(value.get(), "z"), 1)), "number");
    EXPECT_STREQ(json_kind_name(json_array_get(json_object_get(value.get(), "z"), 4)), "boolean");
    const JsonPtr object = new_json_object();
    EXPECT_TRUE(json_is_object(object.get()));
    EXPECT_EQ(json_object_size(object.get()), 0u);
}

}  // namespace
}  // namespace reverse_etl
