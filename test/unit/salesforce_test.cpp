// Salesforce (issue 14): the shipped definition's requests (sObject
// Collections, ids in the query string for deletions), the oauth_refresh auth
// kind, and the OAuth token pieces (http/oauth_token) with a fake endpoint.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/action_settings.hpp"
#include "catalog/destination_type.hpp"
#include "destinations/element_renderer.hpp"
#include "destinations/request_builder.hpp"
#include "destinations/response_reader.hpp"
#include "http/oauth_token.hpp"
#include "test_support.hpp"

namespace reverse_etl::destinations {
namespace {

using catalog::DestinationType;
using test::error_of;
using test::json;
using test::shipped_type;

OutgoingRecord record(const std::string &id, const std::string &payload, const std::string &object_id = {}) {
    return OutgoingRecord{id, payload, "retl-1-" + id + "-v1", object_id};
}

catalog::ActionDef bound(const std::string &action, const std::string &settings) {
    return catalog::bind_action_settings(*shipped_type("salesforce").find_action(action), json(settings).get());
}

const char *kTokenSettings = R"({"instance_url": "https://org.example", "access_token": "tok-1"})";
const char *kOAuthSettings = R"({"instance_url": "https://org.example/", "client_id": "cid",
                                 "client_secret": "c s&cret", "refresh_token": "rt/1"})";

std::string header(const http::HttpRequest &request, const std::string &name) {
    const std::string *value = http::find_header(request.headers, name);
    return value ? *value : "(none)";
}

TEST(Salesforce, UpsertsByTheExternalIdFieldTheMappingNames) {
    const DestinationType &type = shipped_type("salesforce");
    const catalog::ActionDef action = bound("account", R"({"external_id_field": "Ext__c"})");
    EXPECT_EQ(action.key_field, "Ext__c");
    const RequestBuilder upserts(type, action, json(kTokenSettings).get(), "upsert");
    EXPECT_EQ(upserts.max_records_per_request(), 200u);
    EXPECT_FALSE(upserts.oauth().has_value());
    const std::vector<PlannedRequest> planned =
        upserts.plan({record("1", R"({"Ext__c":"A-1","Name":"Acme"})"), record("2", R"({"Ext__c":"A-2","Name":null})")});
    ASSERT_EQ(planned.size(), 1u);
    const http::HttpRequest &request = planned[0].request;
    EXPECT_EQ(request.method, "PATCH");
    EXPECT_EQ(request.url, "https://org.example/services/data/v62.0/composite/sobjects/Account/Ext__c");
    EXPECT_EQ(header(request, "Authorization"), "Bearer tok-1");
    EXPECT_EQ(request.body, R"({"records":[{"Ext__c":"A-1","Name":"Acme","attributes":{"type":"Account"}},)"
                            R"({"Ext__c":"A-2","Name":null,"attributes":{"type":"Account"}}]})");
    EXPECT_EQ(upserts.masked(request).headers, (http::Headers{{"Content-Type", "application/json"},
                                                              {"Authorization", "********"}}));
    // Results in request order, each with Salesforce's id.
    const AnswerReading reading = read_answer(
        upserts.response(), 200,
        R"([{"id":"001A","success":true,"errors":[],"created":true},)"
        R"({"id":null,"success":false,"errors":[{"statusCode":"FIELD_CUSTOM_VALIDATION_EXCEPTION","message":"no","fields":[]}]}])",
        2);
    ASSERT_EQ(reading.verdict, AnswerReading::Verdict::PerRecord);
    EXPECT_EQ(reading.outcomes[0].fate, RecordFate::Delivered);
    EXPECT_EQ(reading.outcomes[0].object_id, "001A");
    EXPECT_EQ(reading.outcomes[1].fate, RecordFate::Rejected);
    EXPECT_EQ(reading.outcomes[1].message, "FIELD_CUSTOM_VALIDATION_EXCEPTION: no");
}

// The element is the payload with "attributes" spliced in as text
// (ElementRenderer's fast way); a payload member it overrides takes the way
// that parses the payload, and both write the same element.
TEST(Salesforce, ElementsSpliceAttributesIntoThePayload) {
    const DestinationType &type = shipped_type("salesforce");
    const RequestBuilder upserts(type, bound("account", R"({"external_id_field": "Ext__c"})"),
                                 json(kTokenSettings).get(), "upsert");
    const auto element = [&](const std::string &payload) {
        const ElementResult result = upserts.element(record("1", payload));
        EXPECT_TRUE(result.valid) << result.invalid_reason;
        return result.element;
    };
    EXPECT_EQ(element(R"({"Ext__c":"A-1","n":49.00,"o":{"a": [1, 2]}})"),
              R"({"Ext__c":"A-1","n":49.00,"o":{"a": [1, 2]},"attributes":{"type":"Account"}})");
    EXPECT_EQ(element("{}"), R"({"attributes":{"type":"Account"}})");
    // A field named "attributes" is overridden, wherever it is.
    EXPECT_EQ(element(R"({"attributes":{"type":"Lead"},"Ext__c":"A-1"})"),
              R"({"Ext__c":"A-1","attributes":{"type":"Account"}})");
    EXPECT_EQ(element(R"({"Ext__c":"A-1","attributes":"x"})"), R"({"Ext__c":"A-1","attributes":{"type":"Account"}})");
    // The key's text inside a value is not a member: kept as it is.
    EXPECT_EQ(element(R"({"Ext__c":"A-1","o":{"attributes":1},"s":"\"attributes\":"})"),
              R"({"Ext__c":"A-1","o":{"attributes":1},"s":"\"attributes\":","attributes":{"type":"Account"}})");
}

// Told the keys its payloads can have (as a sync tells it those of the
// mapping's fields), the renderer decides once whether the spliced members
// can be overridden: with none of their keys among them it needs no member
// spans and splices every payload; with one of them it keeps the way that
// overrides. Both write what an undeclared renderer writes.
TEST(Salesforce, DeclaredPayloadKeysDecideTheSpliceOnce) {
    const catalog::ActionDef action = bound("contact", R"({"external_id_field": "Ext__c"})");
    ASSERT_TRUE(action.element.has_value());
    const auto no_settings = [](const std::string &) { return std::optional<std::string>(); };
    const ElementRenderer undeclared(*action.element, no_settings);
    EXPECT_TRUE(undeclared.reads_payload_members());
    ElementRenderer plain(*action.element, no_settings), overriding(*action.element, no_settings);
    plain.declare_payload_keys({"Ext__c", "LastName", "attributes_of"});
    EXPECT_FALSE(plain.reads_payload_members());
    overriding.declare_payload_keys({"Ext__c", "attributes"});
    EXPECT_TRUE(overriding.reads_payload_members());
    const std::string none;
    const auto render = [&](const ElementRenderer &renderer, const std::string &payload,
                            const std::vector<JsonMemberSpan> &members = {}) {
        std::string out, problem;
        EXPECT_TRUE(renderer.render(payload, members, {none, none, none}, out, problem)) << problem;
        return out;
    };
    for (const std::string &payload : {std::string(R"({"Ext__c":"A-1","LastName":"Lee","attributes_of":1})"), std::string("{}"),
                                      std::string(R"({"LastName":"say \"attributes\":"})")})
        EXPECT_EQ(render(plain, payload), render(undeclared, payload)) << payload;
    const std::string overridden = R"({"Ext__c":"A-1","attributes":"x"})";
    EXPECT_EQ(render(overriding, overridden), R"({"Ext__c":"A-1","attributes":{"type":"Contact"}})");
    EXPECT_EQ(render(overriding, overridden, {{1, 8, 10, 5}, {16, 12, 29, 3}}),
              R"({"Ext__c":"A-1","attributes":{"type":"Contact"}})");
}

// Byte for byte what the parsing way writes: the same template with one more
// member, a field no payload has (so it is not spliced, and adds nothing),
// renders every payload the same.
TEST(Salesforce, SplicedElementsAreWhatParsingWrites) {
    const catalog::ActionDef action = bound("contact", R"({"external_id_field": "Ext__c"})");
    ASSERT_TRUE(action.element.has_value());
    catalog::ElementNode not_spliced = *action.element;
    catalog::ElementNode absent;
    absent.kind = catalog::ElementNode::Kind::Field;
    absent.field = "a field no payload has";
    not_spliced.keys.push_back("absent");
    not_spliced.values.push_back(absent);
    const auto no_settings = [](const std::string &) { return std::optional<std::string>(); };
    const ElementRenderer spliced(*action.element, no_settings), parsed(not_spliced, no_settings);
    std::vector<std::string> payloads = {
        "{}", R"({"Ext__c":1})", R"({"Ext__c":"A-1","LastName":null,"n":49.00,"big":123456789012345678901234567890})",
        R"({"o":{"attributes":{"type":"x"}},"s":"say \"attributes\": hi","u":"\u00e9\n"})",
        R"({"attributes":null})", R"({"a":[{"attributes":1}],"attributes":{"type":"Lead"},"z":{}})"};
    for (int i = 0; i < 50; ++i)
        payloads.push_back(R"({"Ext__c":)" + std::to_string(i * 7919) + R"(,"LastName":"N)" + std::to_string(i) +
                           R"(","p":{"k":[)" + std::to_string(i) + R"(,{"attributes":)" + std::to_string(i % 2) + "}]}}");
    for (const std::string &payload : payloads) {
        std::string one, other, problem;
        const std::string none;
        ASSERT_TRUE(spliced.render(payload, {}, {none, none, none}, one, problem)) << problem;
        ASSERT_TRUE(parsed.render(payload, {}, {none, none, none}, other, problem)) << problem;
        EXPECT_EQ(one, other) << payload;
    }
}

TEST(Salesforce, CustomObjectsAddsUpdatesAndDeletes) {
    const DestinationType &type = shipped_type("salesforce");
    const catalog::ActionDef action =
        bound("custom_object", R"({"sobject": "Pet__c", "external_id_field": "Tag__c"})");
    const auto settings = json(R"({"instance_url": "https://org.example", "access_token": "t", "api_version": "v58.0"})");
    const std::string base = "https://org.example/services/data/v58.0/composite/sobjects";
    const RequestBuilder upserts(type, action, settings.get(), "upsert");
    EXPECT_EQ(upserts.plan({record("1", R"({"Tag__c":"p1"})")})[0].request.url, base + "/Pet__c/Tag__c");
    const RequestBuilder adds(type, action, settings.get(), "add");
    const http::HttpRequest add = adds.plan({record("1", R"({"Tag__c":"p1","Name":"Rex"})")})[0].request;
    EXPECT_EQ(add.method, "POST");
    EXPECT_EQ(add.url, base);
    EXPECT_EQ(add.body, R"({"records":[{"Tag__c":"p1","Name":"Rex","attributes":{"type":"Pet__c"}}]})");
    // Updates and deletions go by Salesforce's kept id; a record without one
    // is not sent in them (the engine looks it up first: below).
    const RequestBuilder updates(type, action, settings.get(), "update");
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> updated =
        updates.plan({record("1", R"({"Name":"Rex"})", "a0A1"), record("2", R"({"Name":"Fido"})")}, &invalid);
    ASSERT_EQ(updated.size(), 1u);
    EXPECT_EQ(updated[0].request.method, "PATCH");
    EXPECT_EQ(updated[0].request.url, base);
    EXPECT_EQ(updated[0].request.body, R"({"records":[{"Name":"Rex","attributes":{"type":"Pet__c"},"id":"a0A1"}]})");
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].index, 1u);
    EXPECT_EQ(invalid[0].reason, "the destination has given no id for the record yet");
    const RequestBuilder deletes(type, action, settings.get(), "delete");
    invalid.clear();
    const std::vector<PlannedRequest> deleted = deletes.plan(
        {record("1", R"({"Tag__c":"p1"})", "a0A1"), record("2", R"({"Tag__c":"p2"})"), record("3", R"({"Tag__c":"p3"})", "a0A3")},
        &invalid);
    ASSERT_EQ(deleted.size(), 1u);
    EXPECT_EQ(deleted[0].request.method, "DELETE");
    EXPECT_EQ(deleted[0].request.url, base + "?allOrNone=false&ids=a0A1,a0A3");
    EXPECT_EQ(deleted[0].request.body, "");
    EXPECT_EQ(deleted[0].records, (std::vector<size_t>{0, 2}));
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].index, 1u);
}

// Records without a kept id are looked up first: a SOQL query by the
// external id field, its values as SOQL string literals.
TEST(Salesforce, LookupsQueryByTheExternalIdField) {
    const DestinationType &type = shipped_type("salesforce");
    const catalog::ActionDef action =
        bound("custom_object", R"({"sobject": "Pet__c", "external_id_field": "Tag__c"})");
    const auto settings = json(R"({"instance_url": "https://org.example", "access_token": "t", "api_version": "v58.0"})");
    for (const char *operation : {"delete", "update"}) {
        SCOPED_TRACE(operation);
        const catalog::LookupDef &lookup = *action.operations.at(operation).lookup;
        EXPECT_EQ(lookup.missing == catalog::LookupDef::Missing::Delivered, std::string(operation) == "delete");
        const RequestBuilder lookups(type, action, settings.get(), lookup);
        std::vector<InvalidRecord> invalid;
        // A quote and a backslash are escaped exactly; a record without the
        // key's value cannot be looked up.
        const std::vector<OutgoingRecord> records = {record("1", R"({"Tag__c":"p1","Name":"Rex"})"),
                                                     record("2", R"({"Tag__c":"O'Brien\\x"})"),
                                                     record("3", R"({"Name":"Nobody"})"),
                                                     record("4", R"({"Tag__c":42})")};
        const std::vector<PlannedRequest> planned = lookups.plan(records, &invalid);
        ASSERT_EQ(planned.size(), 1u);
        const http::HttpRequest &request = planned[0].request;
        EXPECT_EQ(request.method, "GET");
        EXPECT_EQ(request.url, "https://org.example/services/data/v58.0/query?q="
                               "SELECT%20Id%2C%20Tag__c%20FROM%20Pet__c%20WHERE%20Tag__c%20IN%20%28"
                               "%27p1%27%2C%27O%5C%27Brien%5C%5Cx%27%2C%2742%27%29");
        EXPECT_EQ(request.body, "");
        EXPECT_EQ(request.headers, (http::Headers{{"Authorization", "Bearer t"}}));
        EXPECT_EQ(planned[0].records, (std::vector<size_t>{0, 1, 3}));
        ASSERT_EQ(invalid.size(), 1u);
        EXPECT_EQ(invalid[0].index, 2u);
        // Answers name records by the external id field, in any order and
        // case; the one not listed has no id.
        EXPECT_EQ(lookups.record_key(records[1]), "O'Brien\\x");
        const std::vector<std::string> keys = {lookups.record_key(records[0]), lookups.record_key(records[1]),
                                               lookups.record_key(records[3])};
        const AnswerReading reading = read_answer(
            lookups.response(), 200,
            R"({"totalSize":2,"done":true,"records":[
                 {"attributes":{"type":"Pet__c","url":"/services/data/v58.0/sobjects/Pet__c/a0A2"},"Id":"a0A2","Tag__c":"o'brien\\x"},
                 {"attributes":{"type":"Pet__c"},"Id":"a0A1","Tag__c":"P1"}]})",
            3, keys);
        ASSERT_EQ(reading.verdict, AnswerReading::Verdict::PerRecord);
        EXPECT_EQ(reading.outcomes[0].object_id, "a0A1");
        EXPECT_EQ(reading.outcomes[1].object_id, "a0A2");
        EXPECT_EQ(reading.outcomes[2].fate, RecordFate::Delivered);
        EXPECT_EQ(reading.outcomes[2].object_id, "");
    }
    // SOQL's other escapes: the control characters it names.
    const RequestBuilder lookups(type, action, settings.get(), *action.operations.at("delete").lookup);
    EXPECT_NE(lookups.plan({record("1", R"({"Tag__c":"a\nb\tc\"d"})")})[0].request.url.find(
                  "%27a%5Cnb%5Ctc%22d%27"),
              std::string::npos);
}

// A lookup's URL stays within Salesforce's limit (8,000 bytes declared, of
// the 16,384 for the URI and headers together): long keys split the query.
TEST(Salesforce, LookupUrlsStayShort) {
    const DestinationType &type = shipped_type("salesforce");
    const catalog::ActionDef action = bound("account", R"({"external_id_field": "Ext__c"})");
    const RequestBuilder lookups(type, action, json(kTokenSettings).get(), *action.operations.at("delete").lookup);
    std::vector<OutgoingRecord> records;
    for (int i = 0; i < 200; ++i)
        records.push_back(record(std::to_string(i), R"({"Ext__c":")" + std::string(100, 'k') + std::to_string(i) + "\"}"));
    records.push_back(record("long", R"({"Ext__c":")" + std::string(8000, 'k') + "\"}"));
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> planned = lookups.plan(records, &invalid);
    size_t carried = 0;
    for (const PlannedRequest &request : planned) {
        EXPECT_LE(request.request.url.size(), 8000u);
        carried += request.records.size();
    }
    EXPECT_EQ(carried, 200u);
    EXPECT_EQ(planned.size(), 3u);   // ~108 bytes a key: 73 a request
    EXPECT_GT(planned[0].request.url.size(), 7800u);
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].index, 200u);
    EXPECT_EQ(invalid[0].reason.substr(0, 36), "the record's element makes a URL of ");
    // 200 short keys: one request, one page of answers (at most 2,000 rows).
    records.clear();
    for (int i = 0; i < 200; ++i)
        records.push_back(record(std::to_string(i), R"({"Ext__c":"A-)" + std::to_string(i) + "\"}"));
    EXPECT_EQ(lookups.plan(records).size(), 1u);
}

// Salesforce's limits are 403 REQUEST_LIMIT_EXCEEDED: the daily one ends the
// run, the concurrent one is retried; any other 403 is read by its status.
TEST(Salesforce, RequestLimitAnswers) {
    const DestinationType &type = shipped_type("salesforce");
    const catalog::ActionDef action = bound("account", R"({"external_id_field": "Ext__c"})");
    const std::string daily = R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])";
    const std::string concurrent =
        R"([{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])";
    const std::string session = R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])";
    for (const char *operation : {"upsert", "add", "update", "delete", "lookup"}) {
        SCOPED_TRACE(operation);
        const std::string name = operation;
        const RequestBuilder builder =
            name == "lookup" ? RequestBuilder(type, action, json(kTokenSettings).get(), *action.operations.at("delete").lookup)
                             : RequestBuilder(type, action, json(kTokenSettings).get(), name);
        EXPECT_EQ(read_answer(builder.response(), 403, daily, 1).verdict, AnswerReading::Verdict::Exhausted);
        EXPECT_EQ(read_answer(builder.response(), 403, concurrent, 1).verdict, AnswerReading::Verdict::Busy);
        EXPECT_EQ(read_answer(builder.response(), 403, session, 1).verdict, AnswerReading::Verdict::Status);
        EXPECT_EQ(read_answer(builder.response(), 400, concurrent, 1).verdict, AnswerReading::Verdict::Status);
        const http::HttpRequest request =
            builder.plan({record("1", R"({"Ext__c":"A-1"})", name == "lookup" ? "" : "001A")})[0].request;
        ASSERT_TRUE(static_cast<bool>(request.retry_also));
        http::HttpResponse response;
        response.status = 403;
        response.body = concurrent;
        EXPECT_TRUE(request.retry_also(response));
        response.body = daily;
        EXPECT_FALSE(request.retry_also(response));   // exhausted: the run ends, no retry
        response.body = session;
        EXPECT_FALSE(request.retry_also(response));
        response.status = 500;
        response.body = concurrent;
        EXPECT_FALSE(request.retry_also(response));
    }
}

TEST(Salesforce, ActionSettingsAreRequired) {
    const catalog::ActionDef &custom = *shipped_type("salesforce").find_action("custom_object");
    EXPECT_EQ(error_of([&] { catalog::validate_action_settings(shipped_type("salesforce"), custom, json("{}").get()); })
                  .sqlstate(),
              "22023");
}

TEST(Salesforce, OAuthRefreshAppliesWhenNoAccessTokenIsSet) {
    const DestinationType &type = shipped_type("salesforce");
    const catalog::ActionDef action = bound("lead", R"({"external_id_field": "Ext__c"})");
    const RequestBuilder requests(type, action, json(kOAuthSettings).get(), "upsert");
    ASSERT_TRUE(requests.oauth().has_value());
    const http::OAuthGrant &grant = *requests.oauth();
    EXPECT_EQ(grant.token_url, "https://org.example/services/oauth2/token");
    EXPECT_EQ(grant.client_id, "cid");
    EXPECT_EQ(grant.client_secret, "c s&cret");
    EXPECT_EQ(grant.refresh_token, "rt/1");
    http::HttpRequest request = requests.plan({record("1", R"({"Ext__c":"L1"})")})[0].request;
    EXPECT_EQ(request.url, "https://org.example/services/data/v62.0/composite/sobjects/Lead/Ext__c");
    EXPECT_EQ(header(request, "Authorization"), "(none)");   // the engine puts the token in
    set_bearer_token(request, "fetched");
    EXPECT_EQ(header(request, "Authorization"), "Bearer fetched");
    EXPECT_EQ(header(requests.masked(request), "Authorization"), "********");
    const SecretMasker masker = requests.secrets().with("fetched");
    EXPECT_EQ(masker.mask("token fetched, secret c s&cret, c%20s%26cret"), "token ********, secret ********, ********");
    // An access token, when set, wins: the first entry whose settings are set.
    const auto both = json(R"({"instance_url": "https://org.example", "access_token": "t", "client_id": "cid",
                              "client_secret": "s", "refresh_token": "r"})");
    EXPECT_FALSE(RequestBuilder(type, action, both.get(), "upsert").oauth().has_value());
}

TEST(Salesforce, OAuthRefreshEntriesAreChecked) {
    const auto definition = [](const std::string &auth) {
        return R"({"type": "t", "name": "T", "description": "d",
                   "settings": [{"key": "endpoint", "type": "string", "description": "u"},
                                {"key": "rt", "type": "string", "secret": true, "description": "r"}],
                   "request": {"method": "POST", "url": "{{settings.endpoint}}", "body": "array", "auth": [)" +
               auth + R"(]},
                   "actions": [{"key": "a", "name": "A", "description": "d", "sync_modes": ["added"],
                                "default_sync_mode": "added", "max_batch_records": 10,
                                "fields": [{"key": "f", "type": "string", "description": "f"}]}]})";
    };
    const auto problem = [&](const std::string &auth) {
        return error_of([&] { catalog::parse_destination_type(definition(auth)); }).message();
    };
    const DestinationType parsed = catalog::parse_destination_type(definition(
        R"({"type": "oauth_refresh", "token_url": "{{settings.endpoint}}/token", "client_id": "c",
            "client_secret": "s", "refresh_token": "{{settings.rt}}"})"));
    ASSERT_EQ(parsed.request.auth.size(), 1u);
    EXPECT_EQ(parsed.request.auth[0].kind, catalog::AuthKind::OAuthRefresh);
    const std::string prefix = "invalid definition of destination type \"t\": request.auth[0]";
    EXPECT_EQ(problem(R"({"type": "oauth_refresh", "token_url": "https://fixed.example/token", "client_id": "c",
                          "client_secret": "s", "refresh_token": "{{settings.rt}}"})"),
              prefix + ".token_url must start with {{settings.url}}, {{settings.endpoint}}, {{settings.instance_url}} or {{settings.webhook_url}}");
    EXPECT_EQ(problem(R"({"type": "oauth_refresh", "token": "x"})").substr(0, prefix.size()), prefix);
    EXPECT_EQ(problem(R"({"type": "oauth"})"),
              prefix + ".type \"oauth\" is not an auth type (bearer, basic, header, query, oauth_refresh, jwt_bearer)");
}

http::HttpResponse answer(long status, const std::string &body) {
    http::HttpResponse response;
    response.status = status;
    response.body = body;
    return response;
}

TEST(OAuthToken, TheGrantIsAFormPost) {
    const http::HttpRequest request =
        http::token_request({"https://org.example/services/oauth2/token", "id 1", "s&cret", "r=t"}, 0);
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.url, "https://org.example/services/oauth2/token");
    EXPECT_EQ(request.body, "grant_type=refresh_token&client_id=id%201&client_secret=s%26cret&refresh_token=r%3Dt");
    EXPECT_EQ(header(request, "Content-Type"), "application/x-www-form-urlencoded");
}

TEST(OAuthToken, AnswersAndRefusals) {
    EXPECT_EQ(http::read_token_answer(answer(200, R"({"access_token":"00D!x","token_type":"Bearer"})")).access_token,
              "00D!x");
    EXPECT_EQ(http::read_token_answer(answer(400, R"({"error":"invalid_grant","error_description":"expired access/refresh token"})"))
                  .refusal,
              "HTTP 400: invalid_grant: expired access/refresh token");
    EXPECT_EQ(http::read_token_answer(answer(400, R"({"error":"invalid_client"})")).refusal, "HTTP 400: invalid_client");
    EXPECT_EQ(http::read_token_answer(answer(200, R"({"token_type":"Bearer"})")).refusal,
              "HTTP 200: the answer has no access_token");
    EXPECT_EQ(http::read_token_answer(answer(503, "down")).refusal, "HTTP 503: down");
    http::HttpResponse none;
    none.transport_error = "timeout (libcurl: Operation timed out)";
    EXPECT_EQ(http::read_token_answer(none).refusal, "timeout (libcurl: Operation timed out)");
}

TEST(OAuthToken, CachedPerDestinationAndCredentialsRefreshedOnce) {
    http::forget_access_tokens();
    const http::OAuthGrant grant{"https://org.example/t", "c", "s", "r"};
    int grants = 0;
    const http::TokenSender send = [&](http::HttpRequest) {
        ++grants;
        return answer(200, R"({"access_token":"tok-)" + std::to_string(grants) + R"("})");
    };
    http::AccessToken first(grant, 7);
    EXPECT_EQ(first.get(send), "tok-1");
    EXPECT_EQ(first.get(send), "tok-1");
    // Another run of the destination in this process: the cached token.
    http::AccessToken second(grant, 7);
    EXPECT_EQ(second.get(send), "tok-1");
    EXPECT_EQ(grants, 1);
    // Other credentials or another destination: never the cached token.
    http::AccessToken altered(http::OAuthGrant{"https://org.example/t", "c", "s2", "r"}, 7);
    EXPECT_EQ(altered.get(send), "tok-2");
    http::AccessToken other(grant, 8);
    EXPECT_EQ(other.get(send), "tok-3");
    EXPECT_NE(http::token_cache_key(7, grant), http::token_cache_key(8, grant));
    // The key holds no credential: the destination and a SHA-256.
    EXPECT_EQ(http::token_cache_key(7, grant).substr(0, 2), "7/");
    EXPECT_EQ(http::token_cache_key(7, grant).size(), 2u + 64u);
    // A 401 with tok-1: one new token; the other requests refused with tok-1
    // take it without another grant.
    EXPECT_EQ(first.refresh(send, "tok-1"), "tok-4");
    EXPECT_EQ(first.refresh(send, "tok-1"), "tok-4");
    EXPECT_EQ(grants, 4);
    EXPECT_EQ(http::AccessToken(grant, 7).get(send), "tok-4");   // the cache has the new one
    // A refused refresh: Error 28000 with the endpoint's words, nothing cached.
    const http::TokenSender refuse = [](http::HttpRequest) {
        return answer(400, R"({"error":"invalid_grant","error_description":"expired access/refresh token"})");
    };
    const Error error = error_of([&] { first.refresh(refuse, "tok-4"); });
    EXPECT_EQ(error.sqlstate(), "28000");
    EXPECT_EQ(error.message(),
              "could not get an access token from the destination: HTTP 400: invalid_grant: expired access/refresh token");
    EXPECT_EQ(first.current(), "");
    EXPECT_EQ(http::AccessToken(grant, 7).get(send), "tok-5");
    http::forget_access_tokens();
}

// What the delivery loop asks before it sends from inside a transaction.
TEST(OAuthToken, HeldOnlyWhileGetNeedsNoGrant) {
    http::forget_access_tokens();
    const http::OAuthGrant grant{"https://org.example/t", "c", "s", "r"};
    const http::TokenSender lasting = [](http::HttpRequest) {
        return answer(200, R"({"access_token":"tok-long","expires_in":3600})");
    };
    http::AccessToken token(grant, 7);
    EXPECT_FALSE(token.held());
    EXPECT_EQ(token.get(lasting), "tok-long");
    EXPECT_TRUE(token.held());
    // A token about to expire (within the margin get() keeps) is not held:
    // get() would ask for a new one.
    http::forget_access_tokens();
    const http::TokenSender brief = [](http::HttpRequest) {
        return answer(200, R"({"access_token":"tok-brief","expires_in":1})");
    };
    http::AccessToken expiring(grant, 8);
    EXPECT_EQ(expiring.get(brief), "tok-brief");
    EXPECT_FALSE(expiring.held());
    // After a refused refresh nothing is held.
    const http::TokenSender refuse = [](http::HttpRequest) {
        return answer(400, R"({"error":"invalid_grant"})");
    };
    error_of([&] { token.refresh(refuse, "tok-long"); });
    EXPECT_FALSE(token.held());
    http::forget_access_tokens();
}

}  // namespace
}  // namespace reverse_etl::destinations
