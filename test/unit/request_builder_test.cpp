// destinations/request_builder: requests as a destination type's definition
// describes them (method, URL, headers, auth, signing, body shape, record
// extras), batch splitting by record count and by bytes, invalid records, and
// masking of what a user may see.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/destination_type.hpp"
#include "common/json_text.hpp"
#include "common/version.hpp"
#include "destinations/request_builder.hpp"
#include "http/crypto.hpp"
#include "test_support.hpp"

namespace reverse_etl::destinations {
namespace {

using catalog::DestinationType;
using catalog::parse_destination_type;
using test::error_of;
using test::json;

const DestinationType &webhook() {
    static const DestinationType type = parse_destination_type(test::repository_file("src/destinations/webhook.json"));
    return type;
}
const DestinationType &segment() {
    static const DestinationType type = parse_destination_type(test::repository_file("src/destinations/segment.json"));
    return type;
}

// A type whose one action has the given limits and body, for splitting tests.
DestinationType limited_type(const std::string &body, int max_records, int max_bytes, int max_record_bytes = 0) {
    std::string limits = "\"max_batch_records\": " + std::to_string(max_records);
    if (max_bytes > 0)
        limits += ", \"max_batch_bytes\": " + std::to_string(max_bytes);
    if (max_record_bytes > 0)
        limits += ", \"max_record_bytes\": " + std::to_string(max_record_bytes);
    return parse_destination_type(R"({
        "type": "limited", "name": "Limited", "description": "A test type.",
        "settings": [{"key": "url", "type": "string", "required": true, "description": "Where."},
                     {"key": "api_key", "type": "string", "secret": true, "description": "Key."},
                     {"key": "size", "type": "integer", "minimum": 1, "description": "Batch size."}],
        "request": {"method": "PATCH", "url": "{{settings.url}}/items?key={{settings.api_key}}",
                    "batch_size": {"setting": "size", "default": 1000},
                    "body": )" + body + R"(, "headers": {"X-Key": "k={{settings.api_key}}"}},
        "actions": [{"key": "put", "name": "Put", "description": "Puts.",
                     "sync_modes": ["upsert"], "default_sync_mode": "upsert", "free_fields": true,
                     "fields": [], )" + limits + "}]}");
}

OutgoingRecord record(const std::string &id, const std::string &payload, const std::string &message_id = {}) {
    return OutgoingRecord{id, payload, message_id};
}

// n records {"i":k} with payloads padded to `bytes` bytes each.
std::vector<OutgoingRecord> records(size_t n, size_t bytes = 0) {
    std::vector<OutgoingRecord> result;
    for (size_t k = 0; k < n; ++k) {
        std::string payload = "{\"i\":" + std::to_string(k);
        if (bytes > payload.size() + 8)
            payload += ",\"p\":\"" + std::string(bytes - payload.size() - 8, 'x') + "\"";
        payload += "}";
        result.push_back(record("r" + std::to_string(k), payload, "m" + std::to_string(k)));
    }
    return result;
}

std::string header(const http::HttpRequest &request, const std::string &name) {
    const std::string *value = http::find_header(request.headers, name);
    return value ? *value : "(absent)";
}

std::vector<size_t> sizes(const std::vector<PlannedRequest> &requests) {
    std::vector<size_t> result;
    for (const PlannedRequest &request : requests)
        result.push_back(request.records.size());
    return result;
}

TEST(RequestBuilder, WebhookOneRecordPerRequestSendsTheObject) {
    const RequestBuilder builder(webhook(), webhook().actions[0], json(R"({"url": "https://hooks.example/in"})").get());
    EXPECT_EQ(builder.max_records_per_request(), 1u);
    EXPECT_EQ(builder.max_bytes_per_request(), 5242880u);
    EXPECT_FALSE(builder.needs_message_id());
    EXPECT_FALSE(builder.timeout_interval().has_value());

    const std::vector<OutgoingRecord> input = {record("1", R"({"a":49.00})"), record("2", R"({"b":"é"})")};
    const std::vector<PlannedRequest> requests = builder.plan(input);
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].request.method, "POST");
    EXPECT_EQ(requests[0].request.url, "https://hooks.example/in");
    EXPECT_EQ(requests[0].request.body, R"({"a":49.00})");   // digits as the payload wrote them
    EXPECT_EQ(requests[1].request.body, R"({"b":"é"})");
    EXPECT_EQ(requests[1].records, std::vector<size_t>{1});
    EXPECT_EQ(requests[0].request.headers, (http::Headers{{"Content-Type", "application/json"}}));
}

TEST(RequestBuilder, BatchesSplitByCountAndAShortLastBatchIsStillAnArray) {
    const RequestBuilder builder(webhook(), webhook().actions[0],
                                 json(R"({"url": "https://h.example/", "batch_size": 3, "method": "PUT"})").get());
    EXPECT_EQ(builder.max_records_per_request(), 3u);
    const std::vector<PlannedRequest> requests = builder.plan(records(7));
    EXPECT_EQ(sizes(requests), (std::vector<size_t>{3, 3, 1}));
    EXPECT_EQ(requests[0].request.method, "PUT");
    EXPECT_EQ(requests[0].request.body, R"([{"i":0},{"i":1},{"i":2}])");
    EXPECT_EQ(requests[2].request.body, R"([{"i":6}])");
    EXPECT_EQ(requests[2].records, std::vector<size_t>{6});
    EXPECT_TRUE(builder.plan({}).empty());
}

TEST(RequestBuilder, TheActionsMaximumCapsTheBatchSize) {
    const DestinationType type = limited_type("\"array\"", 4, 0);
    EXPECT_EQ(RequestBuilder(type, type.actions[0], json(R"({"url": "https://h.example", "api_key": "k"})").get()).max_records_per_request(),
              4u);   // the definition's default of 1000, capped
    EXPECT_EQ(RequestBuilder(type, type.actions[0], json(R"({"url": "https://h.example", "api_key": "k", "size": 2})").get())
                  .max_records_per_request(),
              2u);
    // A user-set size below 1 (the setting's minimum is checked elsewhere) still means 1.
    EXPECT_EQ(RequestBuilder(type, type.actions[0], json(R"({"url": "https://h.example", "api_key": "k", "size": -5})").get())
                  .max_records_per_request(),
              1u);
    // "array" keeps the array even for one record.
    const RequestBuilder single(type, type.actions[0], json(R"({"url": "https://h.example", "api_key": "k", "size": 1})").get());
    EXPECT_EQ(single.plan(records(1))[0].request.body, R"([{"i":0}])");
}

TEST(RequestBuilder, BatchesSplitByBytesExactly) {
    // "[" + elements joined by "," + "]" must stay within 100 bytes.
    const DestinationType type = limited_type("\"array\"", 1000, 100);
    const RequestBuilder builder(type, type.actions[0], json(R"({"url": "https://h.example", "api_key": "k"})").get());
    // 30-byte elements: 2 + 3*30 + 2 = 94 fits, a fourth would make 125.
    std::vector<PlannedRequest> requests = builder.plan(records(7, 30));
    EXPECT_EQ(sizes(requests), (std::vector<size_t>{3, 3, 1}));
    for (const PlannedRequest &request : requests) {
        EXPECT_LE(request.request.body.size(), 100u);
        EXPECT_TRUE(is_json_text(request.request.body));
    }
    EXPECT_EQ(requests[0].request.body.size(), 94u);
    // Exactly at the limit: 2 + 2*49 - ... two elements of 48 bytes: 1 + 48 + 1 + 48 + 1 = 99;
    // 49 bytes each make 101, one per request. One alone of 98 bytes fits exactly.
    EXPECT_EQ(sizes(builder.plan(records(4, 48))), (std::vector<size_t>{2, 2}));
    EXPECT_EQ(sizes(builder.plan(records(4, 49))), (std::vector<size_t>{1, 1, 1, 1}));
    EXPECT_TRUE(builder.fits_alone(98));
    EXPECT_FALSE(builder.fits_alone(99));

    // A record too big for any request is invalid, and the others still go.
    std::vector<OutgoingRecord> input = records(3, 30);
    input[1] = record("big", "{\"p\":\"" + std::string(100, 'x') + "\"}");
    std::vector<InvalidRecord> invalid;
    requests = builder.plan(input, &invalid);
    EXPECT_EQ(sizes(requests), (std::vector<size_t>{2}));
    EXPECT_EQ(requests[0].records, (std::vector<size_t>{0, 2}));
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].index, 1u);
    EXPECT_EQ(invalid[0].reason, "payload is 110 bytes, over the 100-byte limit of a \"put\" request");
    const ElementResult element = builder.element(input[1]);
    EXPECT_FALSE(element.valid);
    EXPECT_EQ(element.invalid_reason, invalid[0].reason);
    // Without the out-parameter invalid records are just left out.
    EXPECT_EQ(sizes(builder.plan(input)), (std::vector<size_t>{2}));
}

TEST(RequestBuilder, PerRecordByteLimit) {
    const DestinationType type = limited_type("\"array\"", 1000, 1000, 40);
    const RequestBuilder builder(type, type.actions[0], json(R"({"url": "https://h.example", "api_key": "k"})").get());
    std::vector<InvalidRecord> invalid;
    const auto requests = builder.plan(records(3, 41), &invalid);
    EXPECT_TRUE(requests.empty());
    ASSERT_EQ(invalid.size(), 3u);
    EXPECT_EQ(invalid[2].reason, "the record is 41 bytes as JSON; the destination accepts at most 40 bytes per record");
    EXPECT_EQ(sizes(builder.plan(records(3, 40))), (std::vector<size_t>{3}));
}

TEST(RequestBuilder, WrappedBodiesCountTheirWrapper) {
    // {"items":[ ... ]} adds 12 bytes around the elements.
    const DestinationType type = limited_type(R"({"wrap": "items"})", 1000, 100);
    const RequestBuilder builder(type, type.actions[0], json(R"({"url": "https://h.example", "api_key": "k"})").get());
    const std::vector<PlannedRequest> requests = builder.plan(records(5, 20));
    // 12 + 4*20 + 3 = 95 fits; a fifth element would make 116.
    EXPECT_EQ(sizes(requests), (std::vector<size_t>{4, 1}));
    EXPECT_EQ(requests[1].request.body, R"({"items":[{"i":4,"p":"xxxxxx"}]})");
    EXPECT_TRUE(builder.fits_alone(88));
    EXPECT_FALSE(builder.fits_alone(89));
}

TEST(RequestBuilder, SettingsInTheUrlAreEncodedAndHeadersBuiltFromThem) {
    const DestinationType type = limited_type("\"array\"", 10, 0);
    const RequestBuilder builder(type, type.actions[0],
                                 json(R"({"url": "https://h.example/base/", "api_key": "a b/c?d&é"})").get());
    const PlannedRequest planned = builder.plan(records(1))[0];
    EXPECT_EQ(planned.request.method, "PATCH");
    // The base URL as written (its final slash dropped before the path); other settings percent-encoded.
    EXPECT_EQ(planned.request.url, "https://h.example/base/items?key=a%20b%2Fc%3Fd%26%C3%A9");
    EXPECT_EQ(header(planned.request, "X-Key"), "k=a b/c?d&é");
    // What a user may see: the secret masked in every form it travels in.
    const http::HttpRequest shown = builder.masked(planned.request);
    EXPECT_EQ(shown.url, "https://h.example/base/items?key=********");
    EXPECT_EQ(header(shown, "X-Key"), "********");   // built from a secret setting: masked whole
    EXPECT_EQ(shown.body, planned.request.body);
}

TEST(RequestBuilder, RecordPlaceholdersInTheUrlMeanOneRecordPerRequest) {
    const RequestBuilder by_id(webhook(), webhook().actions[0],
                               json(R"({"url": "https://h.example/users/{{record_id}}", "batch_size": 50})").get());
    EXPECT_EQ(by_id.max_records_per_request(), 1u);
    const std::vector<PlannedRequest> requests = by_id.plan({record("a/b c", "{}"), record("é", "{}")});
    ASSERT_EQ(requests.size(), 2u);
    EXPECT_EQ(requests[0].request.url, "https://h.example/users/a%2Fb%20c");
    EXPECT_EQ(requests[1].request.url, "https://h.example/users/%C3%A9");
    EXPECT_EQ(requests[0].request.body, "{}");

    const RequestBuilder by_field(webhook(), webhook().actions[0],
                                  json(R"({"url": "https://h.example/{{fields.kind}}/{{fields.n}}"})").get());
    EXPECT_EQ(by_field.plan({record("1", R"({"kind":"a b","n":1.50})")})[0].request.url, "https://h.example/a%20b/1.50");
    EXPECT_EQ(by_field.plan({record("1", R"({"kind":true,"n":-0})")})[0].request.url, "https://h.example/true/-0");
    std::vector<InvalidRecord> invalid;
    const auto none = by_field.plan({record("1", R"({"n":1})"), record("2", R"({"kind":null,"n":1})"),
                                     record("3", R"({"kind":"","n":1})"), record("4", R"({"kind":{"a":1},"n":1})"),
                                     record("5", R"({"kind":[1],"n":1})")},
                                    &invalid);
    EXPECT_TRUE(none.empty());
    ASSERT_EQ(invalid.size(), 5u);
    const std::string placeholder = "the URL's placeholder {{fields.kind}}";
    EXPECT_EQ(invalid[0].reason, placeholder + " has no value: the field is null or not mapped");
    EXPECT_EQ(invalid[1].reason, placeholder + " has no value: the field is null or not mapped");
    EXPECT_EQ(invalid[2].reason, placeholder + " has an empty value");
    EXPECT_EQ(invalid[3].reason, placeholder + " is an object; a URL needs a string, number or boolean");
    EXPECT_EQ(invalid[4].reason, placeholder + " is an array; a URL needs a string, number or boolean");
}

RequestBuilder webhook_builder(const std::string &settings) {
    return RequestBuilder(webhook(), webhook().actions[0], json(settings).get());
}

TEST(RequestBuilder, AuthAlternativesUserHeadersAndSigning) {
    // The first auth entry whose settings are all set applies.
    const RequestBuilder bearer_builder = webhook_builder(R"({"url": "https://h.example", "bearer_token": "tok",
                                                              "basic_username": "u", "basic_password": "pa55word"})");
    const PlannedRequest bearer = bearer_builder.plan(records(1))[0];
    EXPECT_EQ(header(bearer.request, "Authorization"), "Bearer tok");
    const PlannedRequest basic = webhook_builder(R"({"url": "https://h.example", "basic_username": "Aladdin",
                                                     "basic_password": "open sesame"})")
                                     .plan(records(1))[0];
    EXPECT_EQ(header(basic.request, "Authorization"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    // Half a Basic pair is no auth at all.
    EXPECT_EQ(header(webhook_builder(R"({"url": "https://h.example", "basic_username": "u"})").plan(records(1))[0].request,
                     "Authorization"),
              "(absent)");

    // User headers override the definition's (any case), auth overrides user headers.
    const RequestBuilder headers = webhook_builder(R"({"url": "https://h.example", "bearer_token": "tok",
        "headers": {"content-type": "application/vnd.api+json", "X-Api-Key": "k1", "authorization": "mine"}})");
    const http::HttpRequest request = headers.plan(records(1))[0].request;
    EXPECT_EQ(request.headers, (http::Headers{{"Content-Type", "application/vnd.api+json"},
                                              {"X-Api-Key", "k1"},
                                              {"authorization", "Bearer tok"}}));
    // Credentials and user header values are masked for display; other headers are not.
    const http::HttpRequest shown = headers.masked(request);
    EXPECT_EQ(shown.headers, (http::Headers{{"Content-Type", "********"},
                                            {"X-Api-Key", "********"},
                                            {"authorization", "********"}}));
    EXPECT_EQ(header(bearer_builder.masked(bearer.request), "Content-Type"), "application/json");
    EXPECT_EQ(header(bearer_builder.masked(bearer.request), "Authorization"), "********");

    // Signing: HMAC-SHA256 of the exact body bytes.
    const RequestBuilder signing = webhook_builder(
        R"({"url": "https://h.example", "signing_secret": "s3cret", "batch_size": 2})");
    for (const PlannedRequest &planned : signing.plan(records(3))) {
        EXPECT_EQ(header(planned.request, "X-Signature"),
                  "sha256=" + http::hmac_sha256_hex("s3cret", planned.request.body));
        // A signature is not a secret: shown as it is.
        EXPECT_EQ(header(signing.masked(planned.request), "X-Signature"), header(planned.request, "X-Signature"));
    }
    EXPECT_EQ(header(webhook_builder(R"({"url": "https://h.example"})").plan(records(1))[0].request, "X-Signature"),
              "(absent)");
}

TEST(RequestBuilder, SignatureHeaderSetting) {
    // GitHub's receivers: the same sha256=<hex>, in X-Hub-Signature-256.
    const RequestBuilder github = webhook_builder(
        R"({"url": "https://h.example", "signing_secret": "s3cret", "signature_header": "X-Hub-Signature-256"})");
    const http::HttpRequest request = github.plan(records(1))[0].request;
    EXPECT_EQ(header(request, "X-Hub-Signature-256"), "sha256=" + http::hmac_sha256_hex("s3cret", request.body));
    EXPECT_EQ(header(request, "X-Signature"), "(absent)");
    EXPECT_FALSE(request.attempt_headers);   // the same bytes sign every attempt alike
    // Checked again when requests are built, as validate_settings does.
    const Error owned = error_of([] {
        webhook_builder(R"({"url": "https://h.example", "signing_secret": "s", "signature_header": "Host"})");
    });
    EXPECT_EQ(owned.sqlstate(), "22023");
    EXPECT_EQ(owned.message(), "setting \"signature_header\": header \"Host\" cannot be set");
}

// Standard Webhooks' example: key whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,
// id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330, body {"test": 2432232314}.
// The expected signature was computed apart from this code:
//   key=$(printf MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw | base64 -d | xxd -p | tr -d '\n')
//   printf '%s' 'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{"test": 2432232314}' |
//     openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64
// (Python's hmac and base64 modules give the same.)
TEST(RequestBuilder, StandardWebhooksKnownVector) {
    const std::optional<std::string> key = http::base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(standard_webhooks_headers(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
              (http::Headers{{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"},
                             {"webhook-timestamp", "1614265330"},
                             {"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}}));
    // printf 'retl-7-aa-1\nretl-7-bb-2\n' | sha256sum: 4651eaa9db6ca25a67d1801ba22bc169...
    EXPECT_EQ(webhook_id({"retl-7-aa-1", "retl-7-bb-2"}), "msg_4651eaa9db6ca25a67d1801ba22bc169");
    // The order of the records is part of the request.
    EXPECT_EQ(webhook_id({"retl-7-bb-2", "retl-7-aa-1"}), "msg_e12627331aee4763e448ac556794f76c");
}

TEST(RequestBuilder, StandardWebhooksSigning) {
    const std::string settings = R"({"url": "https://h.example", "batch_size": 2, "signature_scheme": "standard-webhooks",
                                     "signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})";
    const RequestBuilder builder = webhook_builder(settings);
    EXPECT_TRUE(builder.needs_message_id());
    const std::vector<PlannedRequest> planned = builder.plan(records(3));
    ASSERT_EQ(planned.size(), 2u);
    const std::string key = *http::base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    for (const PlannedRequest &sent : planned) {
        const http::HttpRequest &request = sent.request;
        EXPECT_EQ(header(request, "X-Signature"), "(absent)");
        const std::string id = header(request, "webhook-id");
        const std::string stamp = header(request, "webhook-timestamp");
        EXPECT_EQ(header(request, "webhook-signature"),
                  "v1," + http::base64_encode(http::hmac_sha256(key, id + "." + stamp + "." + request.body)));
        // Signed again at each attempt: the same id, the time and signature of then.
        ASSERT_TRUE(request.attempt_headers);
        http::HttpRequest later = request;
        later.body += " ";   // what the client passes is what is signed
        const http::Headers again = request.attempt_headers(later);
        ASSERT_EQ(again.size(), 3u);
        EXPECT_EQ(again[0], (std::pair<std::string, std::string>("webhook-id", id)));
        EXPECT_GE(std::stoll(again[1].second), std::stoll(stamp));
        EXPECT_EQ(again[2].second,
                  "v1," + http::base64_encode(http::hmac_sha256(key, id + "." + again[1].second + "." + later.body)));
    }
    // The id is the records' message ids': the same records, the same id, in a
    // later run too; other records, another id.
    EXPECT_EQ(header(planned[0].request, "webhook-id"), webhook_id({"m0", "m1"}));
    EXPECT_EQ(header(planned[1].request, "webhook-id"), webhook_id({"m2"}));
    EXPECT_EQ(header(webhook_builder(settings).build(records(3), {0, 1}).request, "webhook-id"),
              header(planned[0].request, "webhook-id"));
    // A record without one is a caller bug.
    EXPECT_EQ(error_of([&] { builder.plan({record("r", "{}")}); }).sqlstate(), "XX000");
    // The secret is masked wherever it could show; the signature is not secret.
    EXPECT_EQ(builder.secrets().mask("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "********");
    EXPECT_EQ(header(builder.masked(planned[0].request), "webhook-signature"),
              header(planned[0].request, "webhook-signature"));
}

TEST(RequestBuilder, SecretsAreFoundInWhatComesBack) {
    const RequestBuilder builder = webhook_builder(R"({"url": "https://h.example", "bearer_token": "t0k/en",
        "basic_username": "u", "basic_password": "pw", "headers": {"X-Key": "hk"}})");
    const SecretMasker &secrets = builder.secrets();
    EXPECT_EQ(secrets.mask("echo: Bearer t0k/en"), "echo: Bearer ********");
    EXPECT_EQ(secrets.mask("q=t0k%2Fen"), "q=********");
    EXPECT_EQ(secrets.mask(R"({"auth":"t0k\/en"})"), R"({"auth":"********"})");
    EXPECT_EQ(secrets.mask("hk pw"), "******** ********");
    // The Basic pair's base64, with and without padding (an entry that could apply).
    EXPECT_EQ(secrets.mask("Basic dTpwdw=="), "Basic ********");
    EXPECT_EQ(secrets.mask("dTpwdw"), "********");
    EXPECT_FALSE(secrets.occurs_in("nothing here"));
}

TEST(RequestBuilder, SegmentBatchesWithRecordExtras) {
    const catalog::ActionDef &identify = *segment().find_action("identify");
    const RequestBuilder builder(segment(), identify, json(R"({"write_key": "wk"})").get());
    EXPECT_TRUE(builder.needs_message_id());
    EXPECT_EQ(builder.max_records_per_request(), 2500u);
    EXPECT_EQ(builder.max_bytes_per_request(), 512000u);

    const std::vector<PlannedRequest> requests = builder.plan({record("1", R"({"userId":"1","n":49.00})", "m-1"),
                                                               record("2", "{}", "m-2")});
    ASSERT_EQ(requests.size(), 1u);
    const http::HttpRequest &request = requests[0].request;
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.url, "https://api.segment.io/v1/batch");
    EXPECT_EQ(header(request, "Authorization"), "Basic " + http::base64_encode("wk:"));
    EXPECT_EQ(header(request, "Content-Type"), "application/json");
    const std::string context = std::string(R"("context":{"library":{"name":"reverse_etl","version":")") +
                                kExtensionVersion + "\"}}";
    // Extras are spliced after the payload's members: its numbers keep their digits.
    EXPECT_EQ(request.body, R"({"batch":[{"userId":"1","n":49.00,"type":"identify","messageId":"m-1",)" + context +
                                R"(},{"type":"identify","messageId":"m-2",)" + context + "}]}");
    EXPECT_TRUE(is_json_text(request.body));
    EXPECT_EQ(builder.secrets().mask(request.headers[1].second), "Basic ********");

    // A message id that needs escaping is escaped; a missing one is a caller bug.
    EXPECT_NE(builder.element(record("3", "{}", "a\"b")).element.find(R"("messageId":"a\"b")"), std::string::npos);
    const Error error = error_of([&] { builder.element(record("r9", "{}")); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    EXPECT_EQ(error.message(), "record \"r9\" has no message_id");
}

TEST(RequestBuilder, SegmentSplitsAtItsCountAndByteLimits) {
    const catalog::ActionDef &track = *segment().find_action("track");
    const RequestBuilder builder(segment(), track, json(R"({"write_key": "wk", "endpoint": "https://proxy.example/seg/"})").get());
    // 2600 small events: 2500 then 100 (count limit first).
    std::vector<PlannedRequest> requests = builder.plan(records(2600));
    EXPECT_EQ(sizes(requests), (std::vector<size_t>{2500, 100}));
    EXPECT_EQ(requests[0].request.url, "https://proxy.example/seg/v1/batch");
    EXPECT_EQ(requests[1].records.front(), 2500u);
    EXPECT_EQ(requests[1].records.back(), 2599u);
    // 1000 events of about 1 KB: the 512000-byte limit splits them first.
    requests = builder.plan(records(1000, 1000));
    size_t total = 0;
    for (const PlannedRequest &planned : requests) {
        EXPECT_LE(planned.request.body.size(), 512000u);
        EXPECT_TRUE(is_json_text(planned.request.body));
        total += planned.records.size();
    }
    EXPECT_EQ(total, 1000u);
    ASSERT_GE(requests.size(), 2u);
    // Greedy: each request but the last would overflow with the next element.
    const size_t element = builder.element(records(1, 1000)[0]).element.size();
    EXPECT_GT(requests[0].request.body.size() + 1 + element, 512000u);
    // Over Segment's 32 KB per event: invalid.
    std::vector<InvalidRecord> invalid;
    builder.plan(records(1, 33000), &invalid);
    ASSERT_EQ(invalid.size(), 1u);
    EXPECT_EQ(invalid[0].reason.rfind("the record is ", 0), 0u) << invalid[0].reason;
}

TEST(RequestBuilder, BuildCarriesExactlyTheRecordsAsked) {
    const RequestBuilder builder = webhook_builder(R"({"url": "https://h.example", "batch_size": 3})");
    const std::vector<OutgoingRecord> input = records(5);
    const PlannedRequest half = builder.build(input, {4, 1});
    EXPECT_EQ(half.records, (std::vector<size_t>{4, 1}));
    EXPECT_EQ(half.request.body, R"([{"i":4},{"i":1}])");

    const auto bug = [&](const std::vector<size_t> &indexes) {
        const Error error = error_of([&] { builder.build(input, indexes); });
        EXPECT_EQ(error.sqlstate(), "XX000");
        return error.message();
    };
    EXPECT_EQ(bug({}), "a request must carry from 1 to 3 records, not 0");
    EXPECT_EQ(bug({0, 1, 2, 3}), "a request must carry from 1 to 3 records, not 4");
    EXPECT_EQ(bug({5}), "record index 5 is out of range");
    std::vector<OutgoingRecord> with_bad = input;
    with_bad[0].payload = "[1]";
    EXPECT_EQ(error_of([&] { builder.build(with_bad, {0}); }).message(), "payload of record \"r0\" is not a JSON object");
    EXPECT_EQ(error_of([&] { builder.plan(with_bad); }).sqlstate(), "XX000");
}

TEST(RequestBuilder, SettingsThatCannotMakeARequest) {
    Error error = error_of([] { webhook_builder("{}"); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "setting \"url\" is not set");
    EXPECT_EQ(error.hint(), "Set it with alter_destination.");
    // What validate_settings refuses is refused here too (the same rules).
    error = error_of([] { webhook_builder(R"({"url": "https://h.example", "bearer_token": "a\nb"})"); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "setting \"bearer_token\" contains a line feed (U+000A), which header \"Authorization\" cannot carry");
    EXPECT_EQ(error.message().find("a\nb"), std::string::npos);
    error = error_of([] { webhook_builder(R"({"url": "https://h.example", "headers": {"Host": "evil"}})"); });
    EXPECT_EQ(error.message(), "setting \"headers\": header \"Host\" cannot be set");
    error = error_of([] { webhook_builder(R"({"url": "https://h.example", "headers": {"X": 1}})"); });
    EXPECT_EQ(error.message(), "setting \"headers\": value of header \"X\" is not a string");
    error = error_of([] { webhook_builder(R"({"url": "https://h.example/{{settings.url}}"})"); });
    EXPECT_EQ(error.message(), "invalid placeholder \"{{settings.url}}\" in setting \"url\"");
    // The timeout is passed on for the engine to read.
    EXPECT_EQ(webhook_builder(R"({"url": "https://h.example", "timeout": "5 seconds"})").timeout_interval(),
              std::optional<std::string>("5 seconds"));
}

}  // namespace
}  // namespace reverse_etl::destinations
