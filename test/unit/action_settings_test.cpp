// Action settings (catalog/action_settings): declared per action in a
// definition, given per mapping, put into request templates and key_field.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/action_settings.hpp"
#include "catalog/destination_type.hpp"
#include "destinations/request_builder.hpp"
#include "http/http_text.hpp"
#include "test_support.hpp"

namespace reverse_etl::catalog {
namespace {

using destinations::OutgoingRecord;
using destinations::RequestBuilder;
using test::error_of;
using test::json;

// A many-object action: the type's URL names the object by an action setting;
// "contact" declares none and has a URL of its own. Placeholders are spliced
// in by the tests that break the definition.
std::string definition(const std::string &action_settings_json = "", const std::string &contact_url = "") {
    const std::string settings = action_settings_json.empty() ? R"([
        {"key": "object_type", "type": "string", "required": true, "description": "The object."},
        {"key": "id_property", "type": "string", "default": "email", "description": "The unique property."},
        {"key": "priority", "type": "integer", "default": 5, "minimum": 1, "maximum": 9, "description": "A number."},
        {"key": "dry_run", "type": "boolean", "default": false, "description": "A flag."},
        {"key": "region", "type": "string", "enum": ["eu", "us"], "description": "An enum, in no template."}])"
                                                              : action_settings_json;
    const std::string url = contact_url.empty() ? R"("url": "{{settings.endpoint}}/contacts",)" : contact_url;
    return R"({"type": "objects_test", "name": "Objects, test only", "description": "Test only.",
      "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Base URL."}],
      "request": {"method": "POST", "url": "{{settings.endpoint}}/objects/{{action_settings.object_type}}/batch",
                  "body": {"wrap": "inputs"},
                  "headers": {"Content-Type": "application/json", "X-Object": "{{ action_settings.object_type }}"},
                  "query": {"priority": "{{action_settings.priority}}"}},
      "actions": [
        {"key": "custom_object", "name": "Upsert Custom Object", "description": "Any object.",
         "settings": )" + settings + R"(,
         "sync_modes": ["upsert", "delete", "mirror"], "default_sync_mode": "upsert",
         "fields": [{"key": "email", "type": "string", "description": "E-mail."},
                    {"key": "domain", "type": "string", "description": "Domain."},
                    {"key": "name", "type": "string", "description": "Name."}],
         "max_batch_records": 100,
         "element": {"idProperty": "{{action_settings.id_property}}", "properties": "{{fields}}"},
         "key_field": "{{action_settings.id_property}}",
         "operations": {"delete": {
             "request": {"url": "{{settings.endpoint}}/objects/{{action_settings.object_type}}/archive"},
             "element": {"id": "{{fields.email}}", "of": "{{action_settings.object_type}}"}}}},
        {"key": "contact", "name": "Upsert Contact", "description": "Contacts.",
         "sync_modes": ["upsert"], "default_sync_mode": "upsert",
         "fields": [{"key": "email", "type": "string", "required": true, "description": "E-mail."}],
         "max_batch_records": 100,
         "request": {)" + url + R"( "query": {}, "headers": {"Content-Type": "application/json"}}}]})";
}

const DestinationType &objects() {
    static const DestinationType type = parse_destination_type(definition());
    return type;
}

const ActionDef &custom_object() { return *objects().find_action("custom_object"); }

std::string definition_error(const std::string &text) {
    const Error error = error_of([&] { parse_destination_type(text); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    return error.message();
}

Error settings_error(const std::string &settings, const ActionDef &action = custom_object()) {
    const JsonPtr value = json(settings);
    const Error error = error_of([&] { validate_action_settings(objects(), action, value.get()); });
    EXPECT_EQ(error.sqlstate(), "22023") << settings;
    return error;
}

OutgoingRecord record(const std::string &id, const std::string &payload) { return {id, payload, "retl-1-" + id}; }

TEST(ActionSettings, DefinitionsDeclareThem) {
    const ActionDef &action = custom_object();
    ASSERT_EQ(action.settings.size(), 5u);
    EXPECT_EQ(action.settings[0].key, "object_type");
    EXPECT_TRUE(action.settings[0].required);
    EXPECT_EQ(*action.settings[1].default_json, "\"email\"");
    EXPECT_EQ(action.settings[2].type, SettingType::Integer);
    EXPECT_EQ(action.settings[4].allowed_values, (std::vector<std::string>{"eu", "us"}));
    EXPECT_EQ(action.key_field, "");
    EXPECT_EQ(action.key_field_setting, "id_property");
    EXPECT_TRUE(objects().find_action("contact")->settings.empty());
}

TEST(ActionSettings, TemplatesGetTheMappingsValuesAndDefaults) {
    const JsonPtr settings = json(R"({"object_type": "p_pets/1 x", "id_property": "domain"})");
    const ActionDef bound = bind_action_settings(custom_object(), settings.get());
    EXPECT_EQ(bound.key_field, "domain");
    const RequestBuilder upserts(objects(), bound, json(R"({"endpoint": "http://127.0.0.1:9/"})").get(), "upsert");
    const auto requests = upserts.plan({record("1", R"({"email":"a@x","domain":"x.com"})")});
    ASSERT_EQ(requests.size(), 1u);
    const http::HttpRequest &request = requests[0].request;
    // Percent-encoded in the URL (a path segment), as it is in a header; the
    // query's integer setting takes its default.
    EXPECT_EQ(request.url, "http://127.0.0.1:9/objects/p_pets%2F1%20x/batch?priority=5");
    EXPECT_EQ(*http::find_header(request.headers, "X-Object"), "p_pets/1 x");
    EXPECT_EQ(request.body, R"({"inputs":[{"idProperty":"domain","properties":{"email":"a@x","domain":"x.com"}}]})");

    // The delete operation's own URL and element; id_property's default.
    const ActionDef defaulted = bind_action_settings(custom_object(), json(R"({"object_type": "deals", "priority": 2})").get());
    EXPECT_EQ(defaulted.key_field, "email");
    const RequestBuilder deletes(objects(), defaulted, json(R"({"endpoint": "http://127.0.0.1:9"})").get(), "delete");
    const http::HttpRequest deletion = deletes.plan({record("1", R"({"email":"a@x"})")})[0].request;
    EXPECT_EQ(deletion.url, "http://127.0.0.1:9/objects/deals/archive?priority=2");
    EXPECT_EQ(deletion.body, R"({"inputs":[{"id":"a@x","of":"deals"}]})");
}

TEST(ActionSettings, AnUnboundActionOrAMissingValueNeverReachesARequest) {
    // The builder refuses templates whose action settings were not put in.
    const Error unbound = error_of([] { RequestBuilder(objects(), custom_object(), json(R"({"endpoint": "http://h"})").get()); });
    EXPECT_EQ(unbound.sqlstate(), "XX000");
    EXPECT_EQ(unbound.message(), "action setting \"object_type\" is not bound to a mapping");
    // A required setting the stored settings lack (the definition changed since).
    const Error missing = error_of([] { bind_action_settings(custom_object(), json("{}").get()); });
    EXPECT_EQ(missing.sqlstate(), "22023");
    EXPECT_EQ(missing.message(), "action setting \"object_type\" of action \"custom_object\" is not set");
    // An action without settings is its own binding.
    const ActionDef &contact = *objects().find_action("contact");
    const RequestBuilder contacts(objects(), bind_action_settings(contact, json("{}").get()),
                                  json(R"({"endpoint": "http://h"})").get());
    EXPECT_EQ(contacts.plan({record("1", R"({"email":"a@x"})")})[0].request.url, "http://h/contacts");
}

TEST(ActionSettings, ValidationNamesTheKeyAndTheAction) {
    EXPECT_EQ(settings_error("[]").message(), "action_settings must be a JSON object, not an array");
    const Error typo = settings_error(R"({"object_typ": "x"})");
    EXPECT_EQ(typo.message(),
              "unknown action setting \"object_typ\" for action \"custom_object\" of destination type \"objects_test\"");
    EXPECT_EQ(typo.detail(), "Action \"custom_object\" declares \"object_type\", \"id_property\", \"priority\", "
                             "\"dry_run\", and \"region\".");
    EXPECT_EQ(typo.hint(), "Did you mean \"object_type\"?");
    EXPECT_EQ(settings_error(R"({"object_type": "x", "colour": 1})").hint(), "");
    const Error none = settings_error(R"({"object_type": "x"})", *objects().find_action("contact"));
    EXPECT_EQ(none.message(), "action \"contact\" of destination type \"objects_test\" takes no action settings");
    EXPECT_EQ(none.hint(), "Leave action_settings out, or give '{}'.");

    EXPECT_EQ(settings_error(R"({"object_type": 3})").message(), "action setting \"object_type\" must be a string, not an integer");
    EXPECT_EQ(settings_error(R"({"object_type": "x", "priority": "2"})").message(),
              "action setting \"priority\" must be an integer, not a string");
    EXPECT_EQ(settings_error(R"({"object_type": "x", "dry_run": 1})").message(),
              "action setting \"dry_run\" must be a boolean, not an integer");
    const Error null = settings_error(R"({"object_type": "x", "id_property": null})");
    EXPECT_EQ(null.message(), "action setting \"id_property\" must be a string, not null");
    EXPECT_EQ(null.hint(), "Leave \"id_property\" out to use its default.");
    EXPECT_EQ(settings_error(R"({"object_type": "x", "priority": 10})").message(),
              "value 10 is out of range for action setting \"priority\"");
    EXPECT_EQ(settings_error(R"({"object_type": "x", "region": "asia"})").hint(), "Allowed values are \"eu\" and \"us\".");
    EXPECT_EQ(settings_error(R"({"object_type": ""})").message(), "action setting \"object_type\" must not be empty");
    EXPECT_EQ(settings_error(R"({"object_type": "a\r\nX-Evil: 1"})").message(),
              "action setting \"object_type\" must not contain control characters");
    const Error missing = settings_error(R"({"priority": 3})");
    EXPECT_EQ(missing.message(), "missing required action setting \"object_type\" for action \"custom_object\" of "
                                 "destination type \"objects_test\"");
    EXPECT_EQ(missing.hint(), "Set it with action_settings => '{\"object_type\": \"...\"}'.");
    const Error key = settings_error(R"({"object_type": "x", "id_property": "domian"})");
    EXPECT_EQ(key.message(), "action setting \"id_property\" names \"domian\", which is not a field of action "
                             "\"custom_object\" of destination type \"objects_test\"");
    EXPECT_EQ(key.hint(), "Did you mean \"domain\"?");

    EXPECT_NO_THROW(validate_action_settings(objects(), custom_object(),
                                             json(R"({"object_type": "x", "dry_run": true, "region": "eu"})").get()));
    EXPECT_NO_THROW(validate_action_settings(objects(), *objects().find_action("contact"), json("{}").get()));
}

TEST(ActionSettings, AlterMergesKeyByKey) {
    const JsonPtr current = json(R"({"object_type": "a", "priority": 3})");
    const JsonPtr merged = merge_action_settings(current.get(), json(R"({"object_type": "b", "priority": null, "dry_run": true})").get());
    EXPECT_EQ(dump_json(merged.get()), R"({"object_type":"b","dry_run":true})");
    EXPECT_EQ(dump_json(current.get()), R"({"object_type":"a","priority":3})");   // unchanged
    EXPECT_EQ(error_of([&] { merge_action_settings(current.get(), json("1").get()); }).message(),
              "action_settings must be a JSON object, not an integer");
}

TEST(ActionSettings, DefinitionErrors) {
    const auto with_setting = [](const std::string &extra) {
        return definition(R"([{"key": "object_type", "type": "string", "required": true, "description": "d"},
                              {"key": "id_property", "type": "string", "default": "email", "description": "d"},
                              {"key": "priority", "type": "integer", "default": 5, "description": "d"})" +
                          extra + "]");
    };
    EXPECT_EQ(definition_error(with_setting(R"(, {"key": "t", "type": "string", "secret": true, "description": "d"})")),
              "invalid definition of destination type \"objects_test\": actions[0].settings[3].secret is not allowed: "
              "action settings are shown in reverse_etl.mappings and sent as they are, so they cannot be secret");
    EXPECT_EQ(definition_error(with_setting(R"(, {"key": "t", "type": "string", "description": "d", "label": "x"})")),
              "invalid definition of destination type \"objects_test\": actions[0].settings[3] has unknown key "
              "\"label\" (key, type, required, default, description, enum, minimum, maximum)");
    EXPECT_EQ(definition_error(with_setting(R"(, {"key": "t", "type": "object", "description": "d"})")),
              "invalid definition of destination type \"objects_test\": actions[0].settings[3].type must be string, "
              "integer or boolean for an action setting");
    EXPECT_EQ(definition_error(with_setting(R"(, {"key": "priority", "type": "string", "description": "d"})")),
              "invalid definition of destination type \"objects_test\": actions[0].settings[3] repeats key \"priority\"");
    // A template using a setting the action does not declare: the type's URL
    // is inherited by "contact" when it has no URL of its own.
    EXPECT_EQ(definition_error(definition("", " ")),
              "invalid definition of destination type \"objects_test\": actions[1] uses "
              "{{action_settings.object_type}} (in request.url), but the action declares no such setting");
    // Used in a template, a setting must always have a value, and be text.
    EXPECT_EQ(definition_error(definition(R"([{"key": "object_type", "type": "string", "description": "d"},
                                               {"key": "id_property", "type": "string", "default": "email", "description": "d"},
                                               {"key": "priority", "type": "integer", "default": 5, "description": "d"}])")),
              "invalid definition of destination type \"objects_test\": actions[0] uses {{action_settings.object_type}} "
              "(in request.url), which must be required or have a default to always have a value");
    EXPECT_EQ(definition_error(definition(R"([{"key": "object_type", "type": "string", "required": true, "description": "d"},
                                               {"key": "id_property", "type": "string", "default": "email", "description": "d"},
                                               {"key": "priority", "type": "boolean", "default": true, "description": "d"}])")),
              "invalid definition of destination type \"objects_test\": actions[0] uses {{action_settings.priority}} "
              "(in request.query.priority), which is not a string or integer setting");
    // key_field: a declared string setting whose default is a field.
    EXPECT_EQ(definition_error(definition(R"([{"key": "object_type", "type": "string", "required": true, "description": "d"},
                                               {"key": "id_property", "type": "string", "default": "mail", "description": "d"},
                                               {"key": "priority", "type": "integer", "default": 5, "description": "d"}])")),
              "invalid definition of destination type \"objects_test\": actions[0].key_field names action setting "
              "\"id_property\", whose default is not a field of the action");
    EXPECT_EQ(definition_error(definition(R"([{"key": "object_type", "type": "string", "required": true, "description": "d"},
                                               {"key": "priority", "type": "integer", "default": 5, "description": "d"}])")),
              "invalid definition of destination type \"objects_test\": actions[0].key_field uses "
              "{{action_settings.id_property}}, which the action does not declare");
    // Unknown placeholders name the new one among those allowed.
    EXPECT_NE(definition_error(definition("", R"("url": "{{settings.endpoint}}/{{action_setting.x}}",)"))
                  .find("{{action_settings.KEY}}"),
              std::string::npos);
}

// {{key_field}} and {{key}}: one definition for whichever key field the
// mapping's action setting names (HubSpot companies and custom objects).
std::string keyed_definition(const std::string &key_field, const std::string &element) {
    return R"({"type": "keyed_test", "name": "Keyed, test only", "description": "Test only.",
      "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Base URL."}],
      "request": {"method": "POST", "url": "{{settings.endpoint}}/by/{{key_field}}", "body": {"wrap": "inputs"},
                  "response": {"records": {"kind": "keyed_results", "status": [200], "list": "results",
                               "record_key": "{{key}}", "key": "properties.{{key_field}}", "object_id": "id"}}},
      "actions": [
        {"key": "thing", "name": "Upsert Thing", "description": "Things.",
         "settings": [{"key": "id_property", "type": "string", "default": "code", "description": "The key."}],
         "sync_modes": ["upsert"], "default_sync_mode": "upsert", "free_fields": true,
         "fields": [{"key": "code", "type": "string", "description": "A code."}],
         "max_batch_records": 10, )" + key_field + R"(
         "element": )" + element + R"(}]})";
}

TEST(ActionSettings, KeyPlaceholdersTakeTheKeyFieldTheMappingChooses) {
    const std::string element = R"({"id": "{{key}}", "idProperty": "{{key_field}}", "properties": "{{fields}}"})";
    const DestinationType type =
        parse_destination_type(keyed_definition(R"("key_field": "{{action_settings.id_property}}",)", element));
    const ActionDef &thing = *type.find_action("thing");
    // Unbound until a mapping's settings name the field; the builder refuses it so.
    const Error unbound = error_of([&] { RequestBuilder(type, thing, json(R"({"endpoint": "http://h"})").get()); });
    EXPECT_EQ(unbound.sqlstate(), "XX000");

    const ActionDef bound = bind_action_settings(thing, json(R"({"id_property": "serial no"})").get());
    EXPECT_EQ(bound.key_field, "serial no");
    EXPECT_EQ(bound.request.response.records.key, (JsonPath{"properties", "serial no"}));
    ASSERT_EQ(bound.request.response.records.record_key.parts.size(), 1u);
    EXPECT_EQ(bound.request.response.records.record_key.parts[0].kind, RequestTemplatePart::Kind::Field);
    EXPECT_EQ(bound.request.response.records.record_key.parts[0].text, "serial no");
    // The key field becomes a required field, declared or not.
    const FieldSpec *key = bound.find_field("serial no");
    ASSERT_NE(key, nullptr);
    EXPECT_TRUE(key->required);
    EXPECT_FALSE(thing.find_field("code")->required);
    EXPECT_TRUE(bind_action_settings(thing, json("{}").get()).find_field("code")->required);

    const RequestBuilder builder(type, bound, json(R"({"endpoint": "http://h"})").get(), "upsert");
    const http::HttpRequest request = builder.plan({record("1", R"({"serial no":"S-1","name":"n"})")})[0].request;
    EXPECT_EQ(request.url, "http://h/by/serial%20no");
    EXPECT_EQ(request.body, R"({"inputs":[{"id":"S-1","idProperty":"serial no","properties":{"serial no":"S-1","name":"n"}}]})");

    // A key field the definition names is put in as it is read.
    const DestinationType fixed = parse_destination_type(keyed_definition(R"("key_field": "code",)", element));
    EXPECT_EQ(fixed.find_action("thing")->request.response.records.key, (JsonPath{"properties", "code"}));
    const RequestBuilder fixed_builder(fixed, *fixed.find_action("thing"), json(R"({"endpoint": "http://h"})").get());
    EXPECT_EQ(fixed_builder.plan({record("1", R"({"code":"C"})")})[0].request.body,
              R"({"inputs":[{"id":"C","idProperty":"code","properties":{"code":"C"}}]})");

    // Without a key field there is nothing to put in.
    EXPECT_EQ(definition_error(keyed_definition("", element)),
              "invalid definition of destination type \"keyed_test\": actions[0] uses {{key_field}} or {{key}}, "
              "but has no key_field");
    // In a path, only as a whole step.
    const std::string bad_path = keyed_definition(R"("key_field": "code",)", element);
    std::string broken = bad_path;
    broken.replace(broken.find("properties.{{key_field}}"), 24, "properties.x{{key_field}}");
    EXPECT_EQ(definition_error(broken),
              "invalid definition of destination type \"keyed_test\": request.response.records.key "
              "\"properties.x{{key_field}}\" has a placeholder other than a whole step {{key_field}}");
}

}  // namespace
}  // namespace reverse_etl::catalog
