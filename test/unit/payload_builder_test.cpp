// engine/payload_builder: each record's JSON payload built from a mapping's
// fields and PostgreSQL's to_json() text of each column (given here by hand),
// with nulls, paths, templates, arrays, metadata, conversion to declared field
// types and the checks made at sync time.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/destination_type.hpp"
#include "common/json_object_view.hpp"
#include "common/json_text.hpp"
#include "engine/payload_builder.hpp"
#include "test_support.hpp"

namespace reverse_etl::engine {
namespace {

using catalog::ActionDef;
using catalog::DestinationType;
using test::error_of;
using Values = std::vector<std::optional<std::string_view>>;

const DestinationType &webhook() {
    static const DestinationType type =
        catalog::parse_destination_type(test::repository_file("src/destinations/webhook.json"));
    return type;
}
const DestinationType &segment() {
    static const DestinationType type =
        catalog::parse_destination_type(test::repository_file("src/destinations/segment.json"));
    return type;
}
const ActionDef &send() { return webhook().actions[0]; }

// Columns as format_type names them; values below are their to_json() text.
const std::vector<Column> kColumns = {
    {"id", "bigint"}, {"name", "text"}, {"total", "numeric(10,2)"}, {"profile", "jsonb"},
    {"doc", "json"},  {"raw", "text"},  {"at", "timestamp without time zone"},
};

const RunContext kContext{"nightly users", 42, "2026-03-08T02:30:00Z"};

// The places the builder recorded for the payload's members are those a scan
// finds (JsonObjectView::view_known, which the vendor elements read); a key
// with an escape is the one case it declines, left to the scan.
void expect_members_where_recorded(const BuiltPayload &built) {
    JsonObjectView scanned;
    JsonObjectView known;
    ASSERT_TRUE(scanned.view(built.json)) << built.json;
    if (!known.view_known(built.json, built.members)) {
        EXPECT_NE(built.json.find('\\'), std::string::npos) << built.json;
        return;
    }
    ASSERT_EQ(known.members().size(), scanned.members().size()) << built.json;
    for (size_t i = 0; i < scanned.members().size(); ++i) {
        EXPECT_EQ(known.members()[i].key, scanned.members()[i].key) << built.json;
        EXPECT_EQ(known.members()[i].key_json, scanned.members()[i].key_json) << built.json;
        EXPECT_EQ(known.members()[i].value, scanned.members()[i].value) << built.json;
    }
}

// The payload, or "! reason" for an invalid record.
std::string build(const std::string &fields, const Values &values, const ActionDef &action = send(),
                  std::string_view change = "added") {
    const PayloadBuilder builder(fields, action, kColumns);
    const BuiltPayload built = builder.build(RecordValues{"rec-1", change, values}, kContext, true);
    // Not asked for, the members are not recorded; the payload is the same.
    const BuiltPayload unrecorded = builder.build(RecordValues{"rec-1", change, values}, kContext);
    EXPECT_TRUE(unrecorded.members.empty());
    EXPECT_EQ(unrecorded.json, built.json);
    if (!built.valid) {
        EXPECT_TRUE(built.json.empty());
        return "! " + built.invalid_reason;
    }
    EXPECT_TRUE(built.invalid_reason.empty());
    EXPECT_TRUE(is_json_text(built.json)) << built.json;
    expect_members_where_recorded(built);
    return built.json;
}

// All columns NULL but those given.
Values with(std::initializer_list<std::pair<int, const char *>> set) {
    Values values(kColumns.size());
    for (const auto &[index, text] : set)
        values[index] = std::string_view(text);
    return values;
}

TEST(PayloadBuilder, ColumnsAreCopiedWithTheirDigits) {
    EXPECT_EQ(build(R"({"id": "id", "total": "total", "name": "name"})",
                    with({{0, "123456789012345678"}, {1, "\"Ann \\\"A\\\" \\u00e9\""}, {2, "49.00"}})),
              R"({"id":123456789012345678,"total":49.00,"name":"Ann \"A\" \u00e9"})");
    // Keys are escaped once, as JSON.
    EXPECT_EQ(build(R"({"a\"b\nc": "id"})", with({{0, "1"}})), R"({"a\"b\nc":1})");
}

TEST(PayloadBuilder, JsonColumnsAreCompacted) {
    EXPECT_EQ(build(R"({"p": "profile", "d": "doc"})",
                    with({{3, "{\"a b\": \"c  d\", \"n\": [1, 2.50]}"}, {4, " [ {\"x\" :\n1} ] "}})),
              R"({"p":{"a b":"c  d","n":[1,2.50]},"d":[{"x":1}]})");
}

TEST(PayloadBuilder, NaNCannotBeSent) {
    EXPECT_EQ(build(R"({"t": "total"})", with({{2, "\"NaN\""}})),
              "! value of column \"total\" is NaN or infinite, which JSON cannot carry");
}

TEST(PayloadBuilder, Nulls) {
    // Sent by default, left out with sync_nulls false (inherited inside objects).
    EXPECT_EQ(build(R"({"a": "name", "b": {"column": "name", "sync_nulls": false}, "c": "id"})", with({{0, "7"}})),
              R"({"a":null,"c":7})");
    EXPECT_EQ(build(R"({"o": {"object": {"x": "name", "y": {"column": "name", "sync_nulls": true}}, "sync_nulls": false}})",
                    with({})),
              R"({"o":{"y":null}})");
    // A JSON null inside a column counts as null too.
    EXPECT_EQ(build(R"({"p": {"column": "profile", "sync_nulls": false}, "q": "id"})", with({{3, "null"}, {0, "1"}})),
              R"({"q":1})");
    EXPECT_EQ(build(R"({"v": {"value": null, "sync_nulls": false}, "w": {"value": null}})", with({})),
              R"({"w":null})");
}

TEST(PayloadBuilder, PathsIntoJsonAndIntoTextHoldingJson) {
    const char *profile = R"({"address": {"city": "Paris", "zip": "75001"}, "n": 1.50})";
    EXPECT_EQ(build(R"({"city": {"column": "profile", "path": "address.city"},
                        "missing": {"column": "profile", "path": "address.street"},
                        "n": {"column": "profile", "path": "n"}})",
                    with({{3, profile}})),
              R"({"city":"Paris","missing":null,"n":1.50})");
    // to_json of a text column is a JSON string; a path reads its content as JSON.
    EXPECT_EQ(build(R"({"a": {"column": "raw", "path": "a.0"}})", with({{5, R"("{\"a\": [10, 20]}")"}})),
              R"({"a":10})");
    EXPECT_EQ(build(R"({"a": {"column": "raw", "path": "a"}})", with({{5, R"("not json")"}})),
              "! column \"raw\" does not hold JSON");
}

TEST(PayloadBuilder, Templates) {
    EXPECT_EQ(build(R"({"t": {"template": "Hi {{name}} #{{id}} from {{profile.address.city}}{{raw}}!"}})",
                    with({{0, "5"}, {1, "\"Ann \\\"A\\\"\""}, {3, R"({"address": {"city": "Paris"}})"}})),
              R"({"t":"Hi Ann \"A\" #5 from Paris!"})");
    // Objects in placeholders go in as escaped compact JSON.
    EXPECT_EQ(build(R"({"t": {"template": "p={{profile}}"}})", with({{3, R"({"a": [1, "x"]})"}})),
              R"({"t":"p={\"a\":[1,\"x\"]}"})");
    // Literal text is escaped.
    EXPECT_EQ(build(R"({"t": {"template": "line\n\"q\""}})", with({})), R"({"t":"line\n\"q\""})");
}

TEST(PayloadBuilder, StaticValuesKeepTheirDigits) {
    EXPECT_EQ(build(R"({"v": {"value": 123456789012345678901234567890}, "w": {"value": [1e400, -0, {"a": 49.00}]}})",
                    with({})),
              R"({"v":123456789012345678901234567890,"w":[1e400,-0,{"a":49.00}]})");
}

TEST(PayloadBuilder, ObjectsArraysAndSelections) {
    EXPECT_EQ(build(R"({"o": {"object": {"id": "id", "m": {"meta": "mapping"}}}})", with({{0, "1"}})),
              R"({"o":{"id":1,"m":"nightly users"}})");
    const char *lines = R"([{"id": 1, "q": {"n": 2}, "x": null}, {"id": 2, "x": 3}])";
    EXPECT_EQ(build(R"({"l": {"array": "doc", "items": {"sku": "id", "qty": {"prop": "q.n"}, "x": "x",
                                                          "k": {"value": "fixed"}, "z": {"prop": "x", "sync_nulls": false}}}})",
                    with({{4, lines}})),
              R"({"l":[{"sku":1,"qty":2,"x":null,"k":"fixed"},{"sku":2,"x":3,"k":"fixed","z":3}]})");
    EXPECT_EQ(build(R"({"l": {"array": "doc", "items": {"a": "a"}}})", with({{4, R"({"a": 1})"}})),
              "! column \"doc\" holds an object, not a JSON array");
    EXPECT_EQ(build(R"({"l": {"array": "doc", "items": {"a": "a"}}})", with({{4, "null"}})), R"({"l":null})");
    EXPECT_EQ(build(R"({"l": {"array": "raw", "items": {"a": "a"}}})", with({{5, R"("[{\"a\": 1}]")"}})),
              R"({"l":[{"a":1}]})");

    EXPECT_EQ(build(R"({"s": {"select_object": "raw"}})", with({{5, R"(" {\"a\": 1} ")"}})), R"({"s":{"a":1}})");
    EXPECT_EQ(build(R"({"s": {"select_object": "doc"}})", with({{4, "[1]"}})),
              "! column \"doc\" holds an array, not a JSON object");
    EXPECT_EQ(build(R"({"s": {"select_array": "profile"}})", with({{3, "\"x\""}})),
              "! column \"profile\" holds a string, not a JSON array");
    EXPECT_EQ(build(R"({"s": {"select_array": "raw"}})", with({{5, R"("[1, 2")"}})), "! column \"raw\" does not hold JSON");
}

TEST(PayloadBuilder, Metadata) {
    EXPECT_EQ(build(R"({"r": {"meta": "record_id"}, "c": {"meta": "change"}, "m": {"meta": "mapping"},
                        "i": {"meta": "run_id"}, "s": {"meta": "synced_at"}})",
                    with({}), send(), "deleted"),
              R"({"r":"rec-1","c":"deleted","m":"nightly users","i":42,"s":"2026-03-08T02:30:00Z"})");
}

TEST(PayloadBuilder, DeclaredFieldsAreConverted) {
    const ActionDef &identify = *segment().find_action("identify");
    EXPECT_EQ(build(R"({"userId": "id", "timestamp": "at", "traits": "profile"})",
                    with({{0, "42"}, {6, "\"2026-03-08T02:30:00\""}, {3, R"({"plan": "pro"})"}}), identify),
              R"({"userId":"42","timestamp":"2026-03-08T02:30:00Z","traits":{"plan":"pro"}})");
    // An object field fed by a text column reads the text as JSON.
    EXPECT_EQ(build(R"({"userId": "id", "traits": "raw"})", with({{0, "1"}, {5, R"("{\"a\": 1}")"}}), identify),
              R"({"userId":"1","traits":{"a":1}})");
    EXPECT_EQ(build(R"({"userId": "id", "traits": "raw"})", with({{0, "1"}, {5, R"("{oops")"}}), identify),
              "! field \"traits\": the text in column \"raw\" is not JSON");
    EXPECT_EQ(build(R"({"userId": "id", "traits": "raw"})", with({{0, "1"}, {5, R"("[1]")"}}), identify),
              "! field \"traits\": a JSON array cannot be sent as an object");
    EXPECT_EQ(build(R"({"userId": "id", "timestamp": "name"})", with({{0, "1"}, {1, "\"soon\""}}), identify),
              "! field \"timestamp\": the string \"soon\" is not an ISO 8601 date or date-time");
    // A static value the type cannot take makes every record invalid.
    EXPECT_EQ(build(R"({"userId": {"value": {"a": 1}}})", with({}), identify),
              "! field \"userId\": a JSON object cannot be sent as a string");
}

TEST(PayloadBuilder, RequirementsAreCheckedOnTheValuesSent) {
    const ActionDef &identify = *segment().find_action("identify");
    EXPECT_EQ(build(R"({"userId": "id", "traits": "profile"})", with({{3, "{}"}}), identify),
              "! one of \"userId\", \"anonymousId\" is required but all are null");
    EXPECT_EQ(build(R"({"userId": "id", "anonymousId": "name"})", with({{1, "\"anon\""}}), identify),
              R"({"userId":null,"anonymousId":"anon"})");
    const ActionDef &track = *segment().find_action("track");
    EXPECT_EQ(build(R"({"event": "name", "userId": "id"})", with({{0, "1"}}), track), "! required field \"event\" is null");
    // Segment's 32 KB per event.
    const std::string big = "\"" + std::string(33000, 'x') + "\"";
    EXPECT_EQ(build(R"({"userId": "name"})", with({{1, big.c_str()}}), identify),
              "! payload is 33013 bytes, over the limit of 32768 bytes per record");
}

TEST(PayloadBuilder, CallerBugsAndBadMappings) {
    const PayloadBuilder builder(R"({"id": "id"})", send(), kColumns);
    const Error error = error_of([&] { builder.build(RecordValues{"r", "added", Values(2)}, kContext); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    EXPECT_EQ(error.message(), "record \"r\" has 2 values, but the model has 7 columns");
    EXPECT_EQ(error_of([] { PayloadBuilder("{", send(), kColumns); }).sqlstate(), "22P02");
    const Error missing = error_of([] { PayloadBuilder(R"({"a": {"object": {"b": "nope"}}})", send(), kColumns); });
    EXPECT_EQ(missing.sqlstate(), "42703");
    EXPECT_EQ(missing.message(), "field \"a.b\" refers to column \"nope\", which the model does not have");
    EXPECT_EQ(error_of([] { PayloadBuilder(R"({"a": 1})", send(), kColumns); }).sqlstate(), "22023");
    // A builder can be moved, e.g. into a run's plan.
    PayloadBuilder moved = PayloadBuilder(R"({"id": "id"})", send(), kColumns);
    EXPECT_EQ(moved.build(RecordValues{"r", "added", with({{0, "3"}})}, kContext).json, R"({"id":3})");
}

}  // namespace
}  // namespace reverse_etl::engine
