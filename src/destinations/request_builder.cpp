#include "destinations/request_builder.hpp"

#include <algorithm>
#include <tuple>
#include <chrono>
#include <memory>
#include <utility>

#include "catalog/request_rules.hpp"
#include "catalog/settings.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/json_object_view.hpp"
#include "common/json_text.hpp"
#include "common/text.hpp"
#include "destinations/response_reader.hpp"
#include "http/http_text.hpp"
#include "http/crypto.hpp"
#include "http/jwt_bearer.hpp"

namespace reverse_etl::destinations {

namespace {

using catalog::RequestTemplatePart;
using catalog::RequestTemplate;
using Kind = RequestTemplatePart::Kind;

Error invalid_setting(std::string message, std::string hint = {}) {
    return Error(sqlstate::kInvalidParameterValue, std::move(message), {}, std::move(hint));
}

Error bug(std::string message) { return Error(sqlstate::kInternalError, std::move(message)); }

// Action settings are put in by catalog::bind_action_settings before an action
// reaches the builder; one left here would be sent as its key.
void require_bound(const RequestTemplatePart &part) {
    if (part.kind == Kind::ActionSetting)
        throw bug("action setting " + quoted(part.text) + " is not bound to a mapping");
    if (part.kind == Kind::KeyField || part.kind == Kind::Key)
        throw bug("the key field of a request template is not bound to a mapping");
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_header_name(const std::string &a, const std::string &b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// Later sources of a header (user headers, then auth) override earlier ones, so a
// request never carries two values for one name.
void set_header(http::Headers &headers, const std::string &name, std::string value) {
    for (auto &[existing, old_value] : headers)
        if (same_header_name(existing, name)) {
            old_value = std::move(value);
            return;
        }
    headers.emplace_back(name, std::move(value));
}

std::string json_string_text(const std::string &text) {
    std::string out;
    append_json_string(out, text);
    return out;
}

void append_text(RequestTemplate &to, const std::string &text) {
    if (text.empty())
        return;
    if (!to.parts.empty() && to.parts.back().kind == Kind::Text)
        to.parts.back().text += text;
    else
        to.parts.push_back(RequestTemplatePart{Kind::Text, text});
}

void append_part(RequestTemplate &to, const RequestTemplatePart &part) {
    if (part.kind == Kind::Text)
        append_text(to, part.text);
    else
        to.parts.push_back(part);
}

// The destination's effective settings (value, else the declared default) as text.
class SettingValues {
  public:
    SettingValues(const catalog::DestinationType &type, const json_t *settings)
        : type_(type), settings_(settings) {}

    JsonPtr value(const std::string &key) const {
        return catalog::effective_setting(type_, settings_, key);
    }

    // Strings as they are, integers in decimal; nullopt when unset.
    std::optional<std::string> text(const std::string &key) const {
        const JsonPtr found = value(key);
        if (!found)
            return std::nullopt;
        if (json_is_string(found.get()))
            return std::string(json_string_value(found.get()), json_string_length(found.get()));
        if (json_is_integer(found.get()))
            return std::to_string(json_integer_value(found.get()));
        throw bug("setting " + quoted(key) + " is not text");  // the parser allows no other
    }

    std::optional<long long> integer(const std::string &key) const {
        const JsonPtr found = value(key);
        if (!found)
            return std::nullopt;
        if (!json_is_integer(found.get()))
            throw bug("setting " + quoted(key) + " is not an integer");
        return json_integer_value(found.get());
    }

    bool is_set(const std::string &key) const { return value(key) != nullptr; }

  private:
    const catalog::DestinationType &type_;
    const json_t *settings_;
};

bool all_set(const RequestTemplate &text, const SettingValues &settings) {
    const std::vector<std::string> keys = text.setting_keys();
    return std::all_of(keys.begin(), keys.end(),
                       [&](const std::string &key) { return settings.is_set(key); });
}

// Substitutes the settings of a template whose settings are all set; record
// placeholders are kept for later. `check` sees each setting's text first.
template <typename Check>
RequestTemplate resolve_settings(const RequestTemplate &text, const SettingValues &settings,
                              Check &&check) {
    RequestTemplate resolved;
    resolved.source = text.source;
    for (const RequestTemplatePart &part : text.parts) {
        require_bound(part);
        if (part.kind != Kind::Setting) {
            append_part(resolved, part);
            continue;
        }
        const std::optional<std::string> value = settings.text(part.text);
        if (!value)
            throw bug("setting " + quoted(part.text) + " used while unset");
        check(part.text, *value);
        append_text(resolved, *value);
    }
    return resolved;
}

std::string render_fixed(const RequestTemplate &text) {
    std::string out;
    for (const RequestTemplatePart &part : text.parts) {
        if (part.kind != Kind::Text)
            throw bug("template " + quoted(text.source) + " needs a record");
        out += part.text;
    }
    return out;
}

// A header value built from settings: a line break would end the header early
// (header injection), and libcurl would send whatever follows as more headers.
// The rule validate_settings applies at create time, applied again.
std::string header_value(const RequestTemplate &text, const SettingValues &settings,
                         const std::string &header) {
    return render_fixed(resolve_settings(
        text, settings, [&](const std::string &key, const std::string &value) {
            catalog::check_header_setting(key, value, header);
        }));
}

// The URL with its settings substituted. The first part is the base URL setting
// (the parser insists), used as the user wrote it; its {{record_id}} and
// {{fields.NAME}} placeholders become parts. Other settings are path or query
// values and are percent-encoded.
RequestTemplate resolve_url(const RequestTemplate &definition, const SettingValues &settings) {
    RequestTemplate url;
    url.source = definition.source;
    for (size_t i = 0; i < definition.parts.size(); ++i) {
        const RequestTemplatePart &part = definition.parts[i];
        require_bound(part);
        if (part.kind != Kind::Setting) {
            append_part(url, part);
            continue;
        }
        std::optional<std::string> value = settings.text(part.text);
        if (!value)
            throw invalid_setting("setting " + quoted(part.text) + " is not set",
                                  "Set it with alter_destination.");
        if (i > 0) {
            append_text(url, http::percent_encode(*value));
            continue;
        }
        // "https://api.segment.io/" + "/v1/batch" must not make a double slash.
        const bool path_follows = i + 1 < definition.parts.size() &&
                                  definition.parts[i + 1].kind == Kind::Text &&
                                  definition.parts[i + 1].text.front() == '/';
        if (path_follows && !value->empty() && value->back() == '/')
            value->pop_back();
        // As validate_settings read it: only {{record_id}} and {{fields.NAME}}.
        for (const RequestTemplatePart &piece : catalog::parse_base_url(part.text, *value).parts)
            append_part(url, piece);
    }
    return url;
}

// The base64 of a Basic auth entry's user:password pair, as its header
// carries it; unchecked, since the entry may not be the one that applies.
std::string basic_credentials(const catalog::AuthSpec &auth, const SettingValues &settings) {
    const auto text = [&](const RequestTemplate &part) {
        return render_fixed(resolve_settings(part, settings, [](const auto &, const auto &) {}));
    };
    return http::base64_encode(text(auth.value) + ":" + text(auth.password));
}

// What a request can carry of the secret settings, before any encoding: each
// one's text, and the user:password pair of each Basic auth entry that can
// apply, whose base64 goes in the Authorization header (Segment's write key
// included). The masker finds their percent-encoded and JSON-escaped forms.
std::vector<std::string> secret_texts(const catalog::DestinationType &type, const catalog::RequestSpec &spec,
                                      const SettingValues &settings) {
    std::vector<std::string> texts;
    for (const catalog::SettingSpec &spec : type.settings) {
        if (!spec.secret)
            continue;
        const JsonPtr value = settings.value(spec.key);
        if (json_is_string(value.get()))
            texts.emplace_back(json_string_value(value.get()), json_string_length(value.get()));
        else if (json_is_integer(value.get()))
            texts.push_back(std::to_string(json_integer_value(value.get())));
        else if (json_is_object(value.get())) {
            const char *key;
            json_t *member;
            json_object_foreach(value.get(), key, member) {
                if (json_is_string(member))
                    texts.emplace_back(json_string_value(member), json_string_length(member));
            }
        }
    }
    for (const catalog::AuthSpec &auth : spec.auth) {
        if (auth.kind != catalog::AuthKind::Basic || !all_set(auth.value, settings) ||
            !all_set(auth.password, settings))
            continue;
        const std::string pair = basic_credentials(auth, settings);
        texts.push_back(pair);
        // Without its padding too: some echo it without.
        texts.push_back(pair.substr(0, pair.find_last_not_of('=') + 1));
    }
    return texts;
}

bool names_secret(const RequestTemplate &text, const catalog::DestinationType &type) {
    for (const std::string &key : text.setting_keys())
        if (const catalog::SettingSpec *spec = type.find_setting(key); spec && spec->secret)
            return true;
    return false;
}

int64_t unix_seconds_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string auth_value(const catalog::AuthSpec &auth, const SettingValues &settings) {
    const std::string value = header_value(auth.value, settings, auth.header);
    switch (auth.kind) {
    case catalog::AuthKind::Bearer: return "Bearer " + value;
    case catalog::AuthKind::Basic:
        return "Basic " +
               http::base64_encode(value + ":" + header_value(auth.password, settings, auth.header));
    case catalog::AuthKind::Header:
    case catalog::AuthKind::Query: return value;
    case catalog::AuthKind::OAuthRefresh:
    case catalog::AuthKind::JwtBearer: break;   // never a fixed value: see add_auth
    }
    throw bug("unknown auth kind");
}

// A payload value as URL text, or the reason it cannot be one.
std::string field_url_text(const JsonValue *value, const std::string &field, std::string &problem) {
    const std::string placeholder = "the URL's placeholder {{fields." + field + "}}";
    if (value == nullptr || value->is_null()) {
        problem = placeholder + " has no value: the field is null or not mapped";
        return {};
    }
    switch (value->kind()) {
    case JsonKind::String:
        if (value->string_value().empty())
            problem = placeholder + " has an empty value";
        return value->string_value();
    case JsonKind::Number: return value->number_text();
    case JsonKind::Boolean: return value->boolean_value() ? "true" : "false";
    default:
        problem = placeholder + " is " + json_kind_phrase(value->kind()) +
                  "; a URL needs a string, number or boolean";
        return {};
    }
}

// A URL value through its placeholder's filter (RequestTemplatePart::Filter).
std::string filtered(std::string value, RequestTemplatePart::Filter filter) {
    switch (filter) {
    case RequestTemplatePart::Filter::None: return value;
    case RequestTemplatePart::Filter::Md5Lower:
        // ASCII only, as Mailchimp lower-cases addresses; other bytes are hashed as
        // they are (a locale's rules must not change which member is addressed).
        for (char &c : value)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        return http::md5_hex(value);
    }
    throw bug("unknown URL filter");
}

constexpr const char *kJsonSpace = " \t\r\n";

// Where the payload's closing brace is. Payloads come from the engine's payload
// builder: anything but an object is a bug.
size_t closing_brace(const OutgoingRecord &record) {
    const std::string &payload = record.payload;
    const size_t first = payload.find_first_not_of(kJsonSpace);
    const size_t last = payload.find_last_not_of(kJsonSpace);
    if (first == std::string::npos || payload[first] != '{' || payload[last] != '}')
        throw bug("payload of record " + quoted(record.record_id) + " is not a JSON object");
    return last;
}

// A request property's value: its setting when set, else the definition's fallback.
std::optional<std::string> configured_text(const catalog::Configurable<std::string> &property,
                                           const SettingValues &settings) {
    std::optional<std::string> value =
        property.setting.empty() ? std::nullopt : settings.text(property.setting);
    return value ? value : property.fallback;
}

std::optional<long long> configured_count(const catalog::Configurable<int> &property,
                                          const SettingValues &settings) {
    std::optional<long long> value =
        property.setting.empty() ? std::nullopt : settings.integer(property.setting);
    if (!value && property.fallback)
        value = *property.fallback;
    return value;
}

// Every request's headers, and the names whose values are credentials.
struct HeaderSet {
    http::Headers headers;
    std::vector<std::string> masked;
};

void add_definition_headers(HeaderSet &set, const catalog::DestinationType &type,
                            const catalog::RequestSpec &spec, const SettingValues &settings) {
    for (const auto &[name, text] : spec.headers) {
        if (!all_set(text, settings))
            continue;   // a header built from an unset setting is left out
        set_header(set.headers, name, header_value(text, settings, name));
        if (names_secret(text, type))
            set.masked.push_back(name);
    }
}

void add_user_headers(HeaderSet &set, const std::string &setting, const SettingValues &settings) {
    if (setting.empty())
        return;
    const JsonPtr user_headers = settings.value(setting);
    const char *key;
    size_t key_length;
    json_t *value;
    json_object_keylen_foreach(user_headers.get(), key, key_length, value) {
        const std::string name(key, key_length);
        if (!json_is_string(value))
            throw invalid_setting("setting " + quoted(setting) + ": value of header " +
                                  quoted(name) + " is not a string");
        std::string text(json_string_value(value), json_string_length(value));
        // The rules validate_settings applied when the destination was saved.
        catalog::check_user_header(setting, name, text);
        set_header(set.headers, name, std::move(text));
        set.masked.push_back(name);
    }
}

// Entries are alternatives: the first whose settings are all set applies.
const catalog::AuthSpec *applying_auth(const std::vector<catalog::AuthSpec> &entries, const SettingValues &settings) {
    const auto auth = std::find_if(entries.begin(), entries.end(), [&](const auto &entry) {
        return all_set(entry.value, settings) && all_set(entry.password, settings) &&
               all_set(entry.refresh_token, settings) && all_set(entry.token_url, settings);
    });
    return auth == entries.end() ? nullptr : &*auth;
}

// Every entry's header is masked, whichever applied (a user header may fill it).
void add_auth(HeaderSet &set, const std::vector<catalog::AuthSpec> &entries,
              const SettingValues &settings) {
    for (const catalog::AuthSpec &auth : entries)
        if (auth.kind != catalog::AuthKind::Query)
            set.masked.push_back(auth.header);
    const catalog::AuthSpec *auth = applying_auth(entries, settings);
    // An OAuth token is the engine's to fetch and put in (set_bearer_token).
    if (auth != nullptr && auth->kind != catalog::AuthKind::Query && auth->kind != catalog::AuthKind::OAuthRefresh &&
        auth->kind != catalog::AuthKind::JwtBearer)
        set_header(set.headers, auth->header, auth_value(*auth, settings));
}

// The refresh token grant of the applying auth entry, when it is oauth_refresh.
std::optional<http::OAuthGrant> oauth_grant(const std::vector<catalog::AuthSpec> &entries,
                                            const SettingValues &settings) {
    const catalog::AuthSpec *auth = applying_auth(entries, settings);
    if (auth == nullptr || (auth->kind != catalog::AuthKind::OAuthRefresh && auth->kind != catalog::AuthKind::JwtBearer))
        return std::nullopt;
    const auto text = [&](const RequestTemplate &part) {
        return render_fixed(resolve_settings(part, settings, [](const auto &, const auto &) {}));
    };
    if (auth->kind == catalog::AuthKind::JwtBearer) {
        http::OAuthGrant grant;
        grant.service_account_key = text(auth->value);
        grant.scope = auth->scope;
        // Read now, so that a key that cannot sign fails the run (or the
        // test record) before anything is sent, with 22023 and a hint.
        grant.token_url = http::parse_service_account_key(grant.service_account_key).token_uri;
        return grant;
    }
    // As the API's URL: the base URL setting as the user wrote it (without a
    // trailing slash before the path), other settings percent-encoded.
    const RequestTemplate token_url = resolve_url(auth->token_url, settings);
    if (token_url.uses(Kind::RecordId) || token_url.uses(Kind::Field))
        throw invalid_setting("the OAuth token URL cannot carry {{record_id}} or {{fields.NAME}}",
                              "Remove the placeholder from the base URL setting.");
    return http::OAuthGrant{render_fixed(token_url), text(auth->value), text(auth->password), text(auth->refresh_token)};
}

// The query string the definition adds (its "query" parameters, then an API
// key in the query), percent-encoded, with its leading '?' or '&'.
std::string query_suffix(const RequestTemplate &url, const catalog::RequestSpec &spec,
                         const SettingValues &settings) {
    std::vector<std::pair<std::string, std::string>> parameters;
    for (const auto &[name, text] : spec.query)
        if (all_set(text, settings))   // a parameter built from an unset setting is left out
            parameters.emplace_back(name, render_fixed(resolve_settings(text, settings, [](const auto &, const auto &) {})));
    const catalog::AuthSpec *auth = applying_auth(spec.auth, settings);
    if (auth != nullptr && auth->kind == catalog::AuthKind::Query)
        parameters.emplace_back(auth->header, render_fixed(resolve_settings(auth->value, settings,
                                                                            [](const auto &, const auto &) {})));
    const bool has_query = std::any_of(url.parts.begin(), url.parts.end(), [](const RequestTemplatePart &part) {
        return part.kind == Kind::Text && part.text.find('?') != std::string::npos;
    });
    std::string suffix;
    for (const auto &[name, value] : parameters) {
        suffix += suffix.empty() && !has_query ? '?' : '&';
        suffix += http::percent_encode(name) + "=" + http::percent_encode(value);
    }
    return suffix;
}

// A wrapped body's members before the records' array, each followed by a
// comma (a form body's: name=value&, percent-encoded); a member built from an
// unset setting is left out.
std::string body_members_text(const catalog::RequestSpec &spec, const SettingValues &settings) {
    const bool form = spec.body == catalog::BodyShape::Form;
    std::string members;
    for (const auto &[name, text] : spec.body_members) {
        if (!all_set(text, settings))
            continue;
        const std::string value = render_fixed(resolve_settings(text, settings, [](const auto &, const auto &) {}));
        members += form ? http::percent_encode(name) + "=" + http::percent_encode(value) + "&"
                        : json_string_text(name) + ":" +
                              (spec.literal_body_members.count(name) != 0 ? value : json_string_text(value)) + ",";
    }
    return members;
}

// A wrap key that is a dotted path ("data.attributes.profiles.data",
// Klaviyo's bulk import) nests the records' array in objects; a member
// named "data.type" goes in the object at "data", before the next step.
std::pair<std::string, std::string> nested_wrap(const catalog::RequestSpec &spec, const SettingValues &settings) {
    std::vector<std::string> steps;
    for (size_t start = 0;;) {
        const size_t dot = spec.wrap_key.find('.', start);
        steps.push_back(spec.wrap_key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        if (dot == std::string::npos)
            break;
        start = dot + 1;
    }
    std::string open, close = "]";
    std::string parent;
    for (const std::string &step : steps) {
        open += "{";
        for (const auto &[name, text] : spec.body_members) {
            const size_t dot = name.rfind('.');
            if ((dot == std::string::npos ? std::string() : name.substr(0, dot)) != parent || !all_set(text, settings))
                continue;
            const std::string value =
                render_fixed(resolve_settings(text, settings, [](const auto &, const auto &) {}));
            open += json_string_text(dot == std::string::npos ? name : name.substr(dot + 1)) + ":" +
                    (spec.literal_body_members.count(name) != 0 ? value : json_string_text(value)) + ",";
        }
        open += json_string_text(step) + ":";
        close += "}";
        parent += (parent.empty() ? "" : ".") + step;
    }
    return {open + "[", close};
}

// The key field a lookup finds records by; bound by now when an action
// setting names it (catalog::bind_action_settings).
const std::string &key_field_of(const catalog::ActionDef &action) {
    if (action.key_field.empty())
        throw bug("action " + quoted(action.key) + " looks records up by a key field it does not have (" +
                  (action.key_field_setting.empty() ? std::string("none declared") : "its setting is not bound") + ")");
    return action.key_field;
}

// A lookup's element: its own, else the record's key field value.
std::optional<catalog::ElementNode> lookup_element(const catalog::LookupDef &lookup, const catalog::ActionDef &action) {
    if (lookup.element)
        return lookup.element;
    catalog::ElementNode field;
    field.kind = catalog::ElementNode::Kind::Field;
    field.field = key_field_of(action);
    return field;
}

// A SOQL string literal: SOQL's escape sequences for the characters it
// reserves (\ and ') and the control characters it names; everything else
// as it is (UTF-8 included).
std::string soql_string_literal(std::string_view text) {
    std::string out = "'";
    for (const char c : text) {
        switch (c) {
        case '\\': out += "\\\\"; break;
        case '\'': out += "\\'"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default: out += c;
        }
    }
    out += '\'';
    return out;
}

// A record's key as an answer names it: the template with the record's id
// and fields' text put in (a field that is not a string or number adds nothing).
std::string key_text(const catalog::RequestTemplate &key, const OutgoingRecord &record) {
    std::optional<JsonObjectView> payload;
    if (key.uses(Kind::Field)) {
        payload = JsonObjectView::of(record.payload);
        if (!payload)
            throw bug("payload of record " + quoted(record.record_id) + " is not a JSON object");
    }
    std::string text;
    for (const RequestTemplatePart &part : key.parts) {
        if (part.kind == Kind::Text) {
            text += part.text;
        } else if (part.kind == Kind::RecordId) {
            text += record.record_id;
        } else if (part.kind == Kind::Field) {
            const JsonObjectView::Member *member = payload->member(part.text);
            const JsonKind kind = member == nullptr ? JsonKind::Null : json_kind_of(member->value);
            if (kind == JsonKind::String) {
                const std::optional<std::string> content = json_string_content(member->value);
                if (!content)
                    throw bug("field " + quoted(part.text) + " of record " + quoted(record.record_id) +
                              " is not a valid JSON string");
                text += *content;
            } else if (kind == JsonKind::Number) {
                text += member->value;
            }
        }
    }
    return text;
}

}  // namespace

RequestBuilder::RequestBuilder(const catalog::DestinationType &type, const catalog::ActionDef &action,
                               const json_t *settings_json, const std::string &operation)
    : RequestBuilder(type, action, settings_json, action.request_for(operation), action.element_for(operation)) {}

RequestBuilder::RequestBuilder(const catalog::DestinationType &type, const catalog::ActionDef &action,
                               const json_t *settings_json, const catalog::LookupDef &lookup)
    : RequestBuilder(type, action, settings_json, lookup.request, lookup_element(lookup, action)) {
    catalog::RecordOutcomeSpec &records = response_.records;
    if (!records.keyed_by_key_field)
        return;
    // The answer names each record by its key field's value, in the member
    // named as the field (Salesforce's SOQL rows: "Ext__c": "A-1").
    records.record_key.source = "{{fields." + key_field_of(action) + "}}";
    records.record_key.parts = {RequestTemplatePart{Kind::Field, key_field_of(action)}};
    records.key = {key_field_of(action)};
}

RequestBuilder::RequestBuilder(const catalog::DestinationType &type, const catalog::ActionDef &action,
                               const json_t *settings_json, const catalog::RequestSpec &spec,
                               const std::optional<catalog::ElementNode> &element_node)
    : response_(spec.response) {
    const SettingValues settings(type, settings_json);
    if (!response_.retry.empty()) {
        // An answer that is also `exhausted` ends the run instead: never retried.
        retry_also_ = [limits = std::make_shared<const catalog::ResponseSpec>(response_)](
                          const http::HttpResponse &answer) {
            return answer_matches(limits->retry, answer.status, answer.body) &&
                   !answer_matches(limits->exhausted, answer.status, answer.body);
        };
    }

    const std::optional<std::string> method = configured_text(spec.method, settings);
    if (!method)
        throw invalid_setting("setting " + quoted(spec.method.setting) + " is not set");
    method_ = *method;

    url_ = resolve_url(spec.url, settings);
    append_text(url_, query_suffix(url_, spec, settings));
    url_reads_fields_ = url_.uses(Kind::Field);
    url_reads_object_id_ = url_.uses(Kind::ObjectId);
    url_per_record_ = url_reads_fields_ || url_reads_object_id_ || url_.uses(Kind::RecordId);

    // Never above the action's maximum, whatever the definition or the user says.
    max_records_ = static_cast<size_t>(action.max_batch_records);
    if (const std::optional<long long> size = configured_count(spec.batch_size, settings))
        max_records_ = std::min(max_records_, static_cast<size_t>(std::max(1LL, *size)));
    if (spec.body == catalog::BodyShape::Record || spec.body == catalog::BodyShape::None || url_per_record_)
        max_records_ = 1;
    no_body_ = spec.body == catalog::BodyShape::None;
    action_key_ = action.key;
    max_bytes_ = static_cast<size_t>(action.max_batch_bytes);
    max_record_bytes_ = static_cast<size_t>(action.max_record_bytes);
    init_body(spec, body_members_text(spec, settings));
    if (spec.body == catalog::BodyShape::Wrapped && spec.wrap_key.find('.') != std::string::npos)
        std::tie(body_open_, body_close_) = nested_wrap(spec, settings);
    if (query_list_) {
        const auto fixed = [&](const RequestTemplate &text) {
            return render_fixed(resolve_settings(text, settings, [](const auto &, const auto &) {}));
        };
        if (spec.query_list.templated)
            query_around_.emplace(fixed(spec.query_list.before), fixed(spec.query_list.after));
        // The URL before the records' elements: "?name=" or "&name=", and
        // the text around them (a URL per record has no limit to keep: it
        // carries one record).
        url_base_bytes_ = (url_per_record_ ? 0 : render_fixed(url_).size()) + 2 +
                          http::percent_encoded_size(*query_list_) +
                          (query_around_ ? http::percent_encoded_size(query_around_->first) +
                                               http::percent_encoded_size(query_around_->second)
                                         : 0);
    }

    HeaderSet headers;
    add_definition_headers(headers, type, spec, settings);
    add_user_headers(headers, spec.headers_setting, settings);
    add_auth(headers, spec.auth, settings);
    headers_ = std::move(headers.headers);
    masked_headers_ = std::move(headers.masked);
    oauth_ = oauth_grant(spec.auth, settings);

    if (spec.signing && all_set(spec.signing->secret, settings)) {
        const catalog::SigningSpec &declared = *spec.signing;
        const std::string secret =
            render_fixed(resolve_settings(declared.secret, settings, [](const auto &, const auto &) {}));
        const std::optional<std::string> name = configured_text(declared.algorithm, settings);
        const std::optional<catalog::SigningAlgorithm> algorithm =
            name ? catalog::signing_algorithm_named(*name) : std::nullopt;
        if (!algorithm)   // the setting's enum and default make this a bug
            throw bug("setting " + quoted(declared.algorithm.setting) + " names no signing algorithm");
        Signing signing;
        signing.algorithm = *algorithm;
        if (*algorithm == catalog::SigningAlgorithm::StandardWebhooks) {
            // As validate_settings read it.
            signing.key = std::make_shared<const std::string>(
                catalog::standard_webhooks_key(declared.secret.setting_keys().front(), secret));
        } else {
            const std::optional<std::string> header = configured_text(declared.header, settings);
            if (!header)
                throw bug("setting " + quoted(declared.header.setting) + " names no header");
            if (!declared.header.setting.empty())
                catalog::check_header_name_setting(declared.header.setting, *header);
            signing.header = *header;
            signing.prefix = declared.prefix;
            signing.key = std::make_shared<const std::string>(secret);
        }
        signing_ = std::move(signing);
    }
    timeout_ = configured_text(spec.timeout, settings);
    if (response_.job) {
        job_status_base_ = render_fixed(resolve_url(response_.job->status_url, settings));
        job_errors_base_ = render_fixed(resolve_url(response_.job->errors_url, settings));
    }
    if (spec.rate_limit) {
        const catalog::RateLimitSpec &declared = *spec.rate_limit;
        if (const std::optional<long long> requests = configured_count(declared.requests, settings)) {
            // Settings are validated against their minimum when saved; a
            // value below 1 read here still never disables pacing.
            const int64_t per_ms = int64_t{declared.per_seconds} * 1000;
            if (const std::optional<long long> burst = configured_count(declared.burst, settings))
                rate_limit_ = http::RateLimit{std::max(1LL, *requests), per_ms,
                                              std::clamp(*burst, 1LL, std::max(1LL, *requests))};
            else
                rate_limit_ = http::with_catch_up(std::max(1LL, *requests), per_ms);
            rate_limit_scope_ = declared.scope;
        }
    }

    for (const catalog::RecordExtra &extra : action.record_extras) {
        if (extra.text && !all_set(*extra.text, settings))
            continue;   // as with headers: a property built from an unset setting is left out
        Extra resolved;
        resolved.member = json_string_text(extra.key) + ":";
        if (extra.text) {
            resolved.text =
                resolve_settings(*extra.text, settings, [](const auto &, const auto &) {});
            needs_message_id_ = needs_message_id_ || resolved.text.uses(Kind::MessageId);
        } else {
            resolved.json = extra.json;
        }
        extras_.push_back(std::move(resolved));
    }
    if (element_node) {
        element_.emplace(*element_node, [&](const std::string &key) { return settings.text(key); });
        needs_message_id_ = element_->needs_message_id();
    }
    if (signing_ && signing_->algorithm == catalog::SigningAlgorithm::StandardWebhooks)
        needs_message_id_ = true;   // the webhook-id is made of them
    secrets_ = SecretMasker(secret_texts(type, spec, settings));
    // A service account's private key is masked on its own too: text that
    // quotes the PEM alone (not the whole JSON key) hides it as well.
    if (oauth_ && !oauth_->service_account_key.empty())
        secrets_ = secrets_.with(http::parse_service_account_key(oauth_->service_account_key).private_key);
}

void RequestBuilder::init_body(const catalog::RequestSpec &spec, const std::string &members) {
    // SPEC: batch size 1 sends the object, above 1 an array, whatever a given
    // request happens to carry (a short last batch is still an array).
    single_record_body_ = spec.body == catalog::BodyShape::Record ||
                          (spec.body == catalog::BodyShape::RecordOrArray && max_records_ == 1);
    if (spec.body == catalog::BodyShape::Wrapped) {
        body_open_ = "{" + members + json_string_text(spec.wrap_key) + ":[";
        body_close_ = "]}";
    } else if (spec.body == catalog::BodyShape::QueryList) {
        query_list_ = spec.wrap_key;
        query_quote_ = spec.query_list.quote;
        max_url_bytes_ = static_cast<size_t>(spec.query_list.max_url_bytes);
    } else if (spec.body == catalog::BodyShape::Form) {
        // Byte limits count the JSON array; its percent-encoding (up to three
        // bytes for one) and the members come on top.
        form_prefix_ = members + http::percent_encode(spec.wrap_key) + "=";
        body_open_ = "[";
        body_close_ = "]";
    } else if (!single_record_body_) {
        body_open_ = "[";
        body_close_ = "]";
    }
}

std::string RequestBuilder::with_extras(const OutgoingRecord &record) const {
    const size_t brace = closing_brace(record);
    // Spliced as text: re-serializing the payload could change its numbers
    // (49.00, 30-digit integers), which PayloadBuilder keeps as PostgreSQL wrote them.
    std::string element = record.payload.substr(0, brace);
    bool has_members = element.find_last_not_of(kJsonSpace) != element.find_first_not_of(kJsonSpace);
    for (const Extra &extra : extras_) {
        element += has_members ? "," : "";
        has_members = true;
        element += extra.member;
        if (extra.json) {
            element += *extra.json;
            continue;
        }
        std::string value;
        for (const RequestTemplatePart &part : extra.text.parts) {
            if (part.kind == Kind::MessageId && record.message_id.empty())
                throw bug("record " + quoted(record.record_id) + " has no message_id");
            value += part.kind == Kind::RecordId    ? record.record_id
                     : part.kind == Kind::MessageId ? record.message_id
                                                    : part.text;
        }
        append_json_string(element, value);
    }
    element += '}';
    return element;
}

std::string RequestBuilder::record_key(const OutgoingRecord &record) const {
    return key_text(response_.records.record_key, record);
}

std::string RequestBuilder::list_key(const OutgoingRecord &record, size_t index) const {
    return key_text(response_.records.list_keys.at(index), record);
}

std::string RequestBuilder::job_error_key(const OutgoingRecord &record, size_t index) const {
    if (!response_.job)
        throw bug("the request starts no job");
    return key_text(response_.job->error_keys.at(index).second, record);
}

http::HttpRequest RequestBuilder::job_get_request(std::string url) const {
    http::HttpRequest request;
    request.method = "GET";
    request.url = std::move(url);
    request.headers = headers_;
    request.retry_also = retry_also_;
    return request;
}

http::HttpRequest RequestBuilder::job_status_request(const std::string &job_id) const {
    if (!response_.job)
        throw bug("the request starts no job");
    return job_get_request(job_status_base_ + http::percent_encode(job_id) + response_.job->status_after);
}

std::string RequestBuilder::job_errors_url(const std::string &job_id) const {
    if (!response_.job)
        throw bug("the request starts no job");
    return job_errors_base_ + http::percent_encode(job_id) + response_.job->errors_after;
}

RequestBuilder::RecordUrl RequestBuilder::record_url(const OutgoingRecord &record) const {
    // Parsed only when the URL reads fields: that is one record per request anyway.
    std::optional<JsonValue> payload;
    if (url_reads_fields_) {
        payload = try_parse_json_text(record.payload);
        if (!payload || payload->kind() != JsonKind::Object)
            throw bug("payload of record " + quoted(record.record_id) + " is not a JSON object");
    }
    RecordUrl result;
    for (const RequestTemplatePart &part : url_.parts) {
        if (part.kind == Kind::Text)
            result.url += part.text;
        else if (part.kind == Kind::RecordId)
            result.url += http::percent_encode(record.record_id);
        else if (part.kind == Kind::Field)
            result.url += http::percent_encode(
                filtered(field_url_text(payload->member(part.text), part.text, result.problem), part.filter));
        else if (part.kind == Kind::ObjectId && record.object_id.empty())
            result.problem = "the destination has given no id for the record yet";
        else if (part.kind == Kind::ObjectId)
            result.url += http::percent_encode(record.object_id);
        if (!result.problem.empty())
            return result;
    }
    return result;
}

std::string_view RequestBuilder::element_text(const OutgoingRecord &record, std::string &storage,
                                             std::string &invalid_reason) const {
    if (url_reads_fields_ || url_reads_object_id_)
        invalid_reason = record_url(record).problem;
    if (!invalid_reason.empty())
        return {};
    const size_t start = storage.size();
    std::string_view element;
    if (element_) {
        if (!element_->render(record.payload, record.payload_members,
                              {record.record_id, record.message_id, record.object_id}, storage, invalid_reason)) {
            storage.resize(start);
            return {};
        }
        element = std::string_view(storage).substr(start);
    } else if (extras_.empty()) {
        closing_brace(record);  // a JSON object, as with extras
        element = record.payload;
    } else {
        storage += with_extras(record);
        element = std::string_view(storage).substr(start);
    }
    if (max_record_bytes_ > 0 && element.size() > max_record_bytes_) {
        invalid_reason = "the record is " + std::to_string(element.size()) +
                         " bytes as JSON; the destination accepts at most " + std::to_string(max_record_bytes_) +
                         " bytes per record";
        return {};
    }
    if (query_list_ && max_url_bytes_ > 0 && url_base_bytes_ + query_cost(element, true) > max_url_bytes_) {
        invalid_reason = "the record's element makes a URL of " +
                         std::to_string(url_base_bytes_ + query_cost(element, true)) + " bytes, over the " +
                         std::to_string(max_url_bytes_) + "-byte limit of a " + quoted(action_key_) + " request";
        return {};
    }
    // A request carrying this record alone would be over the byte limit:
    // it can never be sent (SPEC section 4, "a payload over the size limit").
    if (!fits_alone(element.size())) {
        invalid_reason = "payload is " + std::to_string(body_open_.size() + element.size() + body_close_.size()) +
                         " bytes, over the " + std::to_string(max_bytes_) + "-byte limit of a " +
                         quoted(action_key_) + " request";
        return {};
    }
    return element;
}

ElementResult RequestBuilder::element(const OutgoingRecord &record) const {
    ElementResult result;
    std::string storage;
    const std::string_view element = element_text(record, storage, result.invalid_reason);
    if (!result.invalid_reason.empty())
        return result;
    result.valid = true;
    result.element = std::string(element);
    return result;
}

// Each element's text: a string's, a number or other JSON as written.
std::string RequestBuilder::query_piece(std::string_view element) const {
    const std::optional<JsonValue> parsed = try_parse_json_text(element);
    const std::string text =
        parsed && parsed->kind() == JsonKind::String ? parsed->string_value() : std::string(element);
    return query_quote_ == catalog::QueryQuote::Soql ? soql_string_literal(text) : text;
}

// The elements as one query parameter's value. Without a text around them:
// each percent-encoded, separated by literal commas (ids=a,b). With one: the
// text, the elements joined by commas inside it, all percent-encoded.
std::string RequestBuilder::query_list_value(const std::vector<std::string_view> &elements) const {
    std::string value = query_around_ ? query_around_->first : std::string();
    for (size_t i = 0; i < elements.size(); ++i) {
        if (i > 0)
            value += ',';
        value += query_around_ ? query_piece(elements[i]) : http::percent_encode(query_piece(elements[i]));
    }
    if (!query_around_)
        return value;
    value += query_around_->second;
    return http::percent_encode(value);
}

size_t RequestBuilder::query_cost(std::string_view element, bool first) const {
    const size_t separator = first ? 0 : query_around_ ? 3 : 1;   // "%2C" or ","
    return separator + http::percent_encoded_size(query_piece(element));
}

std::string RequestBuilder::body_of(const std::vector<std::string_view> &elements) const {
    if (query_list_)
        return {};
    if (single_record_body_)
        return std::string(elements.front());
    if (form_prefix_) {
        // The JSON array, encoded piece by piece ("[" "," "]" need no escape).
        size_t most = form_prefix_->size() + elements.size() + 1;
        for (const std::string_view element : elements)
            most += 3 * element.size() + 1;
        std::string body;
        body.reserve(most);
        body += *form_prefix_;
        body += '[';
        for (size_t i = 0; i < elements.size(); ++i) {
            if (i > 0)
                body += ',';
            http::append_form_value_encoded(body, elements[i]);
        }
        body += ']';
        return body;
    }
    size_t size = body_open_.size() + body_close_.size() + elements.size();
    for (const std::string_view element : elements)
        size += element.size();
    std::string body;
    body.reserve(size);
    body += body_open_;
    for (size_t i = 0; i < elements.size(); ++i) {
        if (i > 0)
            body += ',';
        body += elements[i];
    }
    body += body_close_;
    return body;
}

PlannedRequest RequestBuilder::assemble(const std::vector<OutgoingRecord> &records,
                                        std::vector<size_t> indexes,
                                        const std::vector<std::string_view> &elements) const {
    PlannedRequest planned;
    http::HttpRequest &request = planned.request;
    request.method = method_;
    if (url_per_record_) {
        RecordUrl url = record_url(records[indexes.front()]);
        if (!url.problem.empty())
            throw bug("record " + quoted(records[indexes.front()].record_id) +
                      " cannot be sent: " + url.problem);
        request.url = std::move(url.url);
    } else {
        request.url = render_fixed(url_);
    }
    if (query_list_)
        request.url += (request.url.find('?') == std::string::npos ? "?" : "&") + http::percent_encode(*query_list_) +
                       "=" + query_list_value(elements);
    request.headers = headers_;
    if (!no_body_)
        request.body = body_of(elements);
    request.retry_also = retry_also_;
    // Over the exact bytes sent, so the receiver can recompute it from what it got.
    if (signing_ && signing_->algorithm == catalog::SigningAlgorithm::HmacSha256Hex)
        set_header(request.headers, signing_->header,
                   signing_->prefix + http::hmac_sha256_hex(*signing_->key, request.body));
    if (signing_ && signing_->algorithm == catalog::SigningAlgorithm::StandardWebhooks) {
        std::vector<std::string> message_ids;
        for (const size_t index : indexes) {
            if (records[index].message_id.empty())
                throw bug("record " + quoted(records[index].record_id) + " has no message_id");
            message_ids.push_back(records[index].message_id);
        }
        // Signed again at each attempt (the HTTP client calls it), so a retry
        // is as fresh as the first attempt; signed here too, so the request is
        // whole as built (send_test_record shows it).
        request.attempt_headers = [key = signing_->key, id = webhook_id(message_ids)](const http::HttpRequest &sent) {
            return standard_webhooks_headers(*key, id, unix_seconds_now(), sent.body);
        };
        for (auto &[name, value] : request.attempt_headers(request))
            set_header(request.headers, name, std::move(value));
    }
    planned.records = std::move(indexes);
    return planned;
}

bool RequestBuilder::fits(size_t count, size_t body_bytes, size_t element_bytes, size_t url_bytes,
                          size_t url_cost) const {
    return count < max_records_ && (max_bytes_ == 0 || body_bytes + 1 + element_bytes <= max_bytes_) &&
           (max_url_bytes_ == 0 || url_bytes + url_cost <= max_url_bytes_);
}

std::vector<PlannedRequest> RequestBuilder::plan(const std::vector<OutgoingRecord> &records,
                                                 std::vector<InvalidRecord> *invalid,
                                                 const std::function<void()> &after_each) const {
    std::vector<PlannedRequest> requests;
    std::vector<size_t> group;
    // The group's elements: views of the records' payloads, or pieces of
    // `rendered` when the destination adds to each record. Rendering them all
    // into one string, kept from one request to the next, spares an
    // allocation per record; its pieces are noted by place, as it may move
    // while it grows.
    struct Piece {
        std::string_view payload;   // empty: the piece of `rendered` at `at`
        size_t at = 0;
        size_t size = 0;
    };
    std::vector<Piece> pieces;
    std::string &rendered = rendered_;   // its capacity kept from one call to the next
    rendered.clear();
    std::vector<std::string_view> elements;
    size_t body_bytes = 0;   // exactly the size the body would have now
    size_t url_bytes = 0;    // a query list's URL, with a URL limit: exactly its size now
    // Sends the group; `kept` bytes at the end of `rendered` (the element that
    // did not fit) stay, as the start of the next group's.
    const auto flush = [&](size_t kept) {
        elements.clear();
        for (const Piece &piece : pieces)
            elements.push_back(piece.payload.empty() ? std::string_view(rendered).substr(piece.at, piece.size)
                                                      : piece.payload);
        requests.push_back(assemble(records, std::move(group), elements));
        group = {};
        group.reserve(std::min(max_records_, records.size()));
        pieces.clear();
        rendered.erase(0, rendered.size() - kept);
        if (after_each)
            after_each();
    };
    for (size_t i = 0; i < records.size(); ++i) {
        std::string invalid_reason;
        const size_t start = rendered.size();
        std::string_view element = element_text(records[i], rendered, invalid_reason);
        if (!invalid_reason.empty()) {
            rendered.resize(start);   // a limit refused what was rendered
            if (invalid != nullptr)
                invalid->push_back(InvalidRecord{i, std::move(invalid_reason)});
            continue;
        }
        const bool limits_url = query_list_ && max_url_bytes_ > 0;
        const size_t element_size = element.size();
        const bool is_rendered = rendered.size() > start;
        if (!group.empty() &&
            !fits(group.size(), body_bytes, element_size, url_bytes, limits_url ? query_cost(element, false) : 0)) {
            flush(is_rendered ? element_size : 0);
            if (is_rendered)   // it moved to the front of `rendered`
                element = std::string_view(rendered).substr(0, element_size);
        }
        body_bytes = group.empty() ? body_open_.size() + body_close_.size() + element_size
                                   : body_bytes + 1 + element_size;
        if (limits_url)
            url_bytes = group.empty() ? url_base_bytes_ + query_cost(element, true)
                                      : url_bytes + query_cost(element, false);
        group.push_back(i);
        pieces.push_back(is_rendered ? Piece{{}, rendered.size() - element_size, element_size}
                                     : Piece{element, 0, 0});
    }
    if (!group.empty())
        flush(0);
    return requests;
}

PlannedRequest RequestBuilder::build(const std::vector<OutgoingRecord> &records,
                                     const std::vector<size_t> &indexes) const {
    if (indexes.empty() || indexes.size() > max_records_)
        throw bug("a request must carry from 1 to " + std::to_string(max_records_) +
                  " records, not " + std::to_string(indexes.size()));
    std::vector<std::string> texts;
    texts.reserve(indexes.size());
    for (const size_t index : indexes) {
        if (index >= records.size())
            throw bug("record index " + std::to_string(index) + " is out of range");
        ElementResult result = element(records[index]);
        if (!result.valid)
            throw bug("record " + quoted(records[index].record_id) +
                      " cannot be sent: " + result.invalid_reason);
        texts.push_back(std::move(result.element));
    }
    return assemble(records, indexes, std::vector<std::string_view>(texts.begin(), texts.end()));
}

bool RequestBuilder::is_masked_header(const std::string &name) const {
    return std::any_of(masked_headers_.begin(), masked_headers_.end(),
                       [&](const std::string &masked) { return same_header_name(masked, name); });
}

http::HttpRequest RequestBuilder::masked(const http::HttpRequest &request) const {
    http::HttpRequest shown = request;
    shown.url = secrets_.mask(shown.url);
    for (auto &[name, value] : shown.headers)
        value = is_masked_header(name) ? catalog::kMaskedValue : secrets_.mask(value);
    return shown;
}

http::Headers standard_webhooks_headers(const std::string &key, const std::string &id, int64_t timestamp,
                                        const std::string &body) {
    const std::string stamp = std::to_string(timestamp);
    std::string content;
    content.reserve(id.size() + stamp.size() + body.size() + 2);
    content.append(id).append(".").append(stamp).append(".").append(body);
    return {{"webhook-id", id},
            {"webhook-timestamp", stamp},
            {"webhook-signature", "v1," + http::base64_encode(http::hmac_sha256(key, content))}};
}

std::string webhook_id(const std::vector<std::string> &message_ids) {
    std::string joined;
    for (const std::string &id : message_ids)
        joined.append(id).push_back('\n');
    return "msg_" + http::sha256_hex(joined).substr(0, 32);
}

void set_bearer_token(http::HttpRequest &request, const std::string &token) {
    set_header(request.headers, "Authorization", "Bearer " + token);
}

}  // namespace reverse_etl::destinations
