// Intercom and Slack (src/destinations/intercom.json, slack.json), and the
// definition features they brought: {{object_id}} in a URL, a body of
// "none", answers read as one record's result ("single"), and a lookup that
// creates the records it does not find ("missing": "add").
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/action_settings.hpp"
#include "catalog/destination_type.hpp"
#include "destinations/request_builder.hpp"
#include "destinations/response_reader.hpp"
#include "http/http_text.hpp"
#include "test_support.hpp"

namespace reverse_etl::destinations {
namespace {

using catalog::DestinationType;
using catalog::LookupDef;
using catalog::parse_destination_type;
using test::error_of;
using test::json;
using test::shipped_type;
using Verdict = AnswerReading::Verdict;

const char *kSettings = R"({"access_token": "tok", "endpoint": "http://127.0.0.1:9"})";

catalog::ActionDef contact(const std::string &action_settings = "{}") {
    return catalog::bind_action_settings(*shipped_type("intercom").find_action("contact"),
                                         json(action_settings).get());
}

OutgoingRecord record(const std::string &id, const std::string &payload, const std::string &object_id = {}) {
    return OutgoingRecord{id, payload, "retl-1-" + id + "-v1", object_id};
}

TEST(Intercom, UpsertUpdatesByTheKeptIdAndLooksTheOthersUp) {
    const DestinationType &type = shipped_type("intercom");
    const catalog::ActionDef action = contact();
    EXPECT_EQ(action.key_field, "external_id");
    const RequestBuilder upserts(type, action, json(kSettings).get(), "upsert");
    EXPECT_EQ(upserts.max_records_per_request(), 1u);
    const std::vector<OutgoingRecord> input = {
        record("1", R"({"external_id":"u1","email":"a@x.io","signed_up_at":"2021-04-18T03:27:57+00:00"})", "c1"),
        record("2", R"({"external_id":"u/2"})")};
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> requests = upserts.plan(input, &invalid);
    ASSERT_EQ(requests.size(), 1u);
    const http::HttpRequest &put = requests[0].request;
    EXPECT_EQ(put.method, "PUT");
    EXPECT_EQ(put.url, "http://127.0.0.1:9/contacts/c1");
    EXPECT_EQ(*http::find_header(put.headers, "Authorization"), "Bearer tok");
    EXPECT_EQ(*http::find_header(put.headers, "Intercom-Version"), "2.14");
    EXPECT_EQ(put.body, R"({"external_id":"u1","email":"a@x.io","signed_up_at":1618716477})");
    // Without a kept id the URL cannot be made: the lookup finds it first.
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].reason, "the destination has given no id for the record yet");

    const catalog::OperationDef &upsert = action.operations.at("upsert");
    ASSERT_TRUE(upsert.lookup);
    EXPECT_EQ(upsert.lookup->missing, LookupDef::Missing::Add);
    const RequestBuilder search(type, action, json(kSettings).get(), *upsert.lookup);
    const PlannedRequest found = search.build(input, {1});
    EXPECT_EQ(found.request.method, "POST");
    EXPECT_EQ(found.request.url, "http://127.0.0.1:9/contacts/search");
    EXPECT_EQ(found.request.body, R"({"query":{"field":"external_id","operator":"=","value":"u/2"}})");
    const AnswerReading reading = read_answer(
        search.response(), 200, R"({"type":"list","data":[{"type":"contact","id":"c2","external_id":"U/2"}],"total_count":1})",
        1, {search.record_key(input[1])});
    ASSERT_EQ(reading.verdict, Verdict::PerRecord);
    EXPECT_EQ(reading.outcomes[0].fate, RecordFate::Delivered);
    EXPECT_EQ(reading.outcomes[0].object_id, "c2");
    // Nothing found: the record is not named, and goes to the create.
    const AnswerReading none =
        read_answer(search.response(), 200, R"({"type":"list","data":[],"total_count":0})", 1, {"u/2"});
    ASSERT_EQ(none.verdict, Verdict::PerRecord);
    EXPECT_TRUE(none.outcomes[0].object_id.empty());

    const RequestBuilder creates(type, action, json(kSettings).get(), "add");
    const PlannedRequest created = creates.build(input, {1});
    EXPECT_EQ(created.request.method, "POST");
    EXPECT_EQ(created.request.url, "http://127.0.0.1:9/contacts");
    EXPECT_EQ(created.request.body, R"({"external_id":"u/2"})");
    const AnswerReading answer =
        read_answer(creates.response(), 200, R"({"type":"contact","id":"c9","external_id":"u/2"})", 1);
    ASSERT_EQ(answer.verdict, Verdict::PerRecord);
    EXPECT_EQ(answer.outcomes[0].object_id, "c9");
    // A conflict is the status's business: the record is rejected with Intercom's words.
    EXPECT_EQ(read_answer(creates.response(), 409,
                          R"({"type":"error.list","errors":[{"code":"conflict","message":"A contact matching those details already exists with id=c2"}]})",
                          1)
                  .verdict,
              Verdict::Status);
}

TEST(Intercom, ContactsByEmailAndDeletesWithoutABody) {
    const DestinationType &type = shipped_type("intercom");
    const catalog::ActionDef action = contact(R"({"identify_by": "email"})");
    EXPECT_EQ(action.key_field, "email");
    const RequestBuilder search(type, action, json(kSettings).get(), *action.operations.at("delete").lookup);
    const std::vector<OutgoingRecord> input = {record("1", R"({"email":"a@x.io"})"),
                                               record("2", R"({"email":"b@x.io"})", "c2")};
    EXPECT_EQ(search.build(input, {0}).request.body, R"({"query":{"field":"email","operator":"=","value":"a@x.io"}})");
    EXPECT_EQ(action.operations.at("delete").lookup->missing, LookupDef::Missing::Delivered);
    EXPECT_EQ(action.operations.at("update").lookup->missing, LookupDef::Missing::Rejected);

    const RequestBuilder deletes(type, action, json(kSettings).get(), "delete");
    const PlannedRequest deleted = deletes.build(input, {1});
    EXPECT_EQ(deleted.request.method, "DELETE");
    EXPECT_EQ(deleted.request.url, "http://127.0.0.1:9/contacts/c2");
    EXPECT_EQ(deleted.request.body, "");
    EXPECT_FALSE(deletes.element(input[0]).valid);
}

TEST(Intercom, CompaniesAreCreatedOrUpdatedByCompanyId) {
    const DestinationType &type = shipped_type("intercom");
    const RequestBuilder companies(type, *type.find_action("company"),
                                   json(R"({"access_token": "tok", "api_version": "2.11"})").get());
    const PlannedRequest request = companies.build(
        {record("1", R"({"company_id":"acme","name":"Acme","size":12,"remote_created_at":"1970-01-02"})")}, {0});
    EXPECT_EQ(request.request.url, "https://api.intercom.io/companies");
    EXPECT_EQ(*http::find_header(request.request.headers, "Intercom-Version"), "2.11");
    EXPECT_EQ(request.request.body, R"({"company_id":"acme","name":"Acme","size":12,"remote_created_at":86400})");
}

TEST(Slack, OneMessageAPostToTheSecretWebhook) {
    const DestinationType &type = shipped_type("slack");
    const catalog::ActionDef &action = *type.find_action("message");
    const RequestBuilder messages(type, action,
                                  json(R"({"webhook_url": "http://127.0.0.1:9/services/T1/B2/sekrit"})").get());
    EXPECT_EQ(messages.max_records_per_request(), 1u);
    ASSERT_TRUE(messages.rate_limit());
    const PlannedRequest request =
        messages.build({record("1", R"({"text":"Ann signed up","blocks":[{"type":"divider"}]})")}, {0});
    EXPECT_EQ(request.request.url, "http://127.0.0.1:9/services/T1/B2/sekrit");
    EXPECT_EQ(request.request.body, R"({"text":"Ann signed up","blocks":[{"type":"divider"}]})");
    EXPECT_EQ(messages.masked(request.request).url, "********");
    const catalog::ResponseSpec &answers = messages.response();
    EXPECT_EQ(read_answer(answers, 200, "ok", 1).verdict, Verdict::Status);
    EXPECT_EQ(read_answer(answers, 200, "not ok", 1).verdict, Verdict::BodyFailed);
    EXPECT_EQ(read_answer(answers, 400, "invalid_payload", 1).verdict, Verdict::Status);
    EXPECT_EQ(read_answer(answers, 404, "channel_not_found", 1).verdict, Verdict::Fatal);
    EXPECT_EQ(read_answer(answers, 404, "no_service", 1).verdict, Verdict::Fatal);
    EXPECT_EQ(read_answer(answers, 410, "channel_is_archived", 1).verdict, Verdict::Fatal);
}

DestinationType features(const std::string &operations, const std::string &response = "") {
    return parse_destination_type(R"({
        "type": "ids", "name": "Ids", "description": "A test type.",
        "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Where."}],
        "request": {"method": "POST", "url": "{{settings.endpoint}}/things", "body": "record")" +
                                  response + R"(},
        "actions": [{"key": "put", "name": "Put", "description": "Puts.",
                     "sync_modes": ["upsert", "update", "add", "delete"], "default_sync_mode": "upsert",
                     "fields": [{"key": "id", "type": "string", "description": "Id."}],
                     "key_field": "id", "max_batch_records": 5, "operations": )" +
                                  operations + "}]}");
}

const char *kLookup = R"({"request": {"url": "{{settings.endpoint}}/find", "response": {"records": )"
                      R"({"kind": "keyed_results", "status": [200], "list": "r", "object_id": "oid"}}}, "missing": )";

TEST(DefinitionFeatures, ObjectIdInTheUrlAndNoBody) {
    const DestinationType type =
        features(R"({"delete": {"request": {"method": "DELETE", "url": "{{settings.endpoint}}/things/{{object_id}}", "body": "none"}}})");
    const RequestBuilder deletes(type, type.actions[0], json(R"({"endpoint": "http://h"})").get(), "delete");
    EXPECT_EQ(deletes.max_records_per_request(), 1u);
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> planned =
        deletes.plan({record("1", R"({"id":"a"})", "x y"), record("2", R"({"id":"b"})")}, &invalid);
    ASSERT_EQ(planned.size(), 1u);
    EXPECT_EQ(planned[0].request.url, "http://h/things/x%20y");   // one path segment
    EXPECT_EQ(planned[0].request.body, "");
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].index, 1u);
}

TEST(DefinitionFeatures, SingleAnswersAndLookupsThatCreate) {
    const DestinationType type = features(std::string(R"({"upsert": {"lookup": )") + kLookup + R"("add"}}})",
                                          R"(, "response": {"records": {"kind": "single", "status": [200, 201], "object_id": "data.id"}})");
    EXPECT_EQ(type.actions[0].operations.at("upsert").lookup->missing, LookupDef::Missing::Add);
    const catalog::ResponseSpec &spec = type.actions[0].request.response;
    const AnswerReading created = read_answer(spec, 201, R"({"data":{"id":7}})", 1);
    ASSERT_EQ(created.verdict, Verdict::PerRecord);
    EXPECT_EQ(created.outcomes[0].fate, RecordFate::Delivered);
    EXPECT_EQ(created.outcomes[0].object_id, "7");
    // No id in the answer: delivered all the same; another status: the status rules.
    EXPECT_EQ(read_answer(spec, 200, R"({"data":{}})", 1).outcomes.at(0).object_id, "");
    EXPECT_EQ(read_answer(spec, 409, R"({"data":{"id":7}})", 1).verdict, Verdict::Status);
    EXPECT_EQ(read_answer(spec, 200, "[]", 2).verdict, Verdict::Status);

    const std::string prefix = "invalid definition of destination type \"ids\": actions[0].";
    EXPECT_EQ(error_of([&] { features(std::string(R"({"delete": {"lookup": )") + kLookup + R"("add"}}})"); }).message(),
              prefix + "operations.delete.lookup.missing may be \"add\" only for the upsert operation");
    EXPECT_EQ(error_of([&] { features(std::string(R"({"delete": {"lookup": )") + kLookup + R"("create"}}})"); })
                  .message(),
              prefix + "operations.delete.lookup.missing must be \"delivered\", \"rejected\" or \"add\"");
    const std::string top = "invalid definition of destination type \"ids\": request.";
    EXPECT_EQ(error_of([&] { features("{}", R"(, "response": {"records": {"kind": "single", "status": [200]}})"); })
                  .message(),
              top + "response.records.object_id is required for kind \"single\"");
    EXPECT_EQ(error_of([&] {
                  features("{}", R"(, "response": {"records": {"kind": "single", "status": [409], "object_id": "id"}})");
              }).message(),
              top + "response.records.status must list success statuses for kind \"single\"");
    EXPECT_EQ(error_of([&] { features(R"({"delete": {"request": {"body": "none", "batch_size": 2}}})"); }).message(),
              prefix + "operations.delete.request.body \"none\" sends one record per request: batch_size must be "
                       "absent or 1");
}

}  // namespace
}  // namespace reverse_etl::destinations
