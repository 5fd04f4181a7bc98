// Mailchimp (src/destinations/mailchimp.json) and the definition features it
// brought: a setting's default made from another setting ("default_from": the
// data center of the API key), the |md5_lower URL filter (the subscriber
// hash), JSON true as a wrapped body's member, and keyed_results errors that
// name their record by one key rather than a list.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/destination_type.hpp"
#include "catalog/settings.hpp"
#include "destinations/request_builder.hpp"
#include "destinations/response_reader.hpp"
#include "http/crypto.hpp"
#include "http/http_text.hpp"
#include "test_support.hpp"

namespace reverse_etl::destinations {
namespace {

using catalog::DestinationType;
using catalog::parse_destination_type;
using test::error_of;
using test::json;
using test::shipped_type;
using Verdict = AnswerReading::Verdict;

OutgoingRecord record(const std::string &id, const std::string &payload) {
    return OutgoingRecord{id, payload, "retl-1-" + id + "-v1", {}};
}

std::string endpoint_of(const std::string &settings) {
    const JsonPtr value = catalog::effective_setting(shipped_type("mailchimp"), json(settings).get(), "endpoint");
    return value ? json_string_value(value.get()) : "(unset)";
}

TEST(Crypto, Md5Hex) {
    EXPECT_EQ(http::md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(http::md5_hex("ada@example.com"), "3e3417d7ef77d5932a6734b916515ed5");
}

TEST(Mailchimp, TheEndpointComesFromTheKeysDataCenter) {
    EXPECT_EQ(endpoint_of(R"({"api_key": "0123abcd-us6", "audience_id": "a1"})"), "https://us6.api.mailchimp.com/3.0");
    // The last '-' counts; a set endpoint wins.
    EXPECT_EQ(endpoint_of(R"({"api_key": "a-b-us21"})"), "https://us21.api.mailchimp.com/3.0");
    EXPECT_EQ(endpoint_of(R"({"api_key": "k-us6", "endpoint": "http://127.0.0.1:9"})"), "http://127.0.0.1:9");
    // No data center, or one that is not letters and digits (it would name
    // another host): unset, and a request says so.
    EXPECT_EQ(endpoint_of(R"({"api_key": "0123abcd"})"), "(unset)");
    EXPECT_EQ(endpoint_of(R"({"api_key": "k-"})"), "(unset)");
    EXPECT_EQ(endpoint_of(R"({"api_key": "k-evil.example/x?"})"), "(unset)");
    EXPECT_EQ(endpoint_of(R"({})"), "(unset)");
}

TEST(Mailchimp, UpsertsInBatchesToTheDataCentersHost) {
    const DestinationType &type = shipped_type("mailchimp");
    const catalog::ActionDef &action = *type.find_action("audience_member");
    const RequestBuilder upserts(type, action, json(R"({"api_key": "k3y-us6", "audience_id": "a/1"})").get(), "upsert");
    EXPECT_EQ(upserts.max_records_per_request(), 500u);
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> planned = upserts.plan(
        {record("1", R"({"email_address":"Ada@Example.com","status":"subscribed","merge_fields":{"FNAME":"Ada"}})"),
         record("2", R"({"email_address":"bob@example.com","status":"pending","timestamp_signup":"2026-01-05T00:00:00Z"})")},
        &invalid);
    EXPECT_TRUE(invalid.empty());
    ASSERT_EQ(planned.size(), 1u);
    const http::HttpRequest &post = planned[0].request;
    EXPECT_EQ(post.method, "POST");
    EXPECT_EQ(post.url, "https://us6.api.mailchimp.com/3.0/lists/a%2F1");
    EXPECT_EQ(*http::find_header(post.headers, "Authorization"), "Basic " + http::base64_encode("reverse_etl:k3y-us6"));
    EXPECT_EQ(post.body,
              R"({"update_existing":true,"members":[{"email_address":"Ada@Example.com","status":"subscribed","merge_fields":{"FNAME":"Ada"}},)"
              R"({"email_address":"bob@example.com","status":"pending","timestamp_signup":"2026-01-05T00:00:00Z"}]})");
    EXPECT_EQ(upserts.record_key(record("1", R"({"email_address":"Ada@Example.com"})")), "Ada@Example.com");
}

TEST(Mailchimp, ErrorsAreMappedBackByEmail) {
    const catalog::ResponseSpec &spec =
        shipped_type("mailchimp").find_action("audience_member")->request.response;
    const AnswerReading reading = read_answer(
        spec, 200,
        R"({"new_members":[{"id":"x","email_address":"ada@example.com","status":"subscribed"}],"updated_members":[],)"
        R"("errors":[{"email_address":"bad@example","error":"bad@example looks fake or invalid","error_code":"ERROR_GENERIC"}],)"
        R"("total_created":1,"total_updated":0,"error_count":1})",
        3, {"Ada@Example.com", "bad@example", "cy@example.com"});
    ASSERT_EQ(reading.verdict, Verdict::PerRecord);
    EXPECT_EQ(reading.outcomes[0].fate, RecordFate::Delivered);
    EXPECT_EQ(reading.outcomes[1].fate, RecordFate::Rejected);
    EXPECT_EQ(reading.outcomes[1].message, "ERROR_GENERIC: bad@example looks fake or invalid");
    EXPECT_EQ(reading.outcomes[2].fate, RecordFate::Delivered);   // updated: not named
    // An error for an address the request did not carry is pinned on no one.
    EXPECT_EQ(read_answer(spec, 200, R"({"new_members":[],"errors":[{"email_address":"z@z.io","error":"x"}]})", 1,
                          {"a@b.io"})
                  .verdict,
              Verdict::BodyFailed);
}

TEST(Mailchimp, DeletesArchiveByTheSubscriberHash) {
    const DestinationType &type = shipped_type("mailchimp");
    const RequestBuilder deletes(type, *type.find_action("audience_member"),
                                 json(R"({"api_key": "k-us6", "audience_id": "a1", "endpoint": "http://h/3.0"})").get(),
                                 "delete");
    EXPECT_EQ(deletes.max_records_per_request(), 1u);
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> planned =
        deletes.plan({record("1", R"({"email_address":"Ada@Example.COM","status":null})"),
                      record("2", R"({"email_address":null})")},
                     &invalid);
    ASSERT_EQ(planned.size(), 1u);
    EXPECT_EQ(planned[0].request.method, "DELETE");
    EXPECT_EQ(planned[0].request.url, "http://h/3.0/lists/a1/members/" + http::md5_hex("ada@example.com"));
    EXPECT_EQ(planned[0].request.body, "");
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].reason, "the URL's placeholder {{fields.email_address}} has no value: the field is null or not mapped");
}

const char *kType = R"({"type": "t", "name": "T", "description": "d",
  "settings": [{"key": "key", "type": "string", "required": true, "secret": true, "description": "k"},
               {"key": "endpoint", "type": "string", "description": "e"%s}],
  "request": {"method": "POST", "url": "%s", "body": %s},
  "actions": [{"key": "a", "name": "A", "description": "d", "sync_modes": ["upsert"], "default_sync_mode": "upsert",
               "fields": [{"key": "email", "type": "string", "description": "e"}], "max_batch_records": 1}]})";

DestinationType custom(const std::string &endpoint_extra, const std::string &url = "{{settings.endpoint}}/x",
                       const std::string &body = R"("record")") {
    std::string text = kType;
    for (const std::string &piece : {endpoint_extra, url, body})
        text.replace(text.find("%s"), 2, piece);
    return parse_destination_type(text);
}

TEST(DefinitionFeatures, DefaultFromFiltersAndLiteralMembersAreChecked) {
    const std::string prefix = "invalid definition of destination type \"t\": ";
    EXPECT_EQ(error_of([] { custom(R"(, "default_from": {"setting": "nope", "after_last": "-", "template": "{{value}}"})"); })
                  .message(),
              prefix + "settings[1].default_from.setting names unknown setting \"nope\"");
    EXPECT_EQ(error_of([] { custom(R"(, "default_from": {"setting": "key", "after_last": "-", "template": "x"})"); })
                  .message(),
              prefix + "settings[1].default_from.template must contain {{value}} exactly once and no other placeholder");
    EXPECT_EQ(error_of([] { custom(R"(, "default": "x", "default_from": {"setting": "key", "after_last": "-", "template": "{{value}}"})"); })
                  .message(),
              prefix + "settings[1].default_from is only allowed on a string setting that is not required and has no default");
    // The filter goes only in a URL, and only on a record's value.
    EXPECT_EQ(error_of([] { custom("", "{{settings.endpoint}}/x/{{settings.key|md5_lower}}"); }).message(),
              prefix + "request.url uses unknown placeholder \"{{settings.key|md5_lower}}\" (use {{record_id}}, "
                       "{{message_id}}, {{message_uuid}}, {{settings.KEY}}, {{action_settings.KEY}}, {{fields.NAME}}, "
                       "{{key_field}} or {{key}})");
    EXPECT_EQ(error_of([] { custom("", "{{settings.endpoint}}/x", R"({"wrap": "w", "members": {"k": "{{fields.email|md5_lower}}"}})"); })
                  .message(),
              prefix + "request.body.members.k uses a filter (|md5_lower), which only a URL may use");
    const DestinationType type = custom("", "{{settings.endpoint}}/x/{{fields.email|md5_lower}}",
                                        R"({"wrap": "w", "members": {"t": true, "f": false, "s": "true"}})");
    const RequestBuilder builder(type, type.actions[0], json(R"({"key": "k", "endpoint": "http://h"})").get(), "upsert");
    const PlannedRequest planned = builder.build({record("1", R"({"email":"A@B.io"})")}, {0});
    EXPECT_EQ(planned.request.url, "http://h/x/" + http::md5_hex("a@b.io"));
    EXPECT_EQ(planned.request.body, R"({"t":true,"f":false,"s":"true","w":[{"email":"A@B.io"}]})");
}

}  // namespace
}  // namespace reverse_etl::destinations
