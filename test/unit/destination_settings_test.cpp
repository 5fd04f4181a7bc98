// catalog/destination_type (definition files), catalog/settings (validation,
// merge, masking, defaults) and catalog/request_rules (headers, URL
// placeholders, request timeout).
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

#include <curl/curl.h>
#include <gtest/gtest.h>

#include "catalog/destination_type.hpp"
#include "catalog/request_rules.hpp"
#include "catalog/settings.hpp"
#include "common/version.hpp"
#include "http/http_text.hpp"
#include "test_support.hpp"

namespace reverse_etl::catalog {
namespace {

using test::error_of;
using test::json;

const DestinationType &webhook() {
    static const DestinationType type = parse_destination_type(test::repository_file("src/destinations/webhook.json"));
    return type;
}

// ---- definitions

TEST(DestinationType, ShippedDefinitions) {
    const DestinationType &hook = webhook();
    EXPECT_EQ(hook.type, "webhook");
    ASSERT_NE(hook.find_setting("batch_size"), nullptr);
    EXPECT_EQ(hook.find_setting("batch_size")->minimum, 1);
    EXPECT_EQ(hook.find_setting("batch_size")->maximum, 4000);
    EXPECT_EQ(hook.find_setting("method")->default_json, std::optional<std::string>("\"POST\""));
    EXPECT_TRUE(hook.find_setting("bearer_token")->secret);
    EXPECT_FALSE(hook.find_setting("basic_username")->secret);
    EXPECT_EQ(hook.find_setting("nope"), nullptr);
    EXPECT_EQ(hook.request.body, BodyShape::RecordOrArray);
    EXPECT_EQ(hook.request.batch_size.setting, "batch_size");
    EXPECT_EQ(hook.request.headers_setting, "headers");
    ASSERT_EQ(hook.request.auth.size(), 2u);
    EXPECT_EQ(hook.request.auth[1].kind, AuthKind::Basic);
    ASSERT_TRUE(hook.request.signing.has_value());
    EXPECT_EQ(hook.request.signing->algorithm.setting, "signature_scheme");
    EXPECT_EQ(hook.request.signing->header.setting, "signature_header");
    EXPECT_EQ(hook.request.signing->prefix, "sha256=");
    EXPECT_TRUE(hook.actions[0].free_fields);

    const DestinationType segment = parse_destination_type(test::repository_file("src/destinations/segment.json"));
    EXPECT_EQ(segment.request.body, BodyShape::Wrapped);
    EXPECT_EQ(segment.request.wrap_key, "batch");
    for (const char *key : {"identify", "track", "group", "page"}) {
        const ActionDef *action = segment.find_action(key);
        ASSERT_NE(action, nullptr) << key;
        EXPECT_EQ(action->max_batch_records, 2500);
        EXPECT_EQ(action->max_batch_bytes, 512000);
        EXPECT_EQ(action->max_record_bytes, 32768);
        ASSERT_EQ(action->record_extras.size(), 3u);
        EXPECT_EQ(action->record_extras[2].key, "context");
        // {{extension_version}} is replaced as the definition is read.
        EXPECT_EQ(action->record_extras[2].json,
                  std::string(R"({"library":{"name":"reverse_etl","version":")") + kExtensionVersion + "\"}}");
        EXPECT_TRUE(action->record_extras[1].text->uses(RequestTemplatePart::Kind::MessageId));
    }
    EXPECT_EQ(segment.find_action("alias"), nullptr);
    EXPECT_STREQ(field_type_name(FieldType::Datetime), "datetime");
    EXPECT_STREQ(setting_type_name(SettingType::Interval), "interval");
}

// A definition with `replace` substituted into a valid minimal one.
std::string definition(const std::string &request, const std::string &action_extra = {},
                       const std::string &settings_extra = {}) {
    return R"({"type": "mini", "name": "Mini", "description": "A test type.",
        "settings": [{"key": "url", "type": "string", "required": true, "description": "Where."},
                     {"key": "token", "type": "string", "secret": true, "description": "Token."})" +
           settings_extra + R"(],
        "request": )" + request + R"(,
        "actions": [{"key": "put", "name": "Put", "description": "Puts.", "sync_modes": ["upsert"],
                     "default_sync_mode": "upsert", "fields": [{"key": "id", "type": "string", "description": "Id."}],
                     "max_batch_records": 10)" + action_extra + "}]}";
}

constexpr const char *kRequest = R"({"method": "POST", "url": "{{settings.url}}", "body": "array"})";

std::string definition_error(const std::string &text) {
    const Error error = error_of([&] { parse_destination_type(text); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    return error.message();
}

TEST(DestinationType, SigningBlocks) {
    const std::string prefix = "invalid definition of destination type \"mini\": ";
    const auto with_signing = [](const std::string &signing, const std::string &settings_extra = {}) {
        return definition(R"({"method": "POST", "url": "{{settings.url}}", "body": "array", "signing": )" + signing + "}",
                          {}, settings_extra);
    };
    // Standard Webhooks names its own headers: no "header" needed.
    const DestinationType standard =
        parse_destination_type(with_signing(R"({"algorithm": "standard-webhooks", "secret": "{{settings.token}}"})"));
    EXPECT_EQ(standard.request.signing->algorithm.fallback, std::optional<std::string>("standard-webhooks"));
    EXPECT_EQ(definition_error(with_signing(R"({"algorithm": "hmac-sha256-hex", "secret": "{{settings.token}}"})")),
              prefix + "request.signing.header is missing");
    EXPECT_EQ(definition_error(with_signing(R"({"algorithm": "md5", "secret": "{{settings.token}}", "header": "X"})")),
              prefix + "request.signing.algorithm \"md5\" is not a signing algorithm (hmac-sha256-hex, standard-webhooks)");
    // A setting that chooses: an enum of algorithms, and never unset.
    const std::string choice = R"(, {"key": "scheme", "type": "string", "enum": ["hmac-sha256-hex", "sha1"],
                                     "default": "hmac-sha256-hex", "description": "How."})";
    EXPECT_EQ(definition_error(with_signing(
                  R"({"algorithm": {"setting": "scheme"}, "secret": "{{settings.token}}", "header": "X"})", choice)),
              prefix + "request.signing.algorithm names setting \"scheme\", whose enum value \"sha1\" is not a signing "
                       "algorithm");
    const std::string unset = R"(, {"key": "scheme", "type": "string", "enum": ["standard-webhooks"], "description": "How."})";
    EXPECT_EQ(definition_error(with_signing(
                  R"({"algorithm": {"setting": "scheme"}, "secret": "{{settings.token}}", "header": "X"})", unset)),
              prefix + "request.signing.algorithm needs a default: setting \"scheme\" may be unset");
}

TEST(DestinationType, BadDefinitionsNameTheKey) {
    EXPECT_NO_THROW(parse_destination_type(definition(kRequest)));
    const std::string prefix = "invalid definition of destination type \"mini\": ";
    EXPECT_EQ(definition_error("{"), "destination type definition is not valid JSON");
    EXPECT_EQ(definition_error("[]"), "invalid destination type definition: the definition must be a JSON object");
    EXPECT_EQ(definition_error(R"({"type": "Mini"})"),
              "invalid destination type definition: type \"Mini\" must be lower-case snake_case");
    EXPECT_EQ(definition_error(definition(R"({"method": "HEAD", "url": "{{settings.url}}", "body": "array"})")),
              prefix + "request.method \"HEAD\" is not a method (POST, PUT, PATCH, DELETE, GET)");
    EXPECT_EQ(definition_error(definition(R"({"method": "GET", "url": "{{settings.url}}", "body": "array"})")),
              prefix + "request sends GET, which carries no body: it needs \"body\": {\"query\": NAME} and a fixed method");
    // A query list's text around its elements, and its quoting.
    EXPECT_NO_THROW(parse_destination_type(definition(
        R"({"method": "GET", "url": "{{settings.url}}", "body": {"query": "q", "value": "IN ({{elements}}) {{settings.url}}",
            "quote": "soql", "max_url_bytes": 8000}})")));
    EXPECT_EQ(definition_error(definition(R"({"method": "GET", "url": "{{settings.url}}", "body": {"query": "q", "value": "SELECT x"}})")),
              prefix + "request.body.value must contain {{elements}} exactly once: where the records' elements go");
    EXPECT_EQ(definition_error(definition(
                  R"({"method": "GET", "url": "{{settings.url}}", "body": {"query": "q", "value": "{{elements}}{{elements}}"}})")),
              prefix + "request.body.value must contain {{elements}} exactly once: where the records' elements go");
    EXPECT_EQ(definition_error(definition(
                  R"({"method": "GET", "url": "{{settings.url}}", "body": {"query": "q", "value": "{{settings.token}} {{elements}}"}})")),
              prefix + "request.body.value may use only {{elements}}, {{action_settings.KEY}} and non-secret "
                       "{{settings.KEY}} placeholders that exist");
    EXPECT_EQ(definition_error(definition(R"({"method": "DELETE", "url": "{{settings.url}}", "body": {"query": "q", "quote": "soql"}})")),
              prefix + "request.body.quote needs a \"value\" around the quoted elements");
    EXPECT_EQ(definition_error(definition(R"({"method": "DELETE", "url": "{{settings.url}}", "body": {"query": "q", "max_url_bytes": 10}})")),
              prefix + "request.body.max_url_bytes must be at least 256");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}", "body": {"wrap": "w", "quote": "soql"}})")),
              prefix + "request.body has unknown key \"quote\" (wrap, form, members, query)");
    // Only a lookup may find records by the key field without saying how.
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}", "body": "array",
            "response": {"records": {"kind": "keyed_results", "status": [200], "list": "results"}}})")),
              prefix + "request reads keyed_results without record_key and key, which only a lookup may leave out");
    // Limit answers name failures.
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}", "body": "array",
            "response": {"retry": [{"status": 200, "path": "", "prefix": "busy"}]}})")),
              prefix + "request.response.retry must name failure statuses (400 to 599)");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "https://x{{settings.url}}", "body": "array"})")),
              prefix + "request.url must start with {{settings.url}}, {{settings.endpoint}}, {{settings.instance_url}} or {{settings.webhook_url}}");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}", "body": "array", "retries": 3})")),
              prefix + "request has unknown key \"retries\" (method, url, batch_size, body, headers, headers_setting, "
                       "auth, signing, timeout, query, response, rate_limit)");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}", "body": "record", "batch_size": 5})")),
              prefix + "request.body \"record\" sends one record per request: batch_size must be absent or 1");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}{{settings.nope}}", "body": "array"})")),
              prefix + "request.url names unknown setting \"nope\"");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}/{{message_id}}", "body": "array"})")),
              prefix + "request.url uses {{message_id}}, which is not allowed here");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}/{{oops}}", "body": "array"})")),
              prefix + "request.url uses unknown placeholder \"{{oops}}\" (use {{record_id}}, {{message_id}}, "
                       "{{message_uuid}}, {{settings.KEY}}, {{action_settings.KEY}}, {{fields.NAME}}, {{key_field}} "
                       "or {{key}})");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}", "body": "array",
        "auth": [{"type": "header", "name": "X-Key", "value": "fixed"}, {"type": "bearer", "token": "{{settings.token}}"}]})")),
              prefix + "request.auth[1] can never apply: the entry before it names no setting, so it always does");
    EXPECT_EQ(definition_error(definition(R"({"method": "POST", "url": "{{settings.url}}", "body": "array",
        "headers": {"Bad Header": "x"}})")),
              prefix + "request.headers.Bad Header is not an HTTP header name");
    // Secret settings never go into bodies, which are shown unmasked.
    EXPECT_EQ(definition_error(definition(kRequest, R"(, "record": {"key": "{{settings.token}}"})")),
              prefix + "actions[0].record.key uses secret setting \"token\", which is not allowed here");
    EXPECT_EQ(definition_error(definition(kRequest, R"(, "record": {"id": "x"})")),
              prefix + "actions[0].record.id collides with the action's field \"id\"");
    EXPECT_EQ(definition_error(definition(kRequest, R"(, "record": {"ctx": {"v": "{{record_id}}"}})")),
              prefix + "actions[0].record.ctx uses a placeholder inside an object or array, where only "
                       "{{extension_version}} is replaced");
    EXPECT_EQ(definition_error(definition(kRequest, R"(, "max_batch_bytes": 10, "max_record_bytes": 11)")),
              prefix + "actions[0].max_record_bytes must not exceed max_batch_bytes");
    EXPECT_EQ(definition_error(definition(kRequest, R"(, "required_one_of": [["id"]])")),
              prefix + "actions[0].required_one_of[0] must name at least two fields (mark one field \"required\" instead)");
    EXPECT_EQ(definition_error(definition(kRequest, {}, R"(, {"key": "url", "type": "string", "description": "Again."})")),
              prefix + "settings[2] repeats key \"url\"");
    EXPECT_EQ(definition_error(definition(kRequest, {},
                                          R"(, {"key": "n", "type": "integer", "minimum": 5, "maximum": 1, "description": "N."})")),
              prefix + "settings[2].maximum must not be below minimum");
    EXPECT_EQ(definition_error(definition(kRequest, {},
                                          R"(, {"key": "m", "type": "string", "enum": ["a"], "default": "b", "description": "M."})")),
              prefix + "settings[2].default must be one of the setting's enum values");
}

TEST(DestinationType, RequestTemplates) {
    std::string problem;
    std::optional<RequestTemplate> parsed =
        parse_request_template("a{{ settings.url }}b{{record_id}}{{fields.x.y}}{{message_id}}", problem);
    ASSERT_TRUE(parsed.has_value());
    ASSERT_EQ(parsed->parts.size(), 6u);
    EXPECT_EQ(parsed->parts[1].kind, RequestTemplatePart::Kind::Setting);
    EXPECT_EQ(parsed->parts[1].text, "url");
    EXPECT_EQ(parsed->parts[4].kind, RequestTemplatePart::Kind::Field);
    EXPECT_EQ(parsed->parts[4].text, "x.y");
    EXPECT_EQ(parsed->setting_keys(), std::vector<std::string>{"url"});
    EXPECT_TRUE(parsed->uses(RequestTemplatePart::Kind::MessageId));
    EXPECT_FALSE(parse_request_template("{{settings.url", problem).has_value());
    EXPECT_EQ(problem, "has \"{{\" without a closing \"}}\"");
    EXPECT_FALSE(parse_request_template("{{settings.}}", problem).has_value());
    EXPECT_EQ(problem, "uses unknown placeholder \"{{settings.}}\" (use {{record_id}}, {{message_id}}, "
                       "{{message_uuid}}, {{settings.KEY}}, {{action_settings.KEY}}, {{fields.NAME}}, {{key_field}} "
                       "or {{key}})");
    EXPECT_TRUE(parse_request_template("", problem)->parts.empty());

    EXPECT_TRUE(http::is_token("X-Api-Key"));
    EXPECT_TRUE(http::is_token("!#$%&'*+-.^_`|~09azAZ"));
    for (const char *bad : {"", "X Key", "X:Key", "X\nKey", "Ä", "(x)", "a/b", "a\"b"})
        EXPECT_FALSE(http::is_token(bad)) << bad;
    EXPECT_EQ(http::percent_encode("a b/é~-._"), "a%20b%2F%C3%A9~-._");
}

// percent_encode replaced curl_easy_escape: every byte value encodes as libcurl
// encodes it, and percent_encoded_size agrees with what percent_encode builds.
TEST(DestinationSettings, PercentEncodingMatchesLibcurl) {
    std::string every_byte;
    for (int c = 0; c < 256; ++c)
        every_byte += static_cast<char>(c);
    for (const std::string &text : {std::string(), every_byte, std::string(R"([{"a":"b c"},1.5])")}) {
        char *const escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
        ASSERT_NE(escaped, nullptr);
        EXPECT_EQ(http::percent_encode(text), escaped);
        curl_free(escaped);
        EXPECT_EQ(http::percent_encoded_size(text), http::percent_encode(text).size());
    }
}

// What application/x-www-form-urlencoded parsing (the WHATWG URL standard's)
// makes of one field's value: '+' is a space, %XX a byte, any other byte itself.
std::string form_decode(const std::string &value) {
    std::string decoded;
    for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '+') {
            decoded += ' ';
        } else if (value[i] == '%' && i + 2 < value.size() && std::isxdigit(static_cast<unsigned char>(value[i + 1])) &&
                   std::isxdigit(static_cast<unsigned char>(value[i + 2]))) {
            decoded += static_cast<char>(std::stoi(value.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            decoded += value[i];
        }
    }
    return decoded;
}

// A form value decodes to the text whatever its bytes, keeps JSON's
// punctuation, and holds none of the bytes that would end the field, start
// another or be read as an escape or a space.
TEST(DestinationSettings, FormValueEncodingDecodesToTheText) {
    std::string every_byte;
    for (int c = 0; c < 256; ++c)
        every_byte += static_cast<char>(c);
    for (const std::string &text : {std::string(), every_byte, every_byte + every_byte,
                                    std::string(R"([{"a":"b c","d":[1.5,true,null]}])")}) {
        std::string encoded = "x";
        http::append_form_value_encoded(encoded, text);
        EXPECT_EQ(encoded.front(), 'x');
        const std::string value = encoded.substr(1);
        EXPECT_EQ(form_decode(value), text);
        EXPECT_EQ(value.find_first_of("&;=+# \r\n"), std::string::npos) << value;
        for (const unsigned char byte : value)
            EXPECT_TRUE(byte > 0x20 && byte < 0x7F) << static_cast<int>(byte);
    }
    std::string json;
    http::append_form_value_encoded(json, R"([{"a":"b"},{"c":2}])");
    EXPECT_EQ(json, R"([{"a":"b"},{"c":2}])");
    std::string reserved;
    http::append_form_value_encoded(reserved, "%&+=;# \n\xC3\xA9");
    EXPECT_EQ(reserved, "%25%26%2B%3D%3B%23%20%0A%C3%A9");
    // Runs are tested eight bytes at a time: each byte is found at each
    // place in a word and in a tail shorter than one, amid bytes kept.
    for (int c = 0; c < 256; ++c) {
        const bool kept = c > 0x20 && c < 0x7F && std::string("%&+=;#").find(static_cast<char>(c)) == std::string::npos;
        char escaped[4];
        std::snprintf(escaped, sizeof escaped, "%%%02X", c);
        for (size_t place = 0; place < 19; ++place) {
            const std::string text = std::string(place, 'a') + static_cast<char>(c) + std::string(18 - place, '"');
            std::string encoded;
            http::append_form_value_encoded(encoded, text);
            EXPECT_EQ(encoded, std::string(place, 'a') + (kept ? std::string(1, static_cast<char>(c)) : escaped) +
                                   std::string(18 - place, '"'))
                << "byte " << c << " at " << place;
        }
    }
}

// ---- settings

void validate(const std::string &settings) {
    validate_settings(webhook(), json(settings).get(), test::read_test_interval);
}

Error settings_error(const std::string &settings) {
    const Error error = error_of([&] { validate(settings); });
    EXPECT_EQ(error.sqlstate(), "22023") << settings;
    return error;
}

TEST(Settings, ValidSettings) {
    EXPECT_NO_THROW(validate(R"({"url": "https://hooks.example/in/{{record_id}}?x={{fields.kind}}"})"));
    EXPECT_NO_THROW(validate(R"({"url": "HTTP://[::1]:8080", "method": "PATCH", "batch_size": 4000,
                                 "headers": {"X-Api-Key": "k\tv"}, "bearer_token": "t", "timeout": "1 hour"})"));
}

TEST(Settings, SigningSchemeAndHeader) {
    validate(R"({"url": "https://h.example", "signing_secret": "s", "signature_header": "X-Hub-Signature-256"})");
    validate(R"({"url": "https://h.example", "signature_scheme": "standard-webhooks",
                 "signing_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})");
    // A scheme without a secret signs nothing, so nothing to check.
    validate(R"({"url": "https://h.example", "signature_scheme": "standard-webhooks"})");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "signature_scheme": "hmac"})").message(),
              "invalid value for setting \"signature_scheme\": \"hmac\"");

    Error error = settings_error(R"({"url": "https://h.example", "signature_header": "X Sig"})");
    EXPECT_EQ(error.message(), "setting \"signature_header\": \"X Sig\" is not a valid HTTP header name");
    error = settings_error(R"({"url": "https://h.example", "signature_header": "content-length"})");
    EXPECT_EQ(error.message(), "setting \"signature_header\": header \"content-length\" cannot be set");
    EXPECT_EQ(error.detail(), "The HTTP client frames each request body itself.");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "signature_header": ""})").message(),
              "setting \"signature_header\": header name must not be empty");

    // Standard Webhooks secrets: "whsec_" and the key in base64; never quoted.
    const auto secret_error = [](const std::string &secret) {
        return settings_error(R"({"url": "https://h.example", "signature_scheme": "standard-webhooks",
                                  "signing_secret": ")" + secret + "\"}");
    };
    for (const std::string secret : {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!",
                                     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}) {
        error = secret_error(secret);
        EXPECT_EQ(error.message(), "setting \"signing_secret\" is not a Standard Webhooks secret") << secret;
        const std::string shown = error.message() + error.detail() + error.hint();
        if (secret.size() > 6) {
            EXPECT_EQ(shown.find(secret.substr(6)), std::string::npos) << secret;
        }
        EXPECT_NE(error.hint().find("whsec_"), std::string::npos);
    }
    EXPECT_EQ(secret_error("whsec_").detail(), "It has no key after \"whsec_\".");
    EXPECT_EQ(secret_error("whsec_not base64!").detail(), "What follows \"whsec_\" is not valid base64.");
    EXPECT_EQ(secret_error("s3cret").detail(), "It does not start with \"whsec_\".");
    // The hex scheme takes any secret.
    validate(R"({"url": "https://h.example", "signing_secret": "whsec_"})");
}

TEST(Settings, ShapeKeysAndTypes) {
    EXPECT_EQ(settings_error("[]").message(), "settings must be a JSON object, not an array");
    EXPECT_EQ(error_of([] { validate_settings(webhook(), nullptr, test::read_test_interval); }).message(),
              "settings must be a JSON object, not null");
    Error error = settings_error(R"({"url": "https://h.example", "urll": 1})");
    EXPECT_EQ(error.message(), "unknown setting \"urll\" for destination type \"webhook\"");
    EXPECT_EQ(error.hint(), "Did you mean \"url\"?");
    EXPECT_EQ(settings_error(R"({"zzz": 1})").hint(),
              "Valid settings for destination type \"webhook\" are \"url\", \"method\", \"headers\", \"bearer_token\", "
              "\"basic_username\", \"basic_password\", \"signing_secret\", \"signature_scheme\", "
              "\"signature_header\", \"batch_size\", "
              "\"max_requests_per_second\", and \"timeout\".");
    EXPECT_EQ(settings_error(R"({"url": 5})").message(), "setting \"url\" must be a string, not an integer");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "batch_size": 2.5})").message(),
              "setting \"batch_size\" must be an integer, not a decimal number");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "headers": []})").message(),
              "setting \"headers\" must be an object, not an array");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "timeout": 10})").message(),
              "setting \"timeout\" must be a string holding an interval, not an integer");
    error = settings_error(R"({"url": "https://h.example", "method": null})");
    EXPECT_EQ(error.message(), "setting \"method\" must be a string, not null");
    EXPECT_EQ(error.hint(), "Leave \"method\" out to use its default.");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "bearer_token": null})").hint(),
              "Leave \"bearer_token\" out to leave it unset.");
    EXPECT_EQ(settings_error(R"({"url": null})").hint(), "");
    error = settings_error("{}");
    EXPECT_EQ(error.message(), "missing required setting \"url\" for destination type \"webhook\"");
    EXPECT_EQ(error.hint(), "Set it with settings => '{\"url\": \"...\"}'.");
}

TEST(Settings, ValuesEnumsRangesAndIntervals) {
    Error error = settings_error(R"({"url": "https://h.example", "method": "GET"})");
    EXPECT_EQ(error.message(), "invalid value for setting \"method\": \"GET\"");
    EXPECT_EQ(error.hint(), "Allowed values are \"POST\", \"PUT\", \"PATCH\", and \"DELETE\".");
    error = settings_error(R"({"url": "https://h.example", "batch_size": 0})");
    EXPECT_EQ(error.message(), "value 0 is out of range for setting \"batch_size\"");
    EXPECT_EQ(error.hint(), "Use an integer from 1 to 4000.");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "batch_size": 4001})").message(),
              "value 4001 is out of range for setting \"batch_size\"");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "headers": {"X": 1}})").message(),
              "value of \"X\" in setting \"headers\" must be a string, not an integer");
    error = settings_error(R"({"url": "https://h.example", "timeout": "soon"})");
    EXPECT_EQ(error.message(), "invalid value for setting \"timeout\": \"soon\"");
    EXPECT_EQ(error.hint(), "Use a PostgreSQL interval such as \"30 seconds\" or \"2 minutes\".");
    const std::string range_hint = "Use an interval from 100 milliseconds to 1 hour, as for reverse_etl.request_timeout.";
    error = settings_error(R"({"url": "https://h.example", "timeout": "99 milliseconds"})");
    EXPECT_EQ(error.detail(), "The interval is shorter than 100 milliseconds.");
    EXPECT_EQ(error.hint(), range_hint);
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "timeout": "1 hour 1 microsecond"})").detail(),
              "The interval is longer than 1 hour.");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "timeout": "0 seconds"})").detail(),
              "A timeout must be longer than zero.");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "timeout": "-1 seconds"})").detail(),
              "A timeout must be longer than zero.");
    EXPECT_NO_THROW(validate(R"({"url": "https://h.example", "timeout": "100 milliseconds"})"));
    EXPECT_EQ(request_timeout_usec("timeout", "2 seconds", test::read_test_interval), 2000000);
    EXPECT_EQ(error_of([] { request_timeout_usec("timeout", "2 seconds", nullptr); }).sqlstate(), "XX000");
}

TEST(Settings, Urls) {
    const std::string http_only = "Only http and https URLs are allowed.";
    Error error = settings_error(R"({"url": "ftp://h.example/x"})");
    EXPECT_EQ(error.message(), "invalid URL for setting \"url\": \"ftp://h.example/x\"");
    EXPECT_EQ(error.hint(), http_only);
    error = settings_error(R"({"url": "https://h.example/a b"})");
    EXPECT_EQ(error.detail(), "The URL contains spaces or control characters.");
    EXPECT_EQ(error.hint(), "Percent-encode them, for example a space as %20.");
    EXPECT_EQ(settings_error(R"({"url": "https://:443/x"})").detail(), "The URL has no host.");
    EXPECT_EQ(settings_error(R"({"url": "https://"})").detail(), "The URL has no host.");
    EXPECT_EQ(settings_error(R"({"url": "h.example/x"})").hint(), http_only);   // no scheme
    // libcurl's parser decides (the one that sends the request).
    error = settings_error(R"({"url": "https://[::1/x"})");
    EXPECT_EQ(error.message(), "invalid URL for setting \"url\": \"https://[::1/x\"");
    EXPECT_EQ(error.detail(), "libcurl cannot parse it as a URL.");
    EXPECT_NO_THROW(validate(R"({"url": "https://h.example:/"})"));   // an empty port is the default one
    for (const char *port : {"0", "65536", "-1", "8o"})
        EXPECT_EQ(settings_error(std::string(R"({"url": "https://h.example:)") + port + "/\"}").detail(),
                  "The port must be a number from 1 to 65535.")
            << port;
    // Credentials: the URL is not quoted, it holds a password.
    error = settings_error(R"({"url": "https://user:hunter2@h.example/"})");
    EXPECT_EQ(error.message(), "invalid URL for setting \"url\"");
    EXPECT_EQ(error.detail(), "The URL contains a user name or password, which would be shown to everyone who can "
                              "see the destination.");
    // Placeholders: only {{record_id}} and {{fields.NAME}}, written exactly so.
    const std::string placeholder_hint =
        "A URL may contain only the placeholders {{record_id}} and {{fields.NAME}}, written without spaces.";
    error = settings_error(R"({"url": "https://h.example/{{ record_id }}"})");
    EXPECT_EQ(error.message(), "invalid placeholder \"{{ record_id }}\" in setting \"url\"");
    EXPECT_EQ(error.hint(), placeholder_hint);
    EXPECT_EQ(settings_error(R"({"url": "https://h.example/{{settings.token}}"})").message(),
              "invalid placeholder \"{{settings.token}}\" in setting \"url\"");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example/{{fields.}}"})").message(),
              "invalid placeholder \"{{fields.}}\" in setting \"url\"");
    error = settings_error(R"({"url": "https://h.example/é/{{record_id"})");
    EXPECT_EQ(error.message(), "unterminated placeholder in setting \"url\"");
    EXPECT_EQ(error.detail(), "The \"{{\" at character 21 has no closing \"}}\".");   // characters, not bytes
    EXPECT_EQ(settings_error("{\"url\": \"https://h.example/{{\\nx}}\"}").message(),
              "invalid placeholder \"{{\\nx}}\" in setting \"url\"");
}

TEST(Settings, HeadersNeverCarryLineBreaksAndSecretsAreNeverQuoted) {
    Error error = settings_error(R"({"url": "https://h.example", "bearer_token": "abc\r\nX-Evil: 1"})");
    EXPECT_EQ(error.message(), "setting \"bearer_token\" contains a carriage return (U+000D), which header "
                               "\"Authorization\" cannot carry");
    EXPECT_EQ(error.detail(), "A line break would end the header early and send the rest of the value as further headers.");
    EXPECT_EQ(error.message().find("abc"), std::string::npos);
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "basic_username": "u\u0000", "basic_password": "p"})").message(),
              "setting \"basic_username\" contains a NUL character (U+0000), which header \"Authorization\" cannot carry");
    error = settings_error(R"({"url": "https://h.example", "headers": {"X-A": "v\u007f"}})");
    EXPECT_EQ(error.message(), "setting \"headers\": value of header \"X-A\" contains control character U+007F");
    EXPECT_EQ(error.detail(), "HTTP header values cannot contain control characters other than tab.");
    error = settings_error(R"({"url": "https://h.example", "headers": {"Transfer-Encoding": "chunked"}})");
    EXPECT_EQ(error.message(), "setting \"headers\": header \"Transfer-Encoding\" cannot be set");
    EXPECT_EQ(error.detail(), "The HTTP client frames each request body itself.");
    EXPECT_EQ(error.hint(), "Remove \"Transfer-Encoding\" from the headers.");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "headers": {"keep-alive": "1"}})").detail(),
              "The HTTP client manages its connections itself.");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "headers": {"HOST": "x"}})").detail(),
              "The HTTP client sends the host of the destination's URL.");
    error = settings_error(R"({"url": "https://h.example", "headers": {"X\nY": "v"}})");
    EXPECT_EQ(error.message(), "setting \"headers\": header name \"X\\nY\" is not a valid HTTP token");
    EXPECT_EQ(settings_error(R"({"url": "https://h.example", "headers": {"": "v"}})").message(),
              "setting \"headers\": header name must not be empty");
    EXPECT_TRUE(is_client_owned_header("proxy-connection"));
    EXPECT_FALSE(is_client_owned_header("Authorization"));
}

TEST(Settings, MergeMaskAndEffectiveValues) {
    const JsonPtr current = json(R"({"url": "https://a.example", "bearer_token": "t", "headers": {"A": "1", "B": "2"}})");
    const JsonPtr merged = merge_settings(current.get(), json(R"({"bearer_token": null, "headers": {"C": "3"}, "absent": null})").get());
    EXPECT_EQ(dump_json(merged.get()), R"({"url":"https://a.example","headers":{"C":"3"}})");
    EXPECT_EQ(dump_json(current.get()), R"({"url":"https://a.example","bearer_token":"t","headers":{"A":"1","B":"2"}})");
    EXPECT_EQ(dump_json(merge_settings(nullptr, json(R"({"url": "x"})").get()).get()), R"({"url":"x"})");
    EXPECT_EQ(dump_json(merge_settings(current.get(), nullptr).get()), dump_json(current.get()));
    Error error = error_of([&] { merge_settings(current.get(), json("\"x\"").get()); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "settings must be a JSON object, not a string");
    EXPECT_EQ(error_of([&] { merge_settings(json("[]").get(), nullptr); }).sqlstate(), "XX000");

    const JsonPtr masked = mask_settings(webhook(), json(R"({"url": "https://a.example", "bearer_token": "t",
        "basic_password": null, "headers": {"X-Key": "k", "X-Other": "o"}, "unknown": "u"})").get());
    EXPECT_EQ(dump_json(masked.get()),
              R"({"url":"https://a.example","bearer_token":"********","basic_password":null,)"
              R"("headers":{"X-Key":"********","X-Other":"********"},"unknown":"u"})");
    EXPECT_EQ(mask_settings(webhook(), nullptr), nullptr);

    const JsonPtr settings = json(R"({"url": "https://a.example", "method": null})");
    EXPECT_EQ(dump_json(effective_setting(webhook(), settings.get(), "method").get()), "\"POST\"");
    EXPECT_EQ(dump_json(effective_setting(webhook(), settings.get(), "url").get()), "\"https://a.example\"");
    EXPECT_EQ(effective_setting(webhook(), settings.get(), "bearer_token"), nullptr);
    EXPECT_EQ(dump_json(effective_setting(webhook(), nullptr, "batch_size").get()), "1");
    error = error_of([&] { effective_setting(webhook(), settings.get(), "nope"); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    EXPECT_EQ(error.message(), "destination type \"webhook\" has no setting \"nope\"");
}

}  // namespace
}  // namespace reverse_etl::catalog
