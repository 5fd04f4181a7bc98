#include "catalog/request_rules.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

#include "catalog/settings.hpp"
#include "common/error.hpp"
#include "common/text.hpp"
#include "http/crypto.hpp"
#include "http/jwt_bearer.hpp"
#include "http/http_text.hpp"

namespace reverse_etl::catalog {

namespace {

constexpr int64_t kUsecPerMillisecond = 1000;
constexpr int64_t kUsecPerHour = INT64_C(3600000000);
constexpr int64_t kMinTimeoutUsec = 100 * kUsecPerMillisecond;
constexpr int64_t kMaxTimeoutUsec = kUsecPerHour;

const char *const kUrlPlaceholderHint =
    "A URL may contain only the placeholders {{record_id}} and {{fields.NAME}}, written "
    "without spaces.";

Error invalid(std::string message, std::string detail = {}, std::string hint = {}) {
    return Error(sqlstate::kInvalidParameterValue, std::move(message), std::move(detail),
                 std::move(hint));
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_header_name(const std::string &a, const std::string &b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

std::string code_point(unsigned char c) {
    char text[8];
    std::snprintf(text, sizeof text, "U+%04X", c);
    return text;
}

// A name in double quotes with control characters written as JSON escapes (the
// way the user typed them in the settings), so a message stays on one line.
std::string quoted_escaped(const std::string &text) {
    std::string out = "\"";
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (byte < 0x20 || byte == 0x7f)
            out += "\\u" + code_point(byte).substr(2);
        else
            out += c;
    }
    return out + "\"";
}

// RFC 9110 section 5.5: a field value holds no control character but tab.
// The first offending byte, if any.
std::optional<unsigned char> control_character(const std::string &text) {
    const auto found = std::find_if(text.begin(), text.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return (byte < 0x20 && c != '\t') || byte == 0x7f;
    });
    if (found == text.end())
        return std::nullopt;
    return static_cast<unsigned char>(*found);
}

std::string describe_control(unsigned char c) {
    switch (c) {
    case '\r': return "a carriage return (U+000D)";
    case '\n': return "a line feed (U+000A)";
    case '\0': return "a NUL character (U+0000)";
    default: return "control character " + code_point(c);
    }
}

std::string control_detail(unsigned char c) {
    if (c == '\r' || c == '\n')
        return "A line break would end the header early and send the rest of the value as "
               "further headers.";
    return "HTTP header values cannot contain control characters other than tab.";
}

std::string client_owned_detail(const std::string &name) {
    if (same_header_name(name, "Host"))
        return "The HTTP client sends the host of the destination's URL.";
    if (same_header_name(name, "Content-Length") || same_header_name(name, "Transfer-Encoding"))
        return "The HTTP client frames each request body itself.";
    return "The HTTP client manages its connections itself.";
}

std::optional<std::string> text_of(const json_t *value) {
    if (!json_is_string(value))
        return std::nullopt;
    return std::string(json_string_value(value), json_string_length(value));
}

const json_t *member_of(const json_t *settings, const std::string &key) {
    return json_is_object(settings) ? json_object_getn(settings, key.data(), key.size()) : nullptr;
}

void check_template_settings(const RequestTemplate &text, const json_t *settings,
                             const std::string &header) {
    for (const std::string &key : text.setting_keys())
        if (const std::optional<std::string> value = text_of(member_of(settings, key)))
            check_header_setting(key, *value, header);
}

void check_user_headers(const std::string &setting, const json_t *settings) {
    const json_t *headers = member_of(settings, setting);
    if (!json_is_object(headers))
        return;
    // jansson's iteration macros want a non-const object but only read it.
    json_t *readable = const_cast<json_t *>(headers);
    const char *name;
    size_t name_length;
    json_t *value;
    json_object_keylen_foreach(readable, name, name_length, value) {
        if (const std::optional<std::string> text = text_of(value))
            check_user_header(setting, std::string(name, name_length), *text);
    }
}

// A template's text when every setting it names is a string that is set.
std::optional<std::string> template_text(const RequestTemplate &text, const json_t *settings) {
    std::string out;
    for (const RequestTemplatePart &part : text.parts) {
        if (part.kind == RequestTemplatePart::Kind::Text) {
            out += part.text;
            continue;
        }
        const std::optional<std::string> value = text_of(member_of(settings, part.text));
        if (part.kind != RequestTemplatePart::Kind::Setting || !value)
            return std::nullopt;
        out += *value;
    }
    return out;
}

void check_signing_settings(const DestinationType &type, const SigningSpec &signing, const json_t *settings) {
    if (!signing.header.setting.empty())
        if (const std::optional<std::string> name = text_of(member_of(settings, signing.header.setting)))
            check_header_name_setting(signing.header.setting, *name);
    std::optional<std::string> algorithm = signing.algorithm.fallback;
    if (!signing.algorithm.setting.empty())
        if (const JsonPtr chosen = effective_setting(type, settings, signing.algorithm.setting))
            algorithm = text_of(chosen.get());
    if (!algorithm || signing_algorithm_named(*algorithm) != SigningAlgorithm::StandardWebhooks)
        return;
    const std::vector<std::string> keys = signing.secret.setting_keys();
    if (const std::optional<std::string> secret = template_text(signing.secret, settings))
        standard_webhooks_key(keys.front(), *secret);
}

std::optional<RequestTemplatePart> url_placeholder(const std::string &inside) {
    using Kind = RequestTemplatePart::Kind;
    const std::string fields = "fields.";
    if (inside == "record_id")
        return RequestTemplatePart{Kind::RecordId, {}};
    if (inside.size() > fields.size() && inside.compare(0, fields.size(), fields) == 0)
        return RequestTemplatePart{Kind::Field, inside.substr(fields.size())};
    return std::nullopt;
}

// 1-based, in characters (UTF-8 lead bytes), as people count them.
size_t character_position(const std::string &text, size_t byte_offset) {
    size_t characters = 0;
    for (size_t i = 0; i <= byte_offset && i < text.size(); ++i)
        characters += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
    return characters;
}

}  // namespace

bool is_client_owned_header(const std::string &name) {
    static const char *const kOwned[] = {"Content-Length", "Transfer-Encoding", "Host",
                                         "Connection",     "Keep-Alive",        "Proxy-Connection",
                                         "TE",             "Trailer",           "Upgrade"};
    return std::any_of(std::begin(kOwned), std::end(kOwned),
                       [&](const char *owned) { return same_header_name(name, owned); });
}

void check_user_header(const std::string &setting, const std::string &name,
                       const std::string &value) {
    const std::string prefix = "setting " + quoted(setting) + ": ";
    if (name.empty())
        throw invalid(prefix + "header name must not be empty");
    if (!http::is_token(name))
        throw invalid(prefix + "header name " + quoted_escaped(name) +
                          " is not a valid HTTP token",
                      "", "A header name consists of letters, digits and the characters "
                          "!#$%&'*+-.^_`|~ only.");
    if (is_client_owned_header(name))
        throw invalid(prefix + "header " + quoted(name) + " cannot be set",
                      client_owned_detail(name), "Remove " + quoted(name) + " from the headers.");
    if (const std::optional<unsigned char> c = control_character(value))
        throw invalid(prefix + "value of header " + quoted(name) + " contains " +
                          describe_control(*c),
                      control_detail(*c));
}

void check_header_setting(const std::string &setting, const std::string &text,
                          const std::string &header) {
    if (const std::optional<unsigned char> c = control_character(text))
        throw invalid("setting " + quoted(setting) + " contains " + describe_control(*c) +
                          ", which header " + quoted(header) + " cannot carry",
                      control_detail(*c));
}

void check_header_name_setting(const std::string &setting, const std::string &name) {
    const std::string prefix = "setting " + quoted(setting) + ": ";
    if (name.empty())
        throw invalid(prefix + "header name must not be empty");
    if (!http::is_token(name))
        throw invalid(prefix + quoted_escaped(name) + " is not a valid HTTP header name", "",
                      "A header name consists of letters, digits and the characters !#$%&'*+-.^_`|~ only.");
    if (is_client_owned_header(name))
        throw invalid(prefix + "header " + quoted(name) + " cannot be set", client_owned_detail(name),
                      "Choose another header name, such as \"X-Signature\".");
}

std::string standard_webhooks_key(const std::string &setting, const std::string &secret) {
    static const std::string kPrefix = "whsec_";
    const char *const hint = "A Standard Webhooks secret is \"whsec_\" followed by the base64 of the key, "
                             "e.g. \"whsec_\" followed by the output of: openssl rand -base64 32";
    if (secret.compare(0, kPrefix.size(), kPrefix) != 0)
        throw invalid("setting " + quoted(setting) + " is not a Standard Webhooks secret",
                      "It does not start with \"whsec_\".", hint);
    const std::optional<std::string> key = http::base64_decode(secret.substr(kPrefix.size()));
    if (!key)
        throw invalid("setting " + quoted(setting) + " is not a Standard Webhooks secret",
                      "What follows \"whsec_\" is not valid base64.", hint);
    if (key->empty())
        throw invalid("setting " + quoted(setting) + " is not a Standard Webhooks secret",
                      "It has no key after \"whsec_\".", hint);
    return *key;
}

RequestTemplate parse_base_url(const std::string &setting, const std::string &url) {
    RequestTemplate result;
    result.source = url;
    const auto add_text = [&](const std::string &text) {
        if (text.empty())
            return;
        if (!result.parts.empty() && result.parts.back().kind == RequestTemplatePart::Kind::Text)
            result.parts.back().text += text;
        else
            result.parts.push_back(RequestTemplatePart{RequestTemplatePart::Kind::Text, text});
    };
    size_t pos = 0;
    while (pos < url.size()) {
        const size_t open = url.find("{{", pos);
        if (open == std::string::npos) {
            add_text(url.substr(pos));
            break;
        }
        add_text(url.substr(pos, open - pos));
        const size_t close = url.find("}}", open + 2);
        if (close == std::string::npos)
            throw invalid("unterminated placeholder in setting " + quoted(setting),
                          "The \"{{\" at character " +
                              std::to_string(character_position(url, open)) +
                              " has no closing \"}}\".",
                          kUrlPlaceholderHint);
        const std::optional<RequestTemplatePart> part =
            url_placeholder(url.substr(open + 2, close - open - 2));
        if (!part)
            throw invalid("invalid placeholder " + quoted_escaped(url.substr(open, close + 2 - open)) +
                              " in setting " + quoted(setting),
                          "", kUrlPlaceholderHint);
        result.parts.push_back(*part);
        pos = close + 2;
    }
    return result;
}

int64_t request_timeout_usec(const std::string &setting, const std::string &text,
                             const IntervalReader &read_interval) {
    if (!read_interval)
        throw Error(sqlstate::kInternalError, "no interval reader given for the request timeout");
    const std::string message = "invalid value for setting " + quoted(setting) + ": " + quoted(text);
    const std::string hint =
        "Use an interval from 100 milliseconds to 1 hour, as for reverse_etl.request_timeout.";
    const std::optional<IntervalLength> length = read_interval(text);
    if (!length)
        throw invalid(message, "", "Use a PostgreSQL interval such as \"30 seconds\" or \"2 minutes\".");
    if (length->usec <= 0)
        throw invalid(message, "A timeout must be longer than zero.", hint);
    if (length->usec < kMinTimeoutUsec)
        throw invalid(message, "The interval is shorter than 100 milliseconds.", hint);
    if (length->usec > kMaxTimeoutUsec)
        throw invalid(message, "The interval is longer than 1 hour.", hint);
    return length->usec;
}

int64_t job_wait_usec(const std::string &setting, const std::string &text, const IntervalReader &read_interval) {
    if (!read_interval)
        throw Error(sqlstate::kInternalError, "no interval reader given for the job wait");
    constexpr int64_t kMaxJobWaitUsec = int64_t{3600} * 1000 * 1000;
    const std::optional<IntervalLength> length = read_interval(text);
    if (!length || length->usec < 0 || length->usec > kMaxJobWaitUsec)
        throw invalid("invalid value for setting " + quoted(setting) + ": " + quoted(text),
                      length ? (length->usec < 0 ? "The interval is negative." : "The interval is longer than 1 hour.")
                             : "",
                      "Use an interval from 0 seconds to 1 hour, such as \"5 minutes\".");
    return length->usec;
}

namespace {

// Every asynchronous job's wait setting the type's actions read, checked
// when the destination is saved rather than at its first run.
void check_job_waits(const DestinationType &type, const json_t *settings, const IntervalReader &read_interval) {
    const auto check = [&](const RequestSpec &request) {
        if (!request.response.job || request.response.job->wait.setting.empty())
            return;
        const std::string &setting = request.response.job->wait.setting;
        if (const std::optional<std::string> text = text_of(member_of(settings, setting)))
            job_wait_usec(setting, *text, read_interval);
    };
    for (const ActionDef &action : type.actions) {
        check(action.request);
        for (const auto &[name, operation] : action.operations)
            check(operation.request);
    }
}

}  // namespace

void check_request_settings(const DestinationType &type, const json_t *settings,
                            const IntervalReader &read_interval) {
    check_job_waits(type, settings, read_interval);
    const RequestSpec &request = type.request;
    for (const auto &[header, text] : request.headers)
        check_template_settings(text, settings, header);
    for (const AuthSpec &auth : request.auth) {
        if (auth.kind == AuthKind::JwtBearer) {
            // A service account's JSON key: read (and its private key loaded)
            // now, so a bad one is refused here rather than at the first sync.
            if (const std::optional<std::string> key = text_of(member_of(settings, auth.value.parts[0].text)))
                http::parse_service_account_key(*key);
            continue;
        }
        check_template_settings(auth.value, settings, auth.header);
        check_template_settings(auth.password, settings, auth.header);
        check_template_settings(auth.refresh_token, settings, auth.header);
    }
    if (!request.headers_setting.empty())
        check_user_headers(request.headers_setting, settings);
    if (request.signing)
        check_signing_settings(type, *request.signing, settings);
    if (!request.timeout.setting.empty())
        if (const std::optional<std::string> timeout =
                text_of(member_of(settings, request.timeout.setting)))
            request_timeout_usec(request.timeout.setting, *timeout, read_interval);
}

}  // namespace reverse_etl::catalog
