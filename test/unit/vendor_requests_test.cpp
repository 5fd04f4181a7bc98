// What SaaS destination types need beyond the common request shapes: element
// templates (destinations/element_renderer), query and body credentials,
// per-action requests, answers read per record (destinations/response_reader),
// and ISO 8601 times as epoch milliseconds (common/iso8601).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/action_settings.hpp"
#include "catalog/destination_type.hpp"
#include "catalog/key_field_binding.hpp"
#include "common/json_object_view.hpp"
#include "common/iso8601.hpp"
#include "common/json_text.hpp"
#include "destinations/element_renderer.hpp"
#include "destinations/request_builder.hpp"
#include "destinations/response_reader.hpp"
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

TEST(Iso8601, EpochMillis) {
    EXPECT_EQ(iso8601_epoch_millis("1970-01-01"), 0);
    EXPECT_EQ(iso8601_epoch_millis("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(iso8601_epoch_millis("2021-04-18T03:27:57.123456+00:00"), 1618716477123);
    EXPECT_EQ(iso8601_epoch_millis("2021-04-18 05:27:57.1+02:00"), 1618716477100);   // PostgreSQL's own form
    EXPECT_EQ(iso8601_epoch_millis("2021-04-17T22:27:57-0500"), 1618716477000);
    EXPECT_EQ(iso8601_epoch_millis("2021-04-18T03:27+00"), 1618716420000);
    EXPECT_EQ(iso8601_epoch_millis("1969-12-31T23:59:59.999Z"), -1);
    EXPECT_EQ(iso8601_epoch_millis("2024-02-29"), 1709164800000);
    EXPECT_EQ(iso8601_epoch_millis("0001-01-01"), -62135596800000);
    for (const char *bad : {"", "2023-02-29", "2021-13-01", "2021-04-18T24:00:00Z", "2021-04-18T03:27:57.Z",
                            "2021-04-18T03:27:57+16:00", "2021-04-18T03:27:57 UTC", "18/04/2021", "2021-4-18",
                            "0000-01-01", "2021-04-18T03:27:60Z", "2021-04-18T03:27:57Zx"})
        EXPECT_FALSE(iso8601_epoch_millis(bad).has_value()) << bad;
}

TEST(ElementRenderer, MessageUuidIsAStableRfc4122Shape) {
    const std::string uuid = message_uuid("retl-7-00ff-3");
    ASSERT_EQ(uuid.size(), 36u);
    EXPECT_EQ(uuid, message_uuid("retl-7-00ff-3"));
    EXPECT_NE(uuid, message_uuid("retl-7-00ff-4"));
    for (const size_t dash : {8u, 13u, 18u, 23u})
        EXPECT_EQ(uuid[dash], '-');
    EXPECT_EQ(uuid[14], '5');
    EXPECT_NE(std::string("89ab").find(uuid[19]), std::string::npos);
    EXPECT_EQ(uuid.find_first_not_of("0123456789abcdef-"), std::string::npos);
}

OutgoingRecord record(const std::string &id, const std::string &payload) {
    return OutgoingRecord{id, payload, "retl-1-" + id + "-v1"};
}

TEST(VendorRequests, MixpanelEventsWithTheProjectTokenOrAServiceAccount) {
    const DestinationType &type = shipped_type("mixpanel");
    const catalog::ActionDef &action = *type.find_action("import_events");
    const RequestBuilder by_token(type, action, json(R"({"project_token": "tok", "endpoint": "http://127.0.0.1:9"})").get());
    EXPECT_TRUE(by_token.needs_message_id());
    const std::vector<OutgoingRecord> input = {
        record("1", R"({"event":"Signed Up","distinct_id":"u1","time":"2021-04-18T03:27:57.123+00:00",)"
                    R"("properties":{"plan":"pro","time":5,"price":49.00}})"),
        record("2", R"({"event":"Churned","distinct_id":"u2","time":"2021-04-18"})")};
    const std::vector<PlannedRequest> requests = by_token.plan(input);
    ASSERT_EQ(requests.size(), 1u);
    const http::HttpRequest &request = requests[0].request;
    EXPECT_EQ(request.url, "http://127.0.0.1:9/import?strict=1");
    EXPECT_EQ(*http::find_header(request.headers, "Authorization"), "Basic dG9rOg==");   // "tok:"
    // The properties' own "time" gives way to the mapped one; numbers keep their digits.
    EXPECT_EQ(request.body, R"([{"event":"Signed Up","properties":{"plan":"pro","price":49.00,"distinct_id":"u1",)"
                            R"("time":1618716477123,"$insert_id":")" +
                                message_uuid("retl-1-1-v1") +
                                R"("}},{"event":"Churned","properties":{"distinct_id":"u2","time":1618704000000,)"
                                R"("$insert_id":")" +
                                message_uuid("retl-1-2-v1") + R"("}}])");

    const RequestBuilder by_account(type, action,
                                    json(R"({"project_token": "tok", "service_account_username": "sa.user",
                                             "service_account_secret": "s3cr3t", "project_id": "12 3",
                                             "endpoint": "http://127.0.0.1:9"})")
                                        .get());
    const http::HttpRequest account_request = by_account.plan(input)[0].request;
    EXPECT_EQ(account_request.url, "http://127.0.0.1:9/import?strict=1&project_id=12%203");
    EXPECT_EQ(*http::find_header(account_request.headers, "Authorization"), "Basic c2EudXNlcjpzM2NyM3Q=");
}

TEST(VendorRequests, ATimeThatIsNotIso8601MakesTheRecordInvalid) {
    const DestinationType &type = shipped_type("mixpanel");
    const RequestBuilder builder(type, *type.find_action("import_events"), json(R"({"project_token": "t"})").get());
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> requests =
        builder.plan({record("1", R"({"event":"e","distinct_id":"u","time":"yesterday"})"),
                      record("2", R"({"event":"e","distinct_id":"u","time":1618716477000})")},
                     &invalid);
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].index, 0u);
    EXPECT_EQ(invalid[0].reason, "field \"time\" is \"yesterday\", not an ISO 8601 date and time");
    ASSERT_EQ(requests.size(), 1u);   // a number is taken as epoch milliseconds already
    EXPECT_NE(requests[0].request.body.find(R"("time":1618716477000)"), std::string::npos);
}

TEST(VendorRequests, AmplitudeCarriesItsKeyInTheBodyAndMasksIt) {
    const DestinationType &type = shipped_type("amplitude");
    const RequestBuilder builder(type, *type.find_action("log_event"), json(R"({"api_key": "amp-key-1"})").get());
    const std::vector<PlannedRequest> requests = builder.plan(
        {record("1", R"({"event_type":"Played","user_id":"user-1","time":"1970-01-01T00:00:01Z","revenue":1.50})")});
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].request.url, "https://api2.amplitude.com/2/httpapi");
    EXPECT_EQ(requests[0].request.body, R"({"api_key":"amp-key-1","events":[{"event_type":"Played","user_id":"user-1",)"
                                        R"("revenue":1.50,"time":1000,"insert_id":")" +
                                            message_uuid("retl-1-1-v1") + R"("}]})");
    EXPECT_EQ(builder.secrets().mask(requests[0].request.body).find("amp-key-1"), std::string::npos);
    // Absent fields are left out, not sent as null.
    const std::string bare = builder.plan({record("2", R"({"event_type":"x","device_id":"dev-12"})")})[0].request.body;
    EXPECT_EQ(bare.find("time"), std::string::npos);
}

TEST(VendorRequests, AmplitudeIdentifyIsAFormAndAnswersInText) {
    const DestinationType &type = shipped_type("amplitude");
    const catalog::ActionDef &action = *type.find_action("identify_user");
    const auto settings = json(R"({"api_key": "k&y", "endpoint": "https://amp.example"})");
    const http::HttpRequest request =
        RequestBuilder(type, action, settings.get(), "upsert")
            .plan({record("1", R"({"user_id":"user-1","plan":"pro plan"})"), record("2", R"({"user_id":"user-2"})")})[0]
            .request;
    EXPECT_EQ(request.url, "https://amp.example/identify");
    EXPECT_EQ(*http::find_header(request.headers, "Content-Type"), "application/x-www-form-urlencoded");
    // The JSON as it is, but for the bytes a form decoder reads as syntax or
    // space: "pro plan" has its space encoded.
    EXPECT_EQ(request.body, "api_key=k%26y&identification="
                            R"([{"user_id":"user-1","user_properties":{"$set":{"plan":"pro%20plan"}}},)"
                            R"({"user_id":"user-2","user_properties":{"$set":{}}}])");
    EXPECT_EQ(RequestBuilder(type, action, settings.get(), "delete").plan({record("3", R"({"user_id":"user-3"})")})[0].request.body,
              "api_key=k%26y&identification="
              R"([{"user_id":"user-3","user_properties":{"$clearAll":"-"}}])");
    // A value with every byte a form decoder treats specially decodes to itself.
    const std::string tricky = R"({"user_id":"a&b=c+d;e#f%g h\t","city":"Zürich"})";
    const std::string body = RequestBuilder(type, action, settings.get(), "upsert").plan({record("4", tricky)})[0].request.body;
    const std::string prefix = "api_key=k%26y&identification=";
    ASSERT_EQ(body.compare(0, prefix.size(), prefix), 0);
    EXPECT_EQ(body.find_first_of("+;# ", prefix.size()), std::string::npos) << body;
    EXPECT_EQ(body.find('&', prefix.size()), std::string::npos) << body;
    EXPECT_EQ(body.find('=', prefix.size()), std::string::npos) << body;
    const catalog::ResponseSpec &response = action.request.response;
    EXPECT_EQ(read_answer(response, 200, "success", 2).verdict, Verdict::Status);
    EXPECT_EQ(read_answer(response, 200, "oops", 2).verdict, Verdict::BodyFailed);
    EXPECT_EQ(read_answer(response, 400, "invalid_api_key\n", 2).verdict, Verdict::Fatal);
    EXPECT_EQ(read_answer(response, 400, "missing_event", 2).verdict, Verdict::Status);
}

TEST(VendorRequests, AnActionMayOverrideTheTypesRequest) {
    const DestinationType &type = shipped_type("braze");
    const auto body = [&](const char *action) {
        const RequestBuilder builder(type, *type.find_action(action),
                                     json(R"({"api_key": "k", "endpoint": "https://rest.example"})").get());
        return builder.plan({record("1", R"({"external_id":"u1"})")})[0].request;
    };
    EXPECT_EQ(body("track_event").body, R"({"events":[{"external_id":"u1"}]})");
    EXPECT_EQ(body("track_purchase").body, R"({"purchases":[{"external_id":"u1"}]})");
    EXPECT_EQ(body("track_purchase").url, "https://rest.example/users/track");
    EXPECT_EQ(*http::find_header(body("track_purchase").headers, "Authorization"), "Bearer k");
}

DestinationType element_type(const std::string &element, const std::string &modes = R"(["add"])") {
    return parse_destination_type(R"({
        "type": "shaped", "name": "Shaped", "description": "A test type.",
        "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Where."},
                     {"key": "token", "type": "string", "secret": true, "description": "Token."},
                     {"key": "key", "type": "string", "secret": true, "description": "Key."}],
        "request": {"method": "POST", "url": "{{settings.endpoint}}/in", "body": "array",
                    "auth": [{"type": "query", "name": "api key", "value": "{{settings.key}}"}]},
        "actions": [{"key": "put", "name": "Put", "description": "Puts.", "sync_modes": )" + modes + R"(,
                     "default_sync_mode": "add", "free_fields": false,
                     "fields": [{"key": "id", "type": "string", "required": true, "description": "Id."},
                                {"key": "at", "type": "datetime", "description": "When."},
                                {"key": "traits", "type": "object", "description": "Traits."},
                                {"key": "n", "type": "number", "description": "N."}],
                     "max_batch_records": 10, "element": )" + element + "}]}");
}

TEST(VendorRequests, ElementShapes) {
    const DestinationType type = element_type(
        R"({"kind": "user", "ids": ["{{fields.id}}", "{{fields.n}}", "r-{{record_id}}"], "token": "{{settings.token}}",
            "traits": {"$merge": "{{fields.traits}}", "id": "{{fields.id}}", "fixed": [1, {"a": null}]},
            "rest": "{{fields|except:id,traits}}"})");
    const RequestBuilder builder(type, type.actions[0], json(R"({"endpoint": "https://x.example/", "key": "a&b"})").get());
    const http::HttpRequest request =
        builder.plan({record("7", R"({"id":"u7","traits":{"id":"old","b":true},"n":null,"at":"2000-01-01"})")})[0].request;
    // The query credential is percent-encoded; the unset token's member is left out.
    EXPECT_EQ(request.url, "https://x.example/in?api%20key=a%26b");
    EXPECT_EQ(request.body, R"([{"kind":"user","ids":["u7",null,"r-7"],"traits":{"b":true,"id":"u7","fixed":[1,{"a":null}]},)"
                            R"("rest":{"n":null,"at":"2000-01-01"}}])");
    EXPECT_EQ(builder.masked(request).url, "https://x.example/in?api%20key=********");
}

// A record whose payload members' places are given, as PayloadBuilder gives
// them (the renderer then reads them instead of scanning the payload).
OutgoingRecord record_with_members(const std::string &id, const std::string &payload) {
    OutgoingRecord made = record(id, payload);
    JsonObjectView view;
    EXPECT_TRUE(view.view(made.payload));
    for (const JsonObjectView::Member &member : view.members())
        made.payload_members.push_back({static_cast<uint32_t>(member.key_json.data() - made.payload.data()),
                                        static_cast<uint32_t>(member.key_json.size()),
                                        static_cast<uint32_t>(member.value.data() - made.payload.data()),
                                        static_cast<uint32_t>(member.value.size())});
    return made;
}

// Each request's body, as the elements a builder of its own gives each of its
// records: what one builder learns from a payload's keys (the member a field
// names, the members a merge leaves out) must not outlast that payload's keys.
void expect_bodies_of_fresh_elements(const DestinationType &type, const catalog::ActionDef &action,
                                     const std::string &settings, const std::vector<OutgoingRecord> &records,
                                     size_t expected_requests) {
    const RequestBuilder builder(type, action, json(settings).get());
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> requests = builder.plan(records, &invalid);
    EXPECT_EQ(requests.size(), expected_requests);
    size_t carried = 0;
    for (const PlannedRequest &request : requests) {
        std::string body = "[";
        for (const size_t index : request.records) {
            const RequestBuilder fresh(type, action, json(settings).get());
            OutgoingRecord alone = records[index];
            alone.payload_members.clear();   // and found by a scan
            const ElementResult element = fresh.element(alone);
            EXPECT_TRUE(element.valid) << element.invalid_reason;
            body += (body.size() > 1 ? "," : "") + element.element;
        }
        EXPECT_EQ(request.request.body, body + "]");
        carried += request.records.size();
    }
    EXPECT_EQ(carried + invalid.size(), records.size());
}

TEST(VendorRequests, OneRendererFollowsEachPayloadsKeys) {
    const DestinationType &type = shipped_type("mixpanel");
    catalog::ActionDef action = *type.find_action("user_profile");
    catalog::bind_key_field(action, "distinct_id");
    const std::string settings = R"({"project_token": "tok", "endpoint": "http://127.0.0.1:9"})";
    // Keys that change from one record to the next: the same ones in another
    // order, one gone, one more, a field of the element's own list, none.
    const std::vector<std::string> payloads = {
        R"({"distinct_id":"u1","email":"a@x.io","plan":"pro","mrr":1.50})",
        R"({"distinct_id":"u2","email":"b@x.io","plan":"free","mrr":0})",
        R"({"plan":"team","distinct_id":"u3","email":"c@x.io","mrr":2})",
        R"({"distinct_id":"u4","plan":"pro"})",
        R"({"distinct_id":"u5","plan":"pro","name":"Eve","seats":3})",
        R"({"distinct_id":"u6","email":"f@x.io","plan":"pro","mrr":1.50})",
        R"({"distinct_id":"u7"})",
        R"({"distinct_id":"u8","email":"h@x.io","plan":"pro","mrr":1.50})",
        R"({"distinct_id": "u9" , "plan" :"pro","mrr": 2,"seats":1})"};
    std::vector<OutgoingRecord> with_members, scanned;
    for (size_t i = 0; i < payloads.size(); ++i) {
        with_members.push_back(record_with_members(std::to_string(i), payloads[i]));
        scanned.push_back(record(std::to_string(i), payloads[i]));
    }
    expect_bodies_of_fresh_elements(type, action, settings, with_members, 1);
    expect_bodies_of_fresh_elements(type, action, settings, scanned, 1);
    // Spot check of one body against the text itself.
    const RequestBuilder builder(type, action, json(settings).get());
    EXPECT_EQ(builder.plan({with_members[3], with_members[4]})[0].request.body,
              R"([{"$token":"tok","$distinct_id":"u4","$set":{"plan":"pro"}},)"
              R"({"$token":"tok","$distinct_id":"u5","$set":{"plan":"pro","seats":3,"$name":"Eve"}}])");
    // Spaced text (not PayloadBuilder's) is copied member by member, not in runs.
    EXPECT_EQ(builder.plan({with_members[8]})[0].request.body,
              R"([{"$token":"tok","$distinct_id":"u9","$set":{"plan":"pro","mrr":2,"seats":1}}])");
}

// Salesforce's element is spliced into the payload unless the payload has a
// member named as one of the spliced ones; with members' places given, that
// is decided from its keys, again whenever they change.
TEST(VendorRequests, SplicingFollowsEachPayloadsKeys) {
    const DestinationType &type = shipped_type("salesforce");
    const catalog::ActionDef action =
        catalog::bind_action_settings(*type.find_action("account"), json(R"({"external_id_field": "Ext__c"})").get());
    const std::string settings = R"({"access_token": "t", "instance_url": "https://x.my.salesforce.com"})";
    const std::vector<std::string> payloads = {
        R"({"Ext__c":"A-1","Name":"Acme"})",
        R"({"Ext__c":"A-2","attributes":{"type":"Lead"},"Name":"Beta"})",
        R"({"Ext__c":"A-3","Name":"Gamma"})",
        R"({"Ext__c":"A-4","Name":"\"attributes\":"})",
        R"({"Ext__c":"A-5","Name":"Delta","attributes":1})",
        R"({})",
        R"({"Ext__c":"A-6","Name":"Eta"})"};
    std::vector<OutgoingRecord> records;
    for (size_t i = 0; i < payloads.size(); ++i)
        records.push_back(record_with_members(std::to_string(i), payloads[i]));
    const RequestBuilder builder(type, action, json(settings).get(), "upsert");
    const std::vector<PlannedRequest> requests = builder.plan(records);
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].request.body,
              R"({"records":[{"Ext__c":"A-1","Name":"Acme","attributes":{"type":"Account"}},)"
              R"({"Ext__c":"A-2","Name":"Beta","attributes":{"type":"Account"}},)"
              R"({"Ext__c":"A-3","Name":"Gamma","attributes":{"type":"Account"}},)"
              R"({"Ext__c":"A-4","Name":"\"attributes\":","attributes":{"type":"Account"}},)"
              R"({"Ext__c":"A-5","Name":"Delta","attributes":{"type":"Account"}},)"
              R"({"attributes":{"type":"Account"}},)"
              R"({"Ext__c":"A-6","Name":"Eta","attributes":{"type":"Account"}}]})");
}

// Elements are rendered one after another into one buffer: the one that does
// not fit starts the next request, and one refused after it was rendered
// (over the record limit) leaves nothing behind.
TEST(VendorRequests, RenderedElementsSplitIntoRequestsWhole) {
    const DestinationType type = parse_destination_type(R"({
        "type": "shaped", "name": "Shaped", "description": "A test type.",
        "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Where."}],
        "request": {"method": "POST", "url": "{{settings.endpoint}}/in", "body": "array"},
        "actions": [{"key": "put", "name": "Put", "description": "Puts.", "sync_modes": ["add"],
                     "default_sync_mode": "add", "free_fields": true, "fields": [],
                     "max_batch_records": 3, "max_batch_bytes": 120, "max_record_bytes": 60,
                     "element": {"user": "{{fields.id}}", "traits": "{{fields|except:id}}"}}]})");
    const std::string settings = R"({"endpoint": "https://x.example"})";
    std::vector<OutgoingRecord> records;
    for (int i = 0; i < 9; ++i) {
        const std::string id = std::to_string(i);
        const std::string filler = i == 4 ? std::string(60, 'x') : std::string(static_cast<size_t>(i * 3), 'y');
        records.push_back(record_with_members(id, R"({"id":"u)" + id + R"(","f":")" + filler + R"("})"));
    }
    expect_bodies_of_fresh_elements(type, type.actions[0], settings, records, 4);
    const RequestBuilder builder(type, type.actions[0], json(settings).get());
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> requests = builder.plan(records, &invalid);
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].index, 4u);
    ASSERT_EQ(requests.size(), 4u);
    EXPECT_EQ(requests[0].records, (std::vector<size_t>{0, 1, 2}));
    EXPECT_EQ(requests[1].records, (std::vector<size_t>{3, 5}));
    EXPECT_EQ(requests[1].request.body, R"([{"user":"u3","traits":{"f":"yyyyyyyyy"}},)"
                                        R"({"user":"u5","traits":{"f":"yyyyyyyyyyyyyyy"}}])");
}

std::string definition_error(const std::string &element, const std::string &modes = R"(["add"])") {
    return error_of([&] { element_type(element, modes); }).message();
}

TEST(VendorRequests, BadElementsAndModesNameTheirPlace) {
    const std::string prefix = "invalid definition of destination type \"shaped\": actions[0].";
    EXPECT_EQ(definition_error(R"({"a": "{{fields.nope}}"})"),
              prefix + "element.a names \"nope\", which is not a field of the action");
    EXPECT_EQ(definition_error(R"({"a": "{{fields.n|epoch_ms}}"})"),
              prefix + "element.a uses epoch_ms on \"n\", which is not a datetime field");
    EXPECT_EQ(definition_error(R"({"a": "{{fields.at|upper}}"})"),
              prefix + "element.a uses filter \"upper\"; only epoch_ms and epoch_s are known");
    EXPECT_EQ(definition_error(R"({"$merge": "{{fields.id}}"})"),
              prefix + "element.$merge must be \"{{fields}}\" or \"{{fields.NAME}}\" of an object field");
    EXPECT_EQ(definition_error(R"({"a": "x{{fields.id}}"})"),
              prefix + "element.a uses {{fields.id}}, which is not allowed here");
    EXPECT_EQ(definition_error(R"(["{{fields}}"])"), prefix + "element must be an object, one \"{{fields.NAME}}\" or a text with \"{{object_id}}\"");
    EXPECT_EQ(definition_error(R"("{{record_id}}")"), prefix + "element must be an object, one \"{{fields.NAME}}\" or a text with \"{{object_id}}\"");
    EXPECT_EQ(definition_error(R"({"a": 1})", R"(["add", "added"])"),
              prefix + "sync_modes must not mix generic modes (added, updated, added_or_updated, deleted) with "
                       "destination operations (upsert, update, add, delete, mirror); all goes with either");
    EXPECT_EQ(element_type(R"({"a": 1})", R"(["add", "all"])").actions[0].sync_modes,
              (std::vector<std::string>{"add", "all"}));
}

TEST(VendorRequests, OperationsPickTheirOwnRequestAndElement) {
    const DestinationType &type = shipped_type("braze");
    const catalog::ActionDef &action = *type.find_action("user_attributes");
    EXPECT_EQ(catalog::operation_for("mirror", "added"), "upsert");
    EXPECT_EQ(catalog::operation_for("mirror", "updated"), "upsert");
    EXPECT_EQ(catalog::operation_for("mirror", "deleted"), "delete");
    EXPECT_EQ(catalog::operation_for("add", "added"), "add");
    EXPECT_EQ(catalog::operation_for("update", "updated"), "update");
    const auto settings = json(R"({"api_key": "k", "endpoint": "https://rest.example"})");
    const RequestBuilder upserts(type, action, settings.get(), "upsert");   // not declared: the action's own
    EXPECT_EQ(upserts.max_records_per_request(), 75u);
    EXPECT_EQ(upserts.plan({record("1", R"({"external_id":"u1","email":"a@x.example","plan":"pro"})")})[0].request.body,
              R"({"attributes":[{"external_id":"u1","email":"a@x.example","plan":"pro"}]})");
    const RequestBuilder deletes(type, action, settings.get(), "delete");
    EXPECT_EQ(deletes.max_records_per_request(), 50u);
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> requests = deletes.plan(
        {record("1", R"({"external_id":"u1"})"), record("2", R"({"external_id":null})"), record("3", R"({"external_id":7})")},
        &invalid);
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0].request.url, "https://rest.example/users/delete");
    EXPECT_EQ(requests[0].request.body, R"({"external_ids":["u1",7]})");
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].reason, "field \"external_id\" has no value, and the destination knows the record by it");
}

TEST(VendorRequests, CustomerIoPeopleAndEvents) {
    const DestinationType &type = shipped_type("customerio");
    const auto settings = json(R"({"site_id": "site", "api_key": "key"})");
    const catalog::ActionDef &person = *type.find_action("person");
    EXPECT_EQ(RequestBuilder(type, person, settings.get(), "upsert")
                  .plan({record("1", R"({"id":"42","email":"a@x.example","created_at":"2026-01-05T10:00:00.9Z"})")})[0]
                  .request.body,
              R"({"batch":[{"type":"person","action":"identify","identifiers":{"id":"42"},)"
              R"("attributes":{"email":"a@x.example","created_at":1767607200}}]})");
    EXPECT_EQ(RequestBuilder(type, person, settings.get(), "delete").plan({record("1", R"({"id":"42"})")})[0].request.body,
              R"({"batch":[{"type":"person","action":"delete","identifiers":{"id":"42"}}]})");
    const catalog::ActionDef &event = *type.find_action("event");
    EXPECT_EQ(RequestBuilder(type, event, settings.get())
                  .plan({record("1", R"({"person_id":"42","name":"purchase","timestamp":"1969-12-31T23:59:59.5Z"})")})[0]
                  .request.body,
              R"({"batch":[{"type":"person","action":"event","identifiers":{"id":"42"},"name":"purchase","timestamp":-1}]})");
}

TEST(VendorRequests, IterableUsersEventsAndDeletesByEitherKey) {
    const DestinationType &type = shipped_type("iterable");
    const auto settings = json(R"({"api_key": "secret-key", "endpoint": "https://api.example"})");
    const catalog::ActionDef &user = *type.find_action("user");
    const RequestBuilder upserts(type, catalog::bind_action_settings(user, json("{}").get()), settings.get(), "upsert");
    const PlannedRequest upsert =
        upserts.plan({record("1", R"({"email":"a@x.example","userId":null,"plan":"pro","age":4})")})[0];
    EXPECT_EQ(upsert.request.url, "https://api.example/api/users/bulkUpdate");
    EXPECT_EQ(upsert.request.body,
              R"({"users":[{"email":"a@x.example","userId":null,"dataFields":{"plan":"pro","age":4}}]})");
    // Deletes: one request per user, at the email's URL, or the userId's
    // when the mapping finds users by userId.
    const catalog::ActionDef by_email = catalog::bind_action_settings(user, json("{}").get());
    const std::vector<PlannedRequest> deletes = RequestBuilder(type, by_email, settings.get(), "delete")
                                                    .plan({record("1", R"({"email":"a+b@x.example"})"),
                                                           record("2", R"({"email":"c@x.example"})")});
    ASSERT_EQ(deletes.size(), 2u);
    EXPECT_EQ(deletes[0].request.method, "DELETE");
    EXPECT_EQ(deletes[0].request.url, "https://api.example/api/users/a%2Bb%40x.example");
    EXPECT_EQ(deletes[0].request.body, R"({"email":"a+b@x.example"})");
    const catalog::ActionDef by_id = catalog::bind_action_settings(user, json(R"({"identifier": "userId"})").get());
    EXPECT_EQ(by_id.key_field, "userId");
    const PlannedRequest by_id_delete =
        RequestBuilder(type, by_id, settings.get(), "delete").plan({record("1", R"({"userId":"u 1"})")})[0];
    EXPECT_EQ(by_id_delete.request.url, "https://api.example/api/users/byUserId/u%201");
    EXPECT_EQ(by_id_delete.request.body, R"({"userId":"u 1"})");
    // Events carry the record's message id as their id, the time in seconds.
    const catalog::ActionDef &event = *type.find_action("event");
    OutgoingRecord tracked = record("7", R"({"userId":"u1","eventName":"buy","createdAt":"2026-01-05T10:00:00Z",)"
                                         R"("dataFields":{"sku":"A"}})");
    tracked.message_id = "retl-9-7-abc";
    const PlannedRequest track = RequestBuilder(type, event, settings.get()).plan({tracked})[0];
    EXPECT_EQ(track.request.url, "https://api.example/api/events/trackBulk");
    EXPECT_EQ(track.request.body, R"({"events":[{"userId":"u1","eventName":"buy","id":"retl-9-7-abc",)"
                                  R"("createdAt":1767607200,"dataFields":{"sku":"A"}}]})");
}

TEST(VendorRequests, KeyFieldVariantsNeedAKeyFieldSetting) {
    const auto with = [](const std::string &key_field, const std::string &variants) {
        return R"({"type": "variants", "name": "V", "description": "Test only.",
          "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Base URL."}],
          "request": {"method": "POST", "url": "{{settings.endpoint}}/put", "body": {"wrap": "items"}},
          "actions": [{"key": "put", "name": "Put", "description": "Puts.",
                       "settings": [{"key": "by", "type": "string", "enum": ["email", "id"], "default": "email",
                                     "description": "Key."}],
                       "sync_modes": ["upsert", "delete"], "default_sync_mode": "upsert",
                       "fields": [{"key": "email", "type": "string", "description": "E."},
                                  {"key": "id", "type": "string", "description": "I."}],
                       "max_batch_records": 10, "key_field": ")" + key_field + R"(",
                       "operations": {"delete": {"by_key_field": )" + variants + R"(}}}]})";
    };
    const std::string prefix =
        "invalid definition of destination type \"variants\": actions[0].operations.delete.by_key_field";
    EXPECT_EQ(error_of([&] { parse_destination_type(with("email", R"({"id": {}})")); }).message(),
              prefix + " needs a key_field named by an action setting: a fixed key field needs no variants");
    EXPECT_EQ(error_of([&] { parse_destination_type(with("{{action_settings.by}}", R"({"phone": {}})")); }).message(),
              prefix + ".phone is not a value of action setting \"by\" (email, id)");
    EXPECT_EQ(error_of([&] { parse_destination_type(with("{{action_settings.by}}", R"({"id": {"request": {"url": "x"}}})")); })
                  .message()
                  .rfind(prefix + ".id.request.url", 0),
              0u);
}

TEST(VendorRequests, BadOperationsNameTheirPlace) {
    const auto error = [](const std::string &action_extra) {
        return error_of([&] {
                   parse_destination_type(R"({
                       "type": "ops", "name": "Ops", "description": "A test type.",
                       "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Where."}],
                       "request": {"method": "POST", "url": "{{settings.endpoint}}", "body": "array"},
                       "actions": [{"key": "put", "name": "Put", "description": "Puts.", "sync_modes": ["upsert", "mirror"],
                                    "default_sync_mode": "upsert", "free_fields": false,
                                    "fields": [{"key": "id", "type": "string", "description": "Id."}],
                                    "max_batch_records": 10)" + action_extra + "}]}");
               })
            .message();
    };
    const std::string prefix = "invalid definition of destination type \"ops\": actions[0].";
    EXPECT_EQ(error(R"(, "operations": {"delete": {"element": "{{fields.id}}"}})"),
              prefix + "operations.delete needs the action's key_field (or row_index): deletes address records by it");
    EXPECT_EQ(error(R"(, "key_field": "id", "operations": {"add": {}})"),
              prefix + "operations.add is never sent: no sync mode of the action sends it");
    EXPECT_EQ(error(R"(, "key_field": "id", "operations": {"remove": {}})"),
              prefix + "operations.remove is not a destination operation (upsert, update, add, delete)");
    EXPECT_EQ(error(R"(, "key_field": "nope")"), prefix + "key_field names \"nope\", which is not a field of the action");
    EXPECT_EQ(error(R"(, "key_field": "id", "operations": {"delete": {"lookup": {"request": {}}}})"),
              prefix + "operations.delete.lookup.request must read its answer as keyed_results: a lookup finds "
                       "records by their keys");
    EXPECT_EQ(error(R"(, "key_field": "id", "operations": {"delete": {"lookup": {"request": {"response": {"records": )"
                    R"({"kind": "keyed_results", "status": [200], "list": "r", "record_key": "{{fields.id}}", "key": "k"}}}}}})"),
              prefix + "operations.delete.lookup.request must say where a result's object_id is");
    EXPECT_EQ(error(R"(, "key_field": "id", "operations": {"delete": {"lookup": {"missing": "ignored", "request": {"response": )"
                    R"({"records": {"kind": "keyed_results", "status": [200], "list": "r", "record_key": "{{fields.id}}", )"
                    R"("key": "k", "object_id": "id"}}}}}})"),
              prefix + "operations.delete.lookup.missing must be \"delivered\", \"rejected\" or \"add\"");
}

catalog::ResponseSpec response_spec(const std::string &block) {
    const DestinationType type = parse_destination_type(R"({
        "type": "answers", "name": "Answers", "description": "A test type.",
        "settings": [{"key": "endpoint", "type": "string", "required": true, "description": "Where."}],
        "request": {"method": "POST", "url": "{{settings.endpoint}}", "body": "array", "response": )" +
                                                      block + R"(},
        "actions": [{"key": "put", "name": "Put", "description": "Puts.", "sync_modes": ["add"],
                     "default_sync_mode": "add", "free_fields": true, "fields": [], "max_batch_records": 10}]})");
    return type.actions[0].request.response;
}

std::vector<std::string> fates(const AnswerReading &reading) {
    std::vector<std::string> out;
    for (const RecordOutcome &outcome : reading.outcomes)
        out.push_back(outcome.fate == RecordFate::Delivered ? "ok"
                      : outcome.fate == RecordFate::Retry   ? "again"
                                                            : "rejected: " + outcome.message);
    return out;
}

TEST(ResponseReader, ErrorsByIndexLikeMixpanel) {
    const catalog::ResponseSpec &spec = shipped_type("mixpanel").actions[0].request.response;
    const AnswerReading reading = read_answer(
        spec, 400,
        R"({"code":400,"num_records_imported":1,"failed_records":[{"index":2,"insert_id":"x","field":"properties.time",)"
        R"("message":"'properties.time' is invalid"},{"index":0,"field":"event","message":"missing"}]})",
        3);
    ASSERT_EQ(reading.verdict, Verdict::PerRecord);
    EXPECT_EQ(fates(reading), (std::vector<std::string>{"rejected: event: missing", "ok",
                                                        "rejected: properties.time: 'properties.time' is invalid"}));
    // An error naming a record the request did not carry, or none: not pinned on anyone.
    EXPECT_EQ(read_answer(spec, 400, R"({"failed_records":[{"index":3,"message":"m"}]})", 3).verdict, Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 400, R"({"failed_records":[{"message":"m"}]})", 3).verdict, Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 400, R"({"failed_records":[{"index":-1}]})", 3).verdict, Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 400, R"({"failed_records":[{"index":1.0}]})", 3).verdict, Verdict::BodyFailed);
    // Other answers, and a 400 that lists nothing, speak for the whole request.
    EXPECT_EQ(read_answer(spec, 400, R"({"error":"bad"})", 3).verdict, Verdict::Status);
    EXPECT_EQ(read_answer(spec, 400, "not json", 3).verdict, Verdict::Status);
    EXPECT_EQ(read_answer(spec, 200, R"({"failed_records":[{"index":0}]})", 3).verdict, Verdict::Status);
}

TEST(ResponseReader, IndexListsLikeAmplitude) {
    const catalog::ResponseSpec &spec = shipped_type("amplitude").actions[0].request.response;
    const AnswerReading reading = read_answer(
        spec, 400,
        R"({"code":400,"error":"Invalid field values on some events","events_with_invalid_fields":{"time":[1],"event_type":[1,3]},)"
        R"("events_with_missing_fields":{}})",
        4);
    ASSERT_EQ(reading.verdict, Verdict::PerRecord);
    EXPECT_EQ(fates(reading), (std::vector<std::string>{"again", "rejected: events_with_invalid_fields: time; "
                                                                 "events_with_invalid_fields: event_type",
                                                        "again", "rejected: events_with_invalid_fields: event_type"}));
    EXPECT_EQ(read_answer(spec, 400, R"({"code":400,"error":"Invalid API key: k"})", 4).verdict, Verdict::Fatal);
    EXPECT_EQ(read_answer(spec, 400, R"({"events_with_invalid_fields":{"time":[4]}})", 4).verdict, Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 400, R"({"events_with_invalid_fields":{"time":"0"}})", 4).verdict, Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 400, R"({"error":"Request missing required field"})", 4).verdict, Verdict::Status);
}

TEST(ResponseReader, ResultsInOrderAndBodyVerdicts) {
    const catalog::ResponseSpec spec = response_spec(
        R"({"records": {"kind": "results_in_order", "status": [200], "list": "", "success": "success",
                        "message": ["errors.0.statusCode", "errors.0.message"]},
            "success_bodies": ["1"]})");
    const AnswerReading reading = read_answer(
        spec, 200,
        R"([{"id":"001","success":true,"errors":[]},{"id":null,"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [Name]"}]}])",
        2);
    EXPECT_EQ(fates(reading), (std::vector<std::string>{"ok", "rejected: REQUIRED_FIELD_MISSING: Required fields are missing: [Name]"}));
    EXPECT_EQ(read_answer(spec, 200, R"([{"success":true}])", 2).verdict, Verdict::BodyFailed);
    // No list of results at all (another JSON, or no JSON): no record is
    // taken as delivered on the status alone.
    for (const char *body : {R"({"ok":true})", "OK", ""}) {
        const AnswerReading without = read_answer(spec, 200, body, 2);
        EXPECT_EQ(without.verdict, Verdict::BodyFailed) << body;
        EXPECT_EQ(without.message, "the destination answered without its list of per-record results") << body;
    }
    // A body verdict: "1" is success, anything else a failure tied to no record.
    const catalog::ResponseSpec verdict = response_spec(R"({"success_bodies": ["1"]})");
    EXPECT_EQ(read_answer(verdict, 200, " 1\n", 5).verdict, Verdict::Status);
    const AnswerReading zero = read_answer(verdict, 200, "0", 5);
    EXPECT_EQ(zero.verdict, Verdict::BodyFailed);
    EXPECT_EQ(zero.message, "the destination answered 200 with a body that means failure: 0");
    EXPECT_EQ(read_answer(verdict, 500, "0", 5).verdict, Verdict::Status);
}

TEST(ResponseReader, ResultsInOrderReadsTheCheckedTextAsATreeWould) {
    // Salesforce's own shape, read the way the shipped definition reads it.
    const catalog::ResponseSpec &salesforce = shipped_type("salesforce").actions[0].request.response;
    // Whitespace anywhere, escapes in an id, a number id, duplicate keys (the
    // last counts), "true" as a string (not success), a result that is not
    // an object.
    const AnswerReading reading = read_answer(
        salesforce, 200,
        " [ {\"id\" : \"00\\u00310\\\"q\", \"success\" : true , \"errors\" : [ ] } ,\n"
        R"({"id":42,"success":true},{"success":false,"id":"x","success":true},{"id":"y","success":"true"},)"
        R"({"id":"z","success":true,"success":false,"errors":[{"statusCode":"DUP","message":"twice"}]},[true],null])",
        7);
    ASSERT_EQ(reading.verdict, AnswerReading::Verdict::PerRecord);
    EXPECT_EQ(fates(reading), (std::vector<std::string>{"ok", "ok", "ok", "rejected: {\"id\":\"y\",\"success\":\"true\"}",
                                                        "rejected: DUP: twice", "rejected: [true]", "rejected: null"}));
    EXPECT_EQ(reading.outcomes[0].object_id, "0010\"q");
    EXPECT_EQ(reading.outcomes[1].object_id, "42");
    EXPECT_EQ(reading.outcomes[2].object_id, "x");
    // Text that is not JSON throughout is never half-read: a truncated list,
    // invalid UTF-8 in an id, a bad number after the results.
    for (const std::string &body : {std::string(R"([{"id":"a","success":true},{"id":"b","success":true})"),
                                   std::string("[{\"id\":\"a\xff\",\"success\":true}]"),
                                   std::string(R"([{"id":"a","success":true}, 01])")}) {
        const AnswerReading bad = read_answer(salesforce, 200, body, 2);
        EXPECT_EQ(bad.verdict, AnswerReading::Verdict::BodyFailed) << body;
        EXPECT_EQ(bad.message, "the destination answered without its list of per-record results") << body;
    }
    // A list under a key, success and id deeper in each result.
    const catalog::ResponseSpec nested = response_spec(
        R"({"records": {"kind": "results_in_order", "status": [200], "list": "data.results", "success": "status.ok",
                        "object_id": "ref.0", "message": ["status.why"]}})");
    const AnswerReading deep = read_answer(
        nested, 200,
        R"({"data":{"results":[{"status":{"ok":true},"ref":["r1"]},{"status":{"ok":false,"why":"no"}}]},"other":[1]})", 2);
    EXPECT_EQ(fates(deep), (std::vector<std::string>{"ok", "rejected: no"}));
    EXPECT_EQ(deep.outcomes[0].object_id, "r1");
    EXPECT_EQ(read_answer(nested, 200, R"({"data":{"results":{"0":1}}})", 1).verdict, AnswerReading::Verdict::BodyFailed);
}

TEST(ResponseReader, KeyedResultsLikeHubSpot) {
    const catalog::ResponseSpec &spec = shipped_type("hubspot").actions[0].request.response;
    const std::vector<std::string> keys{"ann@example.com", "Bob@Example.com", "cy@example.com"};
    // Results in any order, matched by email ignoring case; ids kept; an
    // error names its records in context.ids.
    const AnswerReading reading = read_answer(
        spec, 207,
        R"({"status":"COMPLETE","results":[{"id":"12","properties":{"email":"cy@example.com"}},)"
        R"({"id":"10","properties":{"email":"ann@example.com"}}],"numErrors":1,)"
        R"("errors":[{"status":"error","category":"VALIDATION_ERROR","message":"bad","context":{"ids":["bob@example.com"]}}]})",
        3, keys);
    ASSERT_EQ(reading.verdict, Verdict::PerRecord);
    EXPECT_EQ(fates(reading), (std::vector<std::string>{"ok", "rejected: VALIDATION_ERROR: bad", "ok"}));
    EXPECT_EQ(reading.outcomes[0].object_id, "10");
    EXPECT_EQ(reading.outcomes[2].object_id, "12");
    // A record neither answered nor refused goes again.
    const AnswerReading partial = read_answer(
        spec, 200, R"({"results":[{"id":"10","properties":{"email":"ann@example.com"}}]})", 3, keys);
    EXPECT_EQ(fates(partial), (std::vector<std::string>{"ok", "again", "again"}));
    // A result or an error for a key the request did not carry, or two
    // records with one key: pinned on no one.
    EXPECT_EQ(read_answer(spec, 200, R"({"results":[{"id":"9","properties":{"email":"zed@example.com"}}]})", 3, keys)
                  .verdict,
              Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 207, R"({"results":[],"errors":[{"message":"m","context":{"ids":["zed@x"]}}]})", 3, keys)
                  .verdict,
              Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 207, R"({"results":[],"errors":[{"message":"m","context":{}}]})", 3, keys).verdict,
              Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 200, R"({"results":[]})", 2, {"a@x", "A@X"}).verdict, Verdict::BodyFailed);
    // Create: outcomes by objectWriteTraceId (the record id).
    const catalog::ResponseSpec &create = shipped_type("hubspot").actions[0].operations.at("add").request.response;
    const AnswerReading created = read_answer(
        create, 207,
        R"({"results":[{"id":"7","objectWriteTraceId":"r2"}],"errors":[{"category":"CONFLICT","message":"exists",)"
        R"("context":{"objectWriteTraceId":["r1"]}}]})",
        2, {"r1", "r2"});
    EXPECT_EQ(fates(created), (std::vector<std::string>{"rejected: CONFLICT: exists", "ok"}));
    EXPECT_EQ(created.outcomes[1].object_id, "7");
    // Read from the answer's text: escapes in keys, a number as id and as a
    // key, the last of duplicate lists, and a body that is not JSON (the
    // status speaks, as for every kind).
    const AnswerReading text = read_answer(
        spec, 207,
        R"({"results":[{"id":"1","properties":{"email":"zed@example.com"}}],)"
        R"("results":[{"id":12,"properties":{"email":"ann@example.com"}}],)"
        R"("errors":[{"category":"C","message":"m","context":{"ids":[42]}}]})",
        3, {"ann@example.com", "42", "cy@example.com"});
    EXPECT_EQ(fates(text), (std::vector<std::string>{"ok", "rejected: C: m", "again"}));
    EXPECT_EQ(text.outcomes[0].object_id, "12");
    EXPECT_EQ(read_answer(spec, 200, R"({"results":[)", 3, keys).verdict, Verdict::Status);
}

TEST(ResponseReader, KeyListsLikeIterable) {
    const catalog::ResponseSpec &spec = shipped_type("iterable").find_action("user")->request.response;
    ASSERT_EQ(spec.records.list_keys.size(), 2u);   // emails, then user ids
    // Rows: each record's email, then each record's userId ("" when none).
    const std::vector<std::string> keys{"ann@example.com", "Bob@Example.com", "bad@", "", "u2", "u3"};
    const AnswerReading reading = read_answer(
        spec, 200,
        R"({"successCount":1,"failCount":2,"failedUpdates":{"invalidEmails":["bad@"],"notFoundEmails":[],)"
        R"("forgottenEmails":["bob@example.com"],"invalidUserIds":[],"notFoundUserIds":["u3"]}})",
        3, keys);
    ASSERT_EQ(reading.verdict, Verdict::PerRecord);
    EXPECT_EQ(fates(reading), (std::vector<std::string>{"ok", "rejected: forgottenEmails",
                                                        "rejected: invalidEmails; notFoundUserIds"}));
    // Nothing listed: all delivered; lists left out or null are nothing.
    EXPECT_EQ(fates(read_answer(spec, 200, R"({"successCount":3,"failCount":0,"failedUpdates":{"invalidEmails":null}})", 3,
                                keys)),
              (std::vector<std::string>{"ok", "ok", "ok"}));
    EXPECT_EQ(fates(read_answer(spec, 200, R"({"successCount":3})", 3, keys)), (std::vector<std::string>{"ok", "ok", "ok"}));
    // A key no record has (an empty key is none), or a list that is not one: pinned on no one.
    EXPECT_EQ(read_answer(spec, 200, R"({"failedUpdates":{"invalidEmails":["zed@x"]}})", 3, keys).verdict,
              Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 200, R"({"failedUpdates":{"invalidUserIds":[""]}})", 3, keys).verdict, Verdict::BodyFailed);
    EXPECT_EQ(read_answer(spec, 200, R"({"failedUpdates":{"invalidEmails":"bad@"}})", 3, keys).verdict,
              Verdict::BodyFailed);
    // Other statuses speak for the whole request.
    EXPECT_EQ(read_answer(spec, 400, R"({"msg":"bad","code":"BadJsonBody"})", 3, keys).verdict, Verdict::Status);
    // Events: a key names every record that has it (two events of one invalid email).
    const catalog::ResponseSpec &events = shipped_type("iterable").find_action("event")->request.response;
    ASSERT_EQ(events.records.list_keys.size(), 3u);   // emails, user ids, event names
    const AnswerReading tracked = read_answer(
        events, 200, R"({"successCount":1,"failCount":2,"failedUpdates":{"invalidEmails":["bad@"]},"disallowedEventNames":[]})",
        3, {"bad@", "ok@x.example", "bad@", "", "", "", "buy", "buy", "view"});
    EXPECT_EQ(fates(tracked), (std::vector<std::string>{"rejected: invalidEmails", "ok", "rejected: invalidEmails"}));
    EXPECT_EQ(fates(read_answer(events, 200, R"({"disallowedEventNames":["view"]})", 3,
                                {"a@x", "b@x", "c@x", "", "", "", "buy", "buy", "view"})),
              (std::vector<std::string>{"ok", "ok", "rejected: disallowedEventNames"}));
}

TEST(ResponseReader, BadResponseBlocksNameTheirPlace) {
    const std::string prefix = "invalid definition of destination type \"answers\": request.response.";
    EXPECT_EQ(error_of([] { response_spec(R"({"records": {"kind": "by_magic", "status": [400]}})"); }).message(),
              prefix + "records.kind \"by_magic\" is not a kind of record outcomes (errors_by_index, "
                       "results_in_order, index_lists, keyed_results, key_lists, single)");
    EXPECT_EQ(error_of([] { response_spec(R"({"records": {"kind": "index_lists", "status": [400], "objects": ["a"], "list": "x"}})"); })
                  .message(),
              prefix + "records.list does not apply to this kind");
    EXPECT_EQ(error_of([] { response_spec(R"({"records": {"kind": "errors_by_index", "status": [99], "list": "", "index": "i"}})"); })
                  .message(),
              prefix + "records.status[0] must be an HTTP status from 200 to 599");
    EXPECT_EQ(error_of([] { response_spec(R"({"records": {"kind": "results_in_order", "status": [200], "list": "", "success": "ok", "key": "k"}})"); })
                  .message(),
              prefix + "records.key does not apply to this kind");
    EXPECT_EQ(error_of([] { response_spec(R"({"records": {"kind": "keyed_results", "status": [200], "list": "r", "record_key": "{{message_id}}", "key": "k"}})"); })
                  .message(),
              prefix + "records.record_key uses {{message_id}}, which is not allowed here");
    EXPECT_EQ(error_of([] { response_spec(R"({"records": {"kind": "key_lists", "status": [200], "list": "x", "lists": {"a": "{{record_id}}"}}})"); })
                  .message(),
              prefix + "records.list does not apply to this kind");
    EXPECT_EQ(error_of([] { response_spec(R"({"records": {"kind": "key_lists", "status": [200], "lists": {}}})"); }).message(),
              prefix + "records.lists must be a non-empty object of list paths to record keys");
    EXPECT_EQ(error_of([] { response_spec(R"({"records": {"kind": "key_lists", "status": [200], "lists": {"a": "{{message_id}}"}}})"); })
                  .message(),
              prefix + "records.lists.a uses {{message_id}}, which is not allowed here");
    EXPECT_EQ(error_of([] { response_spec(R"({"fatal": [{"status": 400, "path": "a..b", "prefix": "x"}]})"); }).message(),
              prefix + "fatal[0].path \"a..b\" has an empty step");
}

}  // namespace
}  // namespace reverse_etl::destinations
