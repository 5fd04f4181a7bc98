// catalog/field_mapping: the shape of a mapping's `fields` (every value spec
// form and its errors) and validation against an action's fields and a
// model's columns. The actions are the shipped Segment and webhook definitions.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/destination_type.hpp"
#include "catalog/field_mapping.hpp"
#include "common/json_text.hpp"
#include "test_support.hpp"

namespace reverse_etl::catalog {
namespace {

using test::error_of;
using test::json;
using Names = std::vector<std::string>;

constexpr const char *kSpecFormsHint =
    "Map a field to \"column\", {\"column\": \"column\"}, {\"column\": \"column\", \"path\": "
    "\"a.b\"}, {\"value\": json}, {\"template\": \"Hi {{column}}\"}, {\"object\": {...}}, "
    "{\"select_object\": \"column\"}, {\"array\": \"column\", \"items\": {...}}, "
    "{\"select_array\": \"column\"} or {\"meta\": \"record_id\"}; object forms may add "
    "\"sync_nulls\": false.";

const DestinationType &segment() {
    static const DestinationType type = parse_destination_type(test::repository_file("src/destinations/segment.json"));
    return type;
}
const DestinationType &webhook() {
    static const DestinationType type = parse_destination_type(test::repository_file("src/destinations/webhook.json"));
    return type;
}
const ActionDef &identify() { return *segment().find_action("identify"); }

const std::vector<Column> kColumns = {
    {"id", "bigint"},        {"email", "text"},          {"profile", "jsonb"},
    {"tags", "text[]"},      {"plan", "character varying(32)"}, {"signed_up", "timestamp with time zone"},
    {"n", "integer"},        {"doc", "json"},            {"total", "numeric(10,2)"},
};

std::vector<NamedValueSpec> parse(const std::string &fields) { return parse_field_mapping(json(fields).get()); }

Error parse_error(const std::string &fields) {
    return error_of([&] { parse(fields); });
}

// As create_mapping reads them: the shape through jansson (any number), the
// written text for static values.
Names validate(const std::string &fields, const ActionDef &action) {
    const JsonValue written = parse_json_text(fields);
    return validate_field_mapping(parse_json_shape(fields, "fields").get(), action, kColumns, &written);
}

Error validation_error(const std::string &fields, const ActionDef &action) {
    return error_of([&] { validate(fields, action); });
}

TEST(FieldMappingParse, EveryForm) {
    const std::vector<NamedValueSpec> mapping = parse(R"({
        "a": "id",
        "b": {"column": "profile", "path": "address.city", "sync_nulls": false},
        "c": {"value": 49.00},
        "d": {"template": "Hi {{ email }}, {{profile.name.first}}!"},
        "e": {"object": {"plan": "plan", "since": {"meta": "synced_at"}}},
        "f": {"array": "items", "items": {"sku": "id", "qty": {"prop": "q.n", "sync_nulls": true}, "k": {"value": [1]}}},
        "g": {"select_object": "profile"},
        "h": {"select_array": "tags"},
        "i": {"meta": "run_id"},
        "j": {"value": null}
    })");
    ASSERT_EQ(mapping.size(), 10u);
    EXPECT_EQ(mapping[0].key, "a");
    EXPECT_EQ(mapping[0].spec.kind, ValueKind::Column);
    EXPECT_EQ(mapping[0].spec.column, "id");
    EXPECT_TRUE(mapping[0].spec.path.empty());

    EXPECT_EQ(mapping[1].spec.kind, ValueKind::Column);
    EXPECT_EQ(mapping[1].spec.path, (Names{"address", "city"}));
    EXPECT_EQ(mapping[1].spec.sync_nulls, false);

    EXPECT_EQ(mapping[2].spec.kind, ValueKind::Value);
    EXPECT_TRUE(json_is_number(mapping[2].spec.value.get()));

    const std::vector<TemplatePart> &parts = mapping[3].spec.parts;
    ASSERT_EQ(parts.size(), 5u);
    EXPECT_FALSE(parts[0].placeholder);
    EXPECT_EQ(parts[0].text, "Hi ");
    EXPECT_TRUE(parts[1].placeholder);
    EXPECT_EQ(parts[1].text, "email");
    EXPECT_EQ(parts[2].text, ", ");
    EXPECT_EQ(parts[3].text, "profile");
    EXPECT_EQ(parts[3].path, (Names{"name", "first"}));
    EXPECT_EQ(parts[4].text, "!");

    ASSERT_EQ(mapping[4].spec.entries.size(), 2u);
    EXPECT_EQ(mapping[4].spec.entries[1].key, "since");
    EXPECT_EQ(mapping[4].spec.entries[1].spec.kind, ValueKind::Meta);
    EXPECT_EQ(mapping[4].spec.entries[1].spec.meta, MetaValue::SyncedAt);

    EXPECT_EQ(mapping[5].spec.kind, ValueKind::Array);
    EXPECT_EQ(mapping[5].spec.column, "items");
    ASSERT_EQ(mapping[5].spec.items.size(), 3u);
    EXPECT_EQ(mapping[5].spec.items[0].prop, Names{"id"});
    EXPECT_EQ(mapping[5].spec.items[1].prop, (Names{"q", "n"}));
    EXPECT_EQ(mapping[5].spec.items[1].sync_nulls, true);
    EXPECT_TRUE(json_is_array(mapping[5].spec.items[2].value.get()));

    EXPECT_EQ(mapping[6].spec.kind, ValueKind::SelectObject);
    EXPECT_EQ(mapping[7].spec.kind, ValueKind::SelectArray);
    EXPECT_EQ(mapping[8].spec.meta, MetaValue::RunId);
    EXPECT_STREQ(meta_value_name(mapping[8].spec.meta), "run_id");
    // JSON null is a value, not a missing one.
    EXPECT_EQ(mapping[9].spec.kind, ValueKind::Value);
    EXPECT_TRUE(json_is_null(mapping[9].spec.value.get()));
}

TEST(FieldMappingParse, TheFieldsObject) {
    Error error = parse_error("[]");
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "\"fields\" must be a JSON object, not an array");
    EXPECT_EQ(error.hint(), kSpecFormsHint);
    EXPECT_EQ(parse_error("null").message(), "\"fields\" must be a JSON object, not null");
    EXPECT_EQ(error_of([] { parse_field_mapping(nullptr); }).message(), "\"fields\" must be a JSON object, not missing");
    EXPECT_EQ(parse_error("{}").message(), "\"fields\" must map at least one field");
    EXPECT_EQ(parse_error(R"({"": "id"})").message(), "field names must not be empty");
    EXPECT_EQ(parse_error(R"({"a": 5})").message(), "mapping of field \"a\" must be a column name or an object, not a number");
    EXPECT_EQ(parse_error(R"({"a": ["id"]})").message(), "mapping of field \"a\" must be a column name or an object, not an array");
    EXPECT_EQ(parse_error(R"({"a": true})").message(), "mapping of field \"a\" must be a column name or an object, not a boolean");
}

TEST(FieldMappingParse, SpecKeys) {
    Error error = parse_error(R"({"a": {"colum": "id"}})");
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "mapping of field \"a\" has unknown key \"colum\"");
    EXPECT_EQ(error.hint(), "Did you mean \"column\"?");
    EXPECT_EQ(parse_error(R"({"a": {"zzz": "id"}})").hint(), kSpecFormsHint);
    error = parse_error(R"({"a": {"sync_nulls": true}})");
    EXPECT_EQ(error.message(), "mapping of field \"a\" does not say which value to send");
    error = parse_error(R"({"a": {"column": "id", "value": 1}})");
    EXPECT_EQ(error.message(), "mapping of field \"a\" combines \"column\" and \"value\"");
    EXPECT_EQ(error.detail(),
              "A mapping has exactly one of \"column\", \"value\", \"template\", \"object\", \"select_object\", "
              "\"array\", \"select_array\" and \"meta\".");
    EXPECT_EQ(parse_error(R"({"a": {"value": 1, "path": "x"}})").message(), "\"path\" of field \"a\" only goes with \"column\"");
    EXPECT_EQ(parse_error(R"({"a": {"column": "id", "items": {}}})").message(), "\"items\" of field \"a\" only goes with \"array\"");
    error = parse_error(R"({"a": {"array": "tags"}})");
    EXPECT_EQ(error.message(), "\"array\" of field \"a\" has no \"items\"");
    EXPECT_NE(error.hint().find("select_array"), std::string::npos);
    EXPECT_EQ(parse_error(R"({"a": {"column": 1}})").message(), "\"column\" of field \"a\" must be a string, not a number");
    EXPECT_EQ(parse_error(R"({"a": {"template": null}})").message(), "\"template\" of field \"a\" must be a string, not null");
    EXPECT_EQ(parse_error(R"({"a": {"column": "id", "path": ["x"]}})").message(),
              "\"path\" of field \"a\" must be a string, not an array");
    EXPECT_EQ(parse_error(R"({"a": {"column": "id", "sync_nulls": "no"}})").message(),
              "\"sync_nulls\" of field \"a\" must be true or false, not a string");
}

TEST(FieldMappingParse, PathsTemplatesAndMetadata) {
    for (const char *path : {"", ".a", "a.", "a..b"}) {
        const Error error = parse_error(std::string(R"({"a": {"column": "doc", "path": ")") + path + "\"}}");
        EXPECT_EQ(error.message(), std::string("path \"") + path + "\" of field \"a\" is not valid");
        EXPECT_EQ(error.hint(), "A path names properties separated by dots, such as \"address.city\".");
    }
    Error error = parse_error(R"({"a": {"template": "Hi {{email"}})");
    EXPECT_EQ(error.message(), "template of field \"a\" has an unclosed \"{{\"");
    EXPECT_EQ(error.hint(), "Placeholders look like {{column}} or {{column.property}}.");
    EXPECT_EQ(parse_error(R"({"a": {"template": "{{ }}"}})").message(),
              "template of field \"a\" has an invalid placeholder \"{{ }}\"");
    EXPECT_EQ(parse_error(R"({"a": {"template": "{{a..b}}"}})").message(),
              "template of field \"a\" has an invalid placeholder \"{{a..b}}\"");
    // Text without placeholders, and a lone "}}", are literal.
    const std::vector<NamedValueSpec> literal = parse(R"({"a": {"template": "plain }} text"}})");
    ASSERT_EQ(literal[0].spec.parts.size(), 1u);
    EXPECT_EQ(literal[0].spec.parts[0].text, "plain }} text");
    EXPECT_TRUE(parse(R"({"a": {"template": ""}})")[0].spec.parts.empty());

    error = parse_error(R"({"a": {"meta": "runid"}})");
    EXPECT_EQ(error.message(), "field \"a\" asks for unknown metadata \"runid\"");
    EXPECT_EQ(error.hint(), "Did you mean \"run_id\"?");
    EXPECT_EQ(parse_error(R"({"a": {"meta": "weather"}})").hint(),
              "Metadata values are \"record_id\", \"change\", \"mapping\", \"run_id\" and \"synced_at\".");
}

TEST(FieldMappingParse, ObjectsAndItemsNameTheirPlace) {
    EXPECT_EQ(parse_error(R"({"t": {"object": {"plan": {"colum": "p"}}}})").message(),
              "mapping of field \"t.plan\" has unknown key \"colum\"");
    EXPECT_EQ(parse_error(R"({"t": {"object": {"a": {"object": {"b": 1}}}}})").message(),
              "mapping of field \"t.a.b\" must be a column name or an object, not a number");
    EXPECT_EQ(parse_error(R"({"t": {"object": "plan"}})").message(), "\"object\" of field \"t\" must be an object, not a string");
    EXPECT_EQ(parse_error(R"({"t": {"object": {}}})").message(), "\"object\" of field \"t\" has no properties");
    EXPECT_EQ(parse_error(R"({"t": {"object": {"": "id"}}})").message(),
              "property names in the mapping of field \"t\" must not be empty");

    EXPECT_EQ(parse_error(R"({"x": {"array": "a", "items": []}})").message(), "\"items\" of field \"x\" must be an object, not an array");
    EXPECT_EQ(parse_error(R"({"x": {"array": "a", "items": {}}})").message(), "\"items\" of field \"x\" has no properties");
    EXPECT_EQ(parse_error(R"({"x": {"array": "a", "items": {"sku": 1}}})").message(),
              "mapping of field \"x[].sku\" must be a property name or an object, not a number");
    Error error = parse_error(R"({"x": {"array": "a", "items": {"sku": {"prop": "id", "valeu": 1}}}})");
    EXPECT_EQ(error.message(), "mapping of field \"x[].sku\" has unknown key \"valeu\"");
    EXPECT_EQ(error.hint(), "Did you mean \"value\"?");
    EXPECT_EQ(parse_error(R"({"x": {"array": "a", "items": {"sku": {"prop": "id", "value": 1}}}})").message(),
              "mapping of field \"x[].sku\" combines \"prop\" and \"value\"");
    EXPECT_EQ(parse_error(R"({"x": {"array": "a", "items": {"sku": {"sync_nulls": true}}}})").message(),
              "mapping of field \"x[].sku\" does not say which value to send");
    EXPECT_EQ(parse_error(R"({"x": {"array": "a", "items": {"sku": "a..b"}}})").message(),
              "property path \"a..b\" of field \"x[].sku\" is not valid");
    EXPECT_EQ(parse_error(R"({"x": {"array": "a", "items": {"sku": {"prop": 5}}}})").message(),
              "\"prop\" of field \"x[].sku\" must be a string, not a number");
}

TEST(FieldMappingValidate, FreeFieldsAcceptAnyKeyAndReportTheColumnsUsed) {
    const ActionDef &send = *webhook().find_action("send");
    EXPECT_EQ(validate(R"({"anything": "email", "nested": {"object": {"x": "id", "y": {"template": "{{plan}}-{{id}}"}}},
                           "list": {"array": "tags", "items": {"t": "name"}}, "whole": {"select_object": "profile"},
                           "static": {"value": {"a": 1}}, "meta": {"meta": "change"}})",
                       send),
              (Names{"email", "id", "plan", "profile", "tags"}));
    EXPECT_EQ(referenced_columns(json(R"({"a": "n", "b": {"column": "doc", "path": "x"}, "c": "n"})").get()),
              (Names{"doc", "n"}));
}

TEST(FieldMappingValidate, FieldsOfTheAction) {
    EXPECT_EQ(validate(R"({"userId": "id", "traits": "profile", "timestamp": "signed_up"})", identify()),
              (Names{"id", "profile", "signed_up"}));
    Error error = validation_error(R"({"userid": "id"})", identify());
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "action \"identify\" has no field \"userid\"");
    EXPECT_EQ(error.hint(), "Did you mean \"userId\"?");
    EXPECT_EQ(validation_error(R"({"colour": "id"})", identify()).hint(),
              "The fields of action \"identify\" are \"userId\", \"anonymousId\", \"traits\" and \"timestamp\".");
    error = validation_error(R"({"traits": "profile"})", identify());
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "action \"identify\" requires field \"userId\" or \"anonymousId\" to be mapped");
    error = validation_error(R"({"userId": "id"})", *segment().find_action("track"));
    EXPECT_EQ(error.message(), "required field \"event\" of action \"track\" is not mapped");
}

TEST(FieldMappingValidate, ColumnsOfTheModel) {
    Error error = validation_error(R"({"userId": "idd"})", identify());
    EXPECT_EQ(error.sqlstate(), "42703");
    EXPECT_EQ(error.message(), "field \"userId\" refers to column \"idd\", which the model does not have");
    EXPECT_EQ(error.hint(), "Did you mean \"id\"?");
    error = validation_error(R"({"userId": "xyz"})", identify());
    EXPECT_EQ(error.hint(),
              "The model's columns are \"id\", \"email\", \"profile\", \"tags\", \"plan\", \"signed_up\", \"n\", "
              "\"doc\" and \"total\".");
    error = validation_error(R"({"userId": {"template": "u-{{ idd }}"}})", identify());
    EXPECT_EQ(error.sqlstate(), "42703");
    EXPECT_EQ(error.detail(), "The template uses it in the placeholder \"{{idd}}\".");
    EXPECT_EQ(validation_error(R"({"userId": "id", "traits": {"object": {"p": "nope"}}})", identify()).message(),
              "field \"traits.p\" refers to column \"nope\", which the model does not have");
    // Hints list at most 20 columns.
    std::vector<Column> many;
    for (int i = 0; i < 25; ++i)
        many.push_back({"c" + std::to_string(i), "text"});
    error = error_of([&] { validate_field_mapping(json(R"({"userId": "zzzz"})").get(), identify(), many); });
    EXPECT_NE(error.hint().find("\"c19\" and 5 more."), std::string::npos) << error.hint();
    error = error_of([&] { validate_field_mapping(json(R"({"userId": "zzzz"})").get(), identify(), {}); });
    EXPECT_EQ(error.hint(), "The model has no columns.");
}

TEST(FieldMappingValidate, WhatASpecBuildsMustFitTheField) {
    Error error = validation_error(R"({"userId": "id", "traits": {"template": "x"}})", identify());
    EXPECT_EQ(error.sqlstate(), "42804");
    EXPECT_EQ(error.message(), "field \"traits\" takes an object, but \"template\" builds a string");
    EXPECT_EQ(validation_error(R"({"userId": "id", "traits": {"meta": "run_id"}})", identify()).message(),
              "field \"traits\" takes an object, but \"meta\" builds a number");
    error = validation_error(R"({"userId": "id", "traits": {"select_array": "tags"}})", identify());
    EXPECT_EQ(error.sqlstate(), "42804");
    EXPECT_EQ(error.message(), "field \"traits\" takes an object, but \"select_array\" builds an array");
    EXPECT_EQ(error.hint(), "Use {\"object\": {...}} or {\"select_object\": \"column\"} for an object field.");
    EXPECT_EQ(validation_error(R"({"userId": {"object": {"a": "id"}}})", identify()).message(),
              "field \"userId\" takes a string, but \"object\" builds an object");
    // Whole columns that cannot hold a JSON object or array.
    error = validation_error(R"({"userId": "id", "traits": "n"})", identify());
    EXPECT_EQ(error.sqlstate(), "42804");
    EXPECT_EQ(error.message(), "field \"traits\" expects a JSON object in column \"n\", whose type is integer");
    EXPECT_EQ(validation_error(R"({"userId": "id", "traits": "tags"})", identify()).message(),
              "field \"traits\" expects a JSON object in column \"tags\", whose type is text[]");
    EXPECT_EQ(validation_error(R"({"userId": "id", "traits": {"select_object": "total"}})", identify()).message(),
              "field \"traits\" expects a JSON object in column \"total\", whose type is numeric(10,2)");
    EXPECT_EQ(validation_error(R"({"a": {"select_array": "signed_up"}})", *webhook().find_action("send")).message(),
              "field \"a\" expects a JSON array in column \"signed_up\", whose type is timestamp with time zone");
    // Text columns may hold JSON; so may a path's target: left to sync time.
    EXPECT_NO_THROW(validate(R"({"userId": "id", "traits": "email"})", identify()));
    EXPECT_NO_THROW(validate(R"({"userId": "id", "traits": {"column": "doc", "path": "t"}})", identify()));
    // Paths read JSON held in json, jsonb, text and varchar columns only.
    error = validation_error(R"({"userId": {"column": "id", "path": "a.b"}})", identify());
    EXPECT_EQ(error.sqlstate(), "42804");
    EXPECT_EQ(error.message(), "field \"userId\" reads path \"a.b\" from column \"id\", whose type is bigint");
    EXPECT_NO_THROW(validate(R"({"userId": {"column": "plan", "path": "a"}})", identify()));
    EXPECT_EQ(validation_error(R"({"userId": {"template": "{{signed_up.year}}"}})", identify()).message(),
              "field \"userId\" reads path \"year\" from column \"signed_up\", whose type is timestamp with time zone");
}

TEST(FieldMappingValidate, StaticValuesMustConvertToTheFieldType) {
    Error error = validation_error(R"({"userId": {"value": {"a": 1}}})", identify());
    EXPECT_EQ(error.sqlstate(), "42804");
    EXPECT_EQ(error.message(), "field \"userId\": a JSON object cannot be sent as a string");
    EXPECT_EQ(error.hint(), "Field \"userId\" of action \"identify\" takes a string.");
    error = validation_error(R"({"userId": "id", "timestamp": {"value": "yesterday"}})", identify());
    EXPECT_EQ(error.message(), "field \"timestamp\": the string \"yesterday\" is not an ISO 8601 date or date-time");
    EXPECT_EQ(error.hint(), "Field \"timestamp\" of action \"identify\" takes a datetime.");
    // Numbers convert with the digits written: 123456789012345678901234567890 is a fine userId.
    EXPECT_NO_THROW(validate(R"({"userId": {"value": 123456789012345678901234567890}})", identify()));
    EXPECT_NO_THROW(validate(R"({"userId": {"value": null}})", identify()));
    // Without the written text (nullptr) static values are not checked.
    EXPECT_NO_THROW(validate_field_mapping(json(R"({"userId": {"value": {"a": 1}}})").get(), identify(), kColumns));
}

TEST(FieldMappingValidate, NullsAndFixedObjectProperties) {
    const DestinationType type = parse_destination_type(R"({
        "type": "strict", "name": "Strict", "description": "A test type.",
        "settings": [{"key": "url", "type": "string", "required": true, "description": "Where."}],
        "request": {"method": "POST", "url": "{{settings.url}}", "body": "array"},
        "actions": [{"key": "put", "name": "Put", "description": "Puts.",
                     "sync_modes": ["upsert"], "default_sync_mode": "upsert",
                     "fields": [{"key": "address", "type": "object", "description": "A place.",
                                 "properties": ["street", "city"]},
                                {"key": "lines", "type": "array", "description": "Lines."},
                                {"key": "id", "type": "integer", "required": true, "description": "Key."}],
                     "max_batch_records": 10, "nulls_allowed": false}]})");
    const ActionDef &put = type.actions.front();
    EXPECT_NO_THROW(validate(R"({"id": "n", "address": {"object": {"city": "plan"}},
                                "lines": {"array": "tags", "items": {"sku": "s", "qty": {"value": 1}}}})",
                             put));
    Error error = validation_error(R"({"id": "n", "address": {"object": {"citty": "plan"}}})", put);
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "field \"address\" does not accept property \"citty\"");
    EXPECT_EQ(error.hint(), "Did you mean \"city\"?");
    EXPECT_EQ(validation_error(R"({"id": "n", "address": {"object": {"zip": "plan"}}})", put).hint(),
              "Its properties are \"street\" and \"city\".");
    error = validation_error(R"({"id": {"column": "n", "sync_nulls": true}})", put);
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "\"sync_nulls\" cannot be true for field \"id\"");
    EXPECT_EQ(error.detail(), "Action \"put\" never sends null values to its destination: they are always left out.");
    EXPECT_EQ(validation_error(R"({"id": "n", "lines": {"array": "tags", "items": {"sku": {"prop": "s", "sync_nulls": true}}}})",
                               put)
                  .message(),
              "\"sync_nulls\" cannot be true for field \"lines[].sku\"");
    EXPECT_NO_THROW(validate(R"({"id": {"column": "n", "sync_nulls": false}})", put));
    EXPECT_EQ(validation_error(R"({"id": {"value": 4.5}})", put).message(), "field \"id\": 4.5 is not an integer");
}

TEST(FieldMappingValidate, BaseTypes) {
    EXPECT_EQ(base_type("numeric(10,2)"), "numeric");
    EXPECT_EQ(base_type("timestamp(3) with time zone"), "timestamp with time zone");
    EXPECT_EQ(base_type("character varying(64)[]"), "character varying[]");
    EXPECT_EQ(base_type("text"), "text");
}

}  // namespace
}  // namespace reverse_etl::catalog
