#include "catalog/destination_type.hpp"

#include <algorithm>
#include <climits>
#include <set>
#include <utility>

#include "catalog/action_templates.hpp"
#include "catalog/key_field_binding.hpp"
#include "catalog/definition_reader.hpp"
#include "catalog/element_definition.hpp"
#include "catalog/response_definition.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/version.hpp"
#include "http/http_text.hpp"

namespace reverse_etl::catalog {

namespace {

using namespace definition;

constexpr SettingType kSettingTypes[] = {SettingType::String, SettingType::Integer,
                                         SettingType::Boolean, SettingType::Object,
                                         SettingType::Interval};
constexpr FieldType kFieldTypes[] = {FieldType::String,   FieldType::Number, FieldType::Integer,
                                     FieldType::Boolean,  FieldType::Datetime,
                                     FieldType::Object,   FieldType::Array,  FieldType::Any};

// SPEC section 4: an action offers either the generic modes or a subset of the
// destination operations, never a mix (the two families mean different payloads).
const std::vector<std::string> kGenericSyncModes = {"added", "updated", "added_or_updated",
                                                    "deleted", "all"};
const std::vector<std::string> kOperationSyncModes = {"upsert", "update", "add", "delete",
                                                      "mirror"};



// ---- settings ----

bool is_object_of_strings(const json_t *value) {
    if (!json_is_object(value))
        return false;
    const char *key;
    const json_t *member;
    json_object_foreach(const_cast<json_t *>(value), key, member) {
        if (!json_is_string(member))
            return false;
    }
    return true;
}

void check_default(const Node &node, const SettingSpec &spec) {
    const json_t *value = node.value();
    switch (spec.type) {
    case SettingType::String:
    case SettingType::Interval:
        node.expect(json_is_string(value), "must be a string");
        break;
    case SettingType::Integer:
        node.expect(json_is_integer(value), "must be an integer");
        break;
    case SettingType::Boolean:
        node.expect(json_is_boolean(value), "must be true or false");
        break;
    case SettingType::Object:
        node.expect(is_object_of_strings(value), "must be an object of strings");
        break;
    }
    if (!spec.allowed_values.empty())
        node.expect(contains(spec.allowed_values, json_string_value(value)),
                    "must be one of the setting's enum values");
    if (json_is_integer(value)) {
        const long long number = json_integer_value(value);
        node.expect(!spec.minimum || number >= *spec.minimum, "is below the setting's minimum");
        node.expect(!spec.maximum || number <= *spec.maximum, "is above the setting's maximum");
    }
}

void read_limits(const Node &node, SettingSpec &spec) {
    const Node minimum = node.member("minimum"), maximum = node.member("maximum");
    if (minimum.present() || maximum.present())
        node.expect(spec.type == SettingType::Integer,
                    "has a minimum or maximum but is not an integer setting");
    if (minimum.present())
        spec.minimum = read_integer(minimum);
    if (maximum.present())
        spec.maximum = read_integer(maximum);
    if (spec.minimum && spec.maximum)
        maximum.expect(*spec.minimum <= *spec.maximum, "must not be below minimum");
}

SettingSpec read_setting(const Node &node) {
    node.expect(json_is_object(node.value()), "must be an object");
    SettingSpec spec;
    spec.key = read_snake_case(node.member("key"));
    spec.type = read_enum(node.member("type"), kSettingTypes, setting_type_name, "setting type");
    spec.required = read_bool(node.member("required"), false);
    spec.secret = read_bool(node.member("secret"), false);
    spec.description = read_text(node.member("description"));

    const Node allowed = node.member("enum");
    if (allowed.present()) {
        allowed.expect(spec.type == SettingType::String, "is only allowed on string settings");
        spec.allowed_values = read_name_list(allowed);
        allowed.expect(!spec.allowed_values.empty(), "must not be empty");
    }
    read_limits(node, spec);

    const Node fallback = node.member("default");
    if (fallback.present()) {
        // A required setting with a default could never be missing: a contradiction.
        fallback.expect(!spec.required, "is not allowed on a required setting");
        check_default(fallback, spec);
        spec.default_json = dump_json(fallback.value());
    }
    const Node derived = node.member("default_from");
    if (derived.present()) {
        derived.expect(json_is_object(derived.value()), "must be an object");
        expect_only_keys(derived, {"setting", "after_last", "template"});
        derived.expect(spec.type == SettingType::String && !spec.required && !spec.default_json,
                       "is only allowed on a string setting that is not required and has no default");
        SettingSpec::DefaultFrom from;
        from.setting = read_text(derived.member("setting"));
        from.after_last = read_text(derived.member("after_last"));
        const std::string text = read_text(derived.member("template"));
        const std::string placeholder = "{{value}}";
        const size_t at = text.find(placeholder);
        derived.member("template").expect(at != std::string::npos &&
                                              text.find(placeholder, at + 1) == std::string::npos &&
                                              text.find("{{", 0) == at &&
                                              text.find("{{", at + placeholder.size()) == std::string::npos,
                                          "must contain {{value}} exactly once and no other placeholder");
        from.prefix = text.substr(0, at);
        from.suffix = text.substr(at + placeholder.size());
        spec.default_from = std::move(from);
    }
    return spec;
}

// An action's settings (per mapping): the type-level setting's shape, but never
// secret (reverse_etl.mappings shows them, and templates put them in bodies and
// URLs as they are) and only plain values, which templates and key_field read.
SettingSpec read_action_setting(const Node &node) {
    node.expect(json_is_object(node.value()), "must be an object");
    node.member("secret").expect(!node.member("secret").present(),
                                 "is not allowed: action settings are shown in reverse_etl.mappings and "
                                 "sent as they are, so they cannot be secret");
    expect_only_keys(node, {"key", "type", "required", "default", "description", "enum", "minimum", "maximum"});
    SettingSpec spec = read_setting(node);
    node.member("type").expect(spec.type == SettingType::String || spec.type == SettingType::Integer ||
                                   spec.type == SettingType::Boolean,
                               "must be string, integer or boolean for an action setting");
    return spec;
}

std::vector<SettingSpec> read_action_settings(const Node &node) {
    if (!node.present())
        return {};
    require_array(node);
    node.expect(json_array_size(node.value()) > 0, "must not be empty (leave it out)");
    std::vector<SettingSpec> settings;
    std::set<std::string> keys;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        SettingSpec spec = read_action_setting(item);
        item.expect(keys.insert(spec.key).second, "repeats key \"" + spec.key + "\"");
        settings.push_back(std::move(spec));
    }
    return settings;
}

std::vector<SettingSpec> read_settings(const Node &node) {
    require_array(node);
    std::vector<SettingSpec> settings;
    std::set<std::string> keys;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        SettingSpec spec = read_setting(item);
        item.expect(keys.insert(spec.key).second, "repeats key \"" + spec.key + "\"");
        settings.push_back(std::move(spec));
    }
    for (size_t i = 0; i < settings.size(); ++i) {
        if (!settings[i].default_from)
            continue;
        const Node from = node.element(i).member("default_from").member("setting");
        const auto source = std::find_if(settings.begin(), settings.end(), [&](const SettingSpec &s) {
            return s.key == settings[i].default_from->setting;
        });
        from.expect(source != settings.end(), "names unknown setting \"" + settings[i].default_from->setting + "\"");
        from.expect(source->type == SettingType::String && !source->default_from,
                    "must name a string setting without a default_from");
    }
    // SPEC section 3: every type has a base-URL setting so tests and proxies can
    // point it anywhere.
    const bool has_base_url = std::any_of(settings.begin(), settings.end(), [](const auto &s) {
        return is_base_url_setting(s.key) && s.type == SettingType::String;
    });
    node.expect(has_base_url, "must include a string setting named \"url\", \"endpoint\", \"instance_url\" or \"webhook_url\"");
    return settings;
}

// ---- request block ----



// GET carries no body: only with {"query": NAME}, whose elements go in the
// query string (a lookup: Salesforce's SOQL query).
const std::vector<std::string> kMethods = {"POST", "PUT", "PATCH", "DELETE", "GET"};



std::string read_method(const Node &node) {
    std::string method = read_string(node);
    node.expect(contains(kMethods, method),
                "\"" + method + "\" is not a method (" + join_names(kMethods) + ")");
    return method;
}

Configurable<std::string> read_request_method(const Node &node, const DestinationType &type) {
    require_present(node);
    Configurable<std::string> method =
        read_configurable<std::string>(node, type, SettingType::String, read_method);
    if (method.setting.empty())
        return method;
    // An enum of methods lets validate_settings reject a bad method when the user
    // sets it, instead of at the first sync.
    const SettingSpec &spec = *type.find_setting(method.setting);
    node.expect(!spec.allowed_values.empty(),
                "names setting \"" + spec.key + "\", which must have an enum of methods");
    for (const std::string &value : spec.allowed_values)
        node.expect(contains(kMethods, value), "names setting \"" + spec.key +
                                                   "\", whose enum value \"" + value +
                                                   "\" is not a method");
    node.expect(spec.required || spec.default_json || method.fallback,
                "needs a default: setting \"" + spec.key + "\" may be unset");
    return method;
}

RequestTemplate read_url(const Node &node, const DestinationType &type) {
    require_present(node);
    RequestTemplate url = read_template(node, type, kSettings | kSecretSettings | kRecordId | kFields | kObjectId | kFilters);
    // SPEC section 3: tests and proxies point every type anywhere through this setting.
    const bool based = !url.parts.empty() && url.parts[0].kind == RequestTemplatePart::Kind::Setting &&
                       is_base_url_setting(url.parts[0].text);
    node.expect(based, "must start with {{settings.url}}, {{settings.endpoint}}, {{settings.instance_url}} or {{settings.webhook_url}}");
    return url;
}

Configurable<int> read_batch_size(const Node &node, const DestinationType &type) {
    if (!node.present())
        return {};
    Configurable<int> size =
        read_configurable<int>(node, type, SettingType::Integer, read_positive_int);
    if (!size.setting.empty()) {
        const SettingSpec &spec = *type.find_setting(size.setting);
        node.expect(spec.minimum && *spec.minimum >= 1,
                    "names setting \"" + spec.key + "\", which must have a minimum of at least 1");
    }
    return size;
}

// Names to templates, in definition order (query parameters, body members).
std::vector<std::pair<std::string, RequestTemplate>> read_named_templates(const Node &node,
                                                                          const DestinationType &type,
                                                                          unsigned allowed) {
    if (!node.present())
        return {};
    node.expect(json_is_object(node.value()), "must be an object");
    std::vector<std::pair<std::string, RequestTemplate>> named;
    const char *name;
    const json_t *value;
    json_object_foreach(const_cast<json_t *>(node.value()), name, value) {
        const Node item = node.member(name);
        item.expect(*name != '\0', "must not have an empty name");
        named.emplace_back(name, read_template(item, type, allowed));
    }
    return named;
}

constexpr const char *kElementsMarker = "{{elements}}";

// A query list's "value" (the parameter's text around "{{elements}}"),
// "quote" and "max_url_bytes".
QueryListSpec read_query_list(const Node &node, const DestinationType &type) {
    QueryListSpec spec;
    const Node value = node.member("value");
    if (value.present()) {
        const std::string text = read_text(value);
        const size_t marker = text.find(kElementsMarker);
        value.expect(marker != std::string::npos && text.find(kElementsMarker, marker + 1) == std::string::npos,
                     "must contain {{elements}} exactly once: where the records' elements go");
        // Each side is a template of its own: {{elements}} is no placeholder
        // of the template syntax, so it cannot appear anywhere else.
        std::string problem;
        const auto side = [&](const std::string &part) {
            std::optional<RequestTemplate> parsed = parse_request_template(part, problem);
            value.expect(parsed.has_value(), problem);
            for (const RequestTemplatePart &piece : parsed->parts) {
                const bool fixed = piece.kind == RequestTemplatePart::Kind::Text ||
                                   piece.kind == RequestTemplatePart::Kind::ActionSetting ||
                                   (piece.kind == RequestTemplatePart::Kind::Setting && type.find_setting(piece.text) &&
                                    !type.find_setting(piece.text)->secret);
                value.expect(fixed, "may use only {{elements}}, {{action_settings.KEY}} and non-secret "
                                    "{{settings.KEY}} placeholders that exist");
            }
            return std::move(*parsed);
        };
        spec.templated = true;
        spec.before = side(text.substr(0, marker));
        spec.after = side(text.substr(marker + std::string(kElementsMarker).size()));
    }
    const Node quote = node.member("quote");
    if (quote.present()) {
        const std::string style = read_string(quote);
        quote.expect(style == "none" || style == "soql", "must be \"none\" or \"soql\"");
        quote.expect(spec.templated || style == "none", "needs a \"value\" around the quoted elements");
        spec.quote = style == "soql" ? QueryQuote::Soql : QueryQuote::None;
    }
    if (node.member("max_url_bytes").present()) {
        spec.max_url_bytes = read_positive_int(node.member("max_url_bytes"));
        node.member("max_url_bytes").expect(spec.max_url_bytes >= 256, "must be at least 256");
    }
    return spec;
}

// A dotted wrap key nests the records' array in objects (Klaviyo's
// "data.attributes.profiles.data"); a dotted member goes in one of them: its
// path without its last step is a step of the wrap key's, its last step not
// the wrap key's next (which holds the array or the next object).
void check_nested_members(const Node &node, const RequestSpec &request) {
    const std::string &wrap = request.wrap_key;
    const bool nested = wrap.find('.') != std::string::npos;
    if (nested) {
        node.member("wrap").expect(request.body == BodyShape::Wrapped, "may be a dotted path only in a JSON body");
        node.member("wrap").expect(wrap.front() != '.' && wrap.back() != '.' && wrap.find("..") == std::string::npos,
                                   "has an empty step");
    }
    for (const auto &[name, text] : request.body_members) {
        const size_t dot = name.rfind('.');
        if (dot == std::string::npos)
            continue;
        const Node item = node.member("members").member(name.c_str());
        item.expect(nested, "is a dotted path, which needs a dotted wrap key");
        const std::string parent = name.substr(0, dot);
        const std::string next = wrap.size() > parent.size() + 1 ? wrap.substr(parent.size() + 1) : std::string();
        item.expect(wrap.compare(0, parent.size() + 1, parent + ".") == 0,
                    "is not inside the objects of the wrap key \"" + wrap + "\"");
        item.expect(next.substr(0, next.find('.')) != name.substr(dot + 1), "repeats a step of the wrap key");
    }
}

void read_body(const Node &node, RequestSpec &request, const DestinationType &type) {
    require_present(node);
    if (json_is_object(node.value())) {
        if (node.member("query").present()) {
            // No body at all: nothing else may be given.
            expect_only_keys(node, {"query", "value", "quote", "max_url_bytes"});
            request.body = BodyShape::QueryList;
            request.wrap_key = read_text(node.member("query"));
            request.body_members.clear();
            request.query_list = read_query_list(node, type);
            return;
        }
        expect_only_keys(node, {"wrap", "form", "members", "query"});
        const bool form = node.member("form").present();
        node.expect(form != node.member("wrap").present(), "needs either \"wrap\", \"form\" or \"query\"");
        request.body = form ? BodyShape::Form : BodyShape::Wrapped;
        request.wrap_key = read_text(node.member(form ? "form" : "wrap"));
        // Secrets may travel here (Amplitude's api_key): whatever shows a body
        // masks the secret settings' values in it.
        request.body_members.clear();
        request.literal_body_members.clear();
        const Node members = node.member("members");
        if (members.present()) {
            members.expect(json_is_object(members.value()), "must be an object");
            const char *name;
            const json_t *value;
            json_object_foreach(const_cast<json_t *>(members.value()), name, value) {
                const Node item = members.member(name);
                item.expect(*name != '\0', "must not have an empty name");
                if (json_is_boolean(value)) {
                    const std::string literal = json_is_true(value) ? "true" : "false";
                    request.body_members.emplace_back(
                        name, RequestTemplate{literal, {RequestTemplatePart{RequestTemplatePart::Kind::Text, literal}}});
                    request.literal_body_members.insert(name);
                } else {
                    request.body_members.emplace_back(name, read_template(item, type, kSettings | kSecretSettings));
                }
            }
        }
        for (const auto &[name, text] : request.body_members)
            node.member("members").expect(name != request.wrap_key, "repeats the wrap key \"" + name + "\"");
        check_nested_members(node, request);
        return;
    }
    request.body_members.clear();
    const std::string shape = read_string(node);
    if (shape == "record_or_array")
        request.body = BodyShape::RecordOrArray;
    else if (shape == "array")
        request.body = BodyShape::Array;
    else if (shape == "record")
        request.body = BodyShape::Record;
    else if (shape == "none")
        request.body = BodyShape::None;
    else
        node.fail("\"" + shape + "\" is not a body shape (record_or_array, array, record, none, "
                                 "{\"wrap\": KEY})");
    const Configurable<int> &size = request.batch_size;
    const bool one_or_absent = size.setting.empty() && (!size.fallback || *size.fallback == 1);
    node.expect(request.body != BodyShape::Record || one_or_absent,
                "\"record\" sends one record per request: batch_size must be absent or 1");
    node.expect(request.body != BodyShape::None || one_or_absent,
                "\"none\" sends one record per request: batch_size must be absent or 1");
}

std::vector<std::pair<std::string, RequestTemplate>> read_headers(const Node &node,
                                                               const DestinationType &type) {
    if (!node.present())
        return {};
    node.expect(json_is_object(node.value()), "must be an object");
    std::vector<std::pair<std::string, RequestTemplate>> headers;
    const char *name;
    const json_t *value;
    json_object_foreach(const_cast<json_t *>(node.value()), name, value) {
        const Node item = node.member(name);
        item.expect(http::is_token(name), "is not an HTTP header name");
        for (const auto &earlier : headers)
            item.expect(!same_header_name(earlier.first, name), "repeats header \"" +
                                                                    earlier.first + "\"");
        headers.emplace_back(name, read_template(item, type, kSettings | kSecretSettings));
    }
    return headers;
}

bool names_no_setting(const AuthSpec &auth) {
    return auth.value.setting_keys().empty() && auth.password.setting_keys().empty() &&
           auth.refresh_token.setting_keys().empty() && auth.token_url.setting_keys().empty();
}

AuthSpec read_auth_entry(const Node &node, const DestinationType &type) {
    node.expect(json_is_object(node.value()), "must be an object");
    constexpr unsigned kAllowed = kSettings | kSecretSettings;
    const Node kind = node.member("type");
    const std::string name = read_string(kind);
    AuthSpec auth;
    auth.header = "Authorization";
    if (name == "bearer") {
        expect_only_keys(node, {"type", "token"});
        auth.kind = AuthKind::Bearer;
        auth.value = read_template(node.member("token"), type, kAllowed);
    } else if (name == "basic") {
        expect_only_keys(node, {"type", "username", "password"});
        auth.kind = AuthKind::Basic;
        auth.value = read_template(node.member("username"), type, kAllowed);
        auth.password = read_template(node.member("password"), type, kAllowed);
    } else if (name == "header") {
        expect_only_keys(node, {"type", "name", "value"});
        auth.kind = AuthKind::Header;
        auth.header = read_header_name(node.member("name"));
        auth.value = read_template(node.member("value"), type, kAllowed);
    } else if (name == "query") {
        expect_only_keys(node, {"type", "name", "value"});
        auth.kind = AuthKind::Query;
        auth.header = read_text(node.member("name"));
        auth.value = read_template(node.member("value"), type, kAllowed);
    } else if (name == "oauth_refresh") {
        expect_only_keys(node, {"type", "token_url", "client_id", "client_secret", "refresh_token"});
        auth.kind = AuthKind::OAuthRefresh;
        auth.token_url = read_template(node.member("token_url"), type, kSettings);
        // Like the request's URL, so tests and proxies point it anywhere.
        node.member("token_url")
            .expect(!auth.token_url.parts.empty() &&
                        auth.token_url.parts[0].kind == RequestTemplatePart::Kind::Setting &&
                        is_base_url_setting(auth.token_url.parts[0].text),
                    "must start with {{settings.url}}, {{settings.endpoint}}, {{settings.instance_url}} or {{settings.webhook_url}}");
        auth.value = read_template(node.member("client_id"), type, kAllowed);
        auth.password = read_template(node.member("client_secret"), type, kAllowed);
        auth.refresh_token = read_template(node.member("refresh_token"), type, kAllowed);
    } else if (name == "jwt_bearer") {
        // The token URL is the key's own token_uri: Google's token endpoint
        // is another host than the API's, and each key names it.
        expect_only_keys(node, {"type", "key", "scope"});
        auth.kind = AuthKind::JwtBearer;
        auth.value = read_template(node.member("key"), type, kAllowed);
        node.member("key").expect(auth.value.parts.size() == 1 &&
                                      auth.value.parts[0].kind == RequestTemplatePart::Kind::Setting,
                                  "must be exactly one {{settings.KEY}}: the service account's JSON key");
        auth.scope = read_text(node.member("scope"));
    } else {
        kind.fail("\"" + name + "\" is not an auth type (bearer, basic, header, query, oauth_refresh, jwt_bearer)");
    }
    return auth;
}

std::vector<AuthSpec> read_auth(const Node &node, const DestinationType &type) {
    if (!node.present())
        return {};
    require_array(node);
    std::vector<AuthSpec> entries;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        // The first entry whose settings are all set applies; one naming no setting
        // always applies, so anything after it would be dead.
        item.expect(entries.empty() || !names_no_setting(entries.back()),
                    "can never apply: the entry before it names no setting, so it always does");
        entries.push_back(read_auth_entry(item, type));
    }
    return entries;
}

std::string read_signing_algorithm(const Node &node) {
    std::string name = read_string(node);
    node.expect(signing_algorithm_named(name).has_value(),
                "\"" + name + "\" is not a signing algorithm (hmac-sha256-hex, standard-webhooks)");
    return name;
}

// A setting that chooses the algorithm or the header is checked as the
// method's is: its values are known when it is set, and it always has one.
void expect_choice(const Node &node, const DestinationType &type, const std::string &setting,
                   bool has_fallback) {
    const SettingSpec &spec = *type.find_setting(setting);
    node.expect(spec.required || spec.default_json || has_fallback,
                "needs a default: setting \"" + spec.key + "\" may be unset");
}

std::optional<SigningSpec> read_signing(const Node &node, const DestinationType &type) {
    if (!node.present())
        return std::nullopt;
    node.expect(json_is_object(node.value()), "must be an object");
    expect_only_keys(node, {"secret", "header", "prefix", "algorithm"});
    SigningSpec signing;
    const Node algorithm = require_present(node.member("algorithm"));
    signing.algorithm = read_configurable<std::string>(algorithm, type, SettingType::String, read_signing_algorithm);
    if (!signing.algorithm.setting.empty()) {
        const SettingSpec &spec = *type.find_setting(signing.algorithm.setting);
        algorithm.expect(!spec.allowed_values.empty(),
                         "names setting \"" + spec.key + "\", which must have an enum of signing algorithms");
        for (const std::string &value : spec.allowed_values)
            algorithm.expect(signing_algorithm_named(value).has_value(),
                             "names setting \"" + spec.key + "\", whose enum value \"" + value +
                                 "\" is not a signing algorithm");
        expect_choice(algorithm, type, signing.algorithm.setting, signing.algorithm.fallback.has_value());
    }
    const Node secret = node.member("secret");
    signing.secret = read_template(secret, type, kSettings | kSecretSettings);
    secret.expect(!signing.secret.setting_keys().empty(),
                  "must name a setting: requests are signed when it is set");
    // Standard Webhooks names its own headers; any other algorithm needs one.
    const bool standard_only = signing.algorithm.setting.empty() &&
                               signing.algorithm.fallback == std::optional<std::string>("standard-webhooks");
    const Node header = node.member("header");
    if (!standard_only || header.present()) {
        signing.header = read_configurable<std::string>(require_present(header), type, SettingType::String,
                                                        read_header_name);
        if (!signing.header.setting.empty())
            expect_choice(header, type, signing.header.setting, signing.header.fallback.has_value());
    }
    const Node prefix = node.member("prefix");
    if (prefix.present())
        signing.prefix = read_string(prefix);
    return signing;
}

Configurable<std::string> read_timeout(const Node &node, const DestinationType &type) {
    if (!node.present())
        return {};
    return read_configurable<std::string>(node, type, SettingType::Interval, read_text);
}

// A day at most: vendors state limits per second, minute, hour or day.
constexpr int kMaxRateLimitSeconds = 86400;

int read_positive_count(const Node &node, const DestinationType &type, Configurable<int> &into) {
    into = read_configurable<int>(node, type, SettingType::Integer, read_positive_int);
    if (!into.setting.empty()) {
        const SettingSpec &spec = *type.find_setting(into.setting);
        node.expect(spec.minimum && *spec.minimum >= 1,
                    "names setting \"" + spec.key + "\", which must have a minimum of at least 1");
    }
    return into.fallback.value_or(0);
}

// {"requests": N or {"setting": KEY}, "per_seconds": S, "burst": B, "scope": "..."}
RateLimitSpec read_rate_limit(const Node &node, const DestinationType &type) {
    node.expect(json_is_object(node.value()), "must be an object");
    expect_only_keys(node, {"requests", "per_seconds", "burst", "scope"});
    RateLimitSpec limit;
    const int requests = read_positive_count(require_present(node.member("requests")), type, limit.requests);
    const Node per = node.member("per_seconds");
    limit.per_seconds = read_positive_int(per);
    per.expect(limit.per_seconds <= kMaxRateLimitSeconds, "must be at most " + std::to_string(kMaxRateLimitSeconds));
    const Node burst = node.member("burst");
    if (burst.present()) {
        const int fixed = read_positive_count(burst, type, limit.burst);
        burst.expect(requests == 0 || fixed <= requests, "must not exceed requests");
    }
    const Node scope = node.member("scope");
    if (scope.present())
        limit.scope = read_text(scope);
    return limit;
}

// The type's request block (base == nullptr: every required key present), or
// an action's, whose keys replace the type's one by one.
// `lookup`: a lookup's request, whose keyed_results may leave record_key and
// key to the action's key field.
RequestSpec read_request(const Node &node, const DestinationType &type, const RequestSpec *base = nullptr,
                         bool lookup = false) {
    RequestSpec request = base ? *base : RequestSpec{};
    if (base && !node.present())
        return request;
    require_present(node).expect(json_is_object(node.value()), "must be an object");
    expect_only_keys(node, {"method", "url", "batch_size", "body", "headers", "headers_setting",
                            "auth", "signing", "timeout", "query", "response", "rate_limit"});
    const auto given = [&](const char *key) { return !base || node.member(key).present(); };
    if (given("method"))
        request.method = read_request_method(node.member("method"), type);
    if (given("url"))
        request.url = read_url(node.member("url"), type);
    if (given("batch_size"))
        request.batch_size = read_batch_size(node.member("batch_size"), type);
    if (given("body"))
        read_body(node.member("body"), request, type);
    if (given("headers"))
        request.headers = read_headers(node.member("headers"), type);
    const Node user_headers = node.member("headers_setting");
    if (user_headers.present())
        request.headers_setting =
            read_setting_reference(user_headers, type, SettingType::Object).key;
    if (given("auth"))
        request.auth = read_auth(node.member("auth"), type);
    if (given("signing"))
        request.signing = read_signing(node.member("signing"), type);
    if (given("timeout"))
        request.timeout = read_timeout(node.member("timeout"), type);
    if (given("query"))
        request.query = read_named_templates(node.member("query"), type, kSettings | kSecretSettings);
    if (node.member("response").present())
        request.response = read_response(node.member("response"), type);
    if (node.member("rate_limit").present())
        request.rate_limit = read_rate_limit(node.member("rate_limit"), type);
    const bool get = request.method.fallback == std::optional<std::string>("GET") ||
                     (!request.method.setting.empty() &&
                      contains(type.find_setting(request.method.setting)->allowed_values, std::string("GET")));
    node.expect(!get || (request.method.setting.empty() && request.body == BodyShape::QueryList),
                "sends GET, which carries no body: it needs \"body\": {\"query\": NAME} and a fixed method");
    node.expect(lookup || !request.response.records.keyed_by_key_field,
                "reads keyed_results without record_key and key, which only a lookup may leave out");
    return request;
}

// An object or array extra is sent as written, but for {{extension_version}} in
// its strings; any other placeholder there would be sent as text, so it is refused.
void substitute_version(const Node &node, json_t *value) {
    if (json_is_string(value)) {
        const std::string text =
            with_version(std::string(json_string_value(value), json_string_length(value)));
        node.expect(text.find("{{") == std::string::npos,
                    "uses a placeholder inside an object or array, where only " +
                        std::string(kVersionPlaceholder) + " is replaced");
        json_string_setn(value, text.data(), text.size());
    } else if (json_is_object(value)) {
        const char *key;
        json_t *member;
        json_object_foreach(value, key, member) substitute_version(node, member);
    } else if (json_is_array(value)) {
        size_t index;
        json_t *element;
        json_array_foreach(value, index, element) substitute_version(node, element);
    }
}

std::vector<RecordExtra> read_record_extras(const Node &node, const ActionDef &action,
                                           const DestinationType &type) {
    if (!node.present())
        return {};
    node.expect(json_is_object(node.value()), "must be an object");
    // Extras are spliced after the payload's members; with free fields a mapped key
    // could collide with one and the element would carry the key twice.
    node.expect(!action.free_fields, "is not allowed on an action with free_fields");
    std::vector<RecordExtra> extras;
    const char *key;
    const json_t *value;
    json_object_foreach(const_cast<json_t *>(node.value()), key, value) {
        const Node item = node.member(key);
        item.expect(*key != '\0', "must not have an empty key");
        item.expect(action.find_field(key) == nullptr, "collides with the action's field \"" +
                                                           std::string(key) + "\"");
        RecordExtra extra;
        extra.key = key;
        if (json_is_string(value)) {
            extra.text = read_template(item, type, kSettings | kRecordId | kMessageId | kVersion);
        } else {
            const JsonPtr copy = adopt_json(json_deep_copy(value));
            substitute_version(item, copy.get());
            extra.json = dump_json(copy.get());
        }
        extras.push_back(std::move(extra));
    }
    return extras;
}

std::string trim_spaces(const std::string &text);

std::optional<RequestTemplatePart> placeholder_part(const std::string &name) {
    using Kind = RequestTemplatePart::Kind;
    // A record value's filter: the subscriber hash Mailchimp addresses members by
    // is the MD5 of the lower-cased email, computed as the URL is built.
    const std::string md5_lower = "|md5_lower";
    if (name.size() > md5_lower.size() &&
        name.compare(name.size() - md5_lower.size(), md5_lower.size(), md5_lower) == 0) {
        std::optional<RequestTemplatePart> part =
            placeholder_part(trim_spaces(name.substr(0, name.size() - md5_lower.size())));
        if (!part || (part->kind != Kind::Field && part->kind != Kind::Key))
            return std::nullopt;
        part->filter = RequestTemplatePart::Filter::Md5Lower;
        return part;
    }
    const auto named = [&](const char *prefix, Kind kind) -> std::optional<RequestTemplatePart> {
        const std::string head(prefix);
        if (name.size() > head.size() && name.compare(0, head.size(), head) == 0)
            return RequestTemplatePart{kind, name.substr(head.size())};
        return std::nullopt;
    };
    if (name == "record_id")
        return RequestTemplatePart{Kind::RecordId, {}};
    if (name == "message_id")
        return RequestTemplatePart{Kind::MessageId, {}};
    if (name == "message_uuid")
        return RequestTemplatePart{Kind::MessageUuid, {}};
    if (name == "object_id")
        return RequestTemplatePart{Kind::ObjectId, {}};
    if (name == "key_field")
        return RequestTemplatePart{Kind::KeyField, {}};
    if (name == "key")
        return RequestTemplatePart{Kind::Key, {}};
    if (auto setting = named("settings.", Kind::Setting))
        return setting;
    if (auto setting = named("action_settings.", Kind::ActionSetting))
        return setting;
    return named("fields.", Kind::Field);
}

std::string trim_spaces(const std::string &text) {
    const size_t first = text.find_first_not_of(' ');
    if (first == std::string::npos)
        return {};
    return text.substr(first, text.find_last_not_of(' ') - first + 1);
}

// ---- actions ----

FieldSpec read_field(const Node &node) {
    node.expect(json_is_object(node.value()), "must be an object");
    FieldSpec field;
    field.key = read_text(node.member("key"));
    field.type = read_enum(node.member("type"), kFieldTypes, field_type_name, "field type");
    field.required = read_bool(node.member("required"), false);
    field.description = read_text(node.member("description"));
    const Node properties = node.member("properties");
    if (properties.present()) {
        properties.expect(field.type == FieldType::Object, "is only allowed on object fields");
        field.properties = read_name_list(properties);
        properties.expect(!field.properties.empty(), "must not be empty");
    }
    return field;
}

std::vector<FieldSpec> read_fields(const Node &node) {
    require_array(node);
    std::vector<FieldSpec> fields;
    std::set<std::string> keys;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        FieldSpec field = read_field(item);
        item.expect(keys.insert(field.key).second, "repeats key \"" + field.key + "\"");
        fields.push_back(std::move(field));
    }
    return fields;
}

void read_sync_modes(const Node &node, ActionDef &action) {
    const Node modes = node.member("sync_modes");
    action.sync_modes = read_name_list(modes);
    modes.expect(!action.sync_modes.empty(), "must not be empty");
    for (size_t i = 0; i < action.sync_modes.size(); ++i) {
        const std::string &mode = action.sync_modes[i];
        modes.element(i).expect(contains(kGenericSyncModes, mode) ||
                                    contains(kOperationSyncModes, mode),
                                "\"" + mode + "\" is not a sync mode (" +
                                    join_names(kGenericSyncModes) + ", " +
                                    join_names(kOperationSyncModes) + ")");
    }
    // "all" (every change, e.g. as an event) may accompany operations: event
    // APIs offer "add" (new records) and "all".
    const auto family_of = [](const std::string &mode) {
        return mode == "all" ? 0 : contains(kGenericSyncModes, mode) ? 1 : 2;
    };
    int family = 0;
    for (const std::string &mode : action.sync_modes)
        family = std::max(family, family_of(mode));
    for (const std::string &mode : action.sync_modes)
        modes.expect(family_of(mode) == 0 || family_of(mode) == family,
                     "must not mix generic modes (added, updated, added_or_updated, deleted) with "
                     "destination operations (" + join_names(kOperationSyncModes) + "); all goes with either");
    const Node fallback = node.member("default_sync_mode");
    const std::string mode = read_string(fallback);
    fallback.expect(contains(action.sync_modes, mode),
                    "\"" + mode + "\" is not one of the action's sync_modes");
    action.default_sync_mode = mode;
}

void read_required_one_of(const Node &node, ActionDef &action) {
    if (!node.present())
        return;
    require_array(node);
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node group = node.element(i);
        std::vector<std::string> keys = read_name_list(group);
        group.expect(keys.size() >= 2, "must name at least two fields (mark one field "
                                       "\"required\" instead)");
        for (const std::string &key : keys)
            group.expect(action.free_fields || action.find_field(key) != nullptr,
                         "names \"" + key + "\", which is not a field of the action");
        action.required_one_of.push_back(std::move(keys));
    }
}

std::vector<std::vector<std::string>> read_one_of_settings(const Node &node, const DestinationType &type) {
    std::vector<std::vector<std::string>> groups;
    if (!node.present())
        return groups;
    require_array(node);
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node group = node.element(i);
        std::vector<std::string> keys = read_name_list(group);
        group.expect(keys.size() >= 2, "must name at least two settings");
        for (const std::string &key : keys) {
            const SettingSpec *spec = type.find_setting(key);
            group.expect(spec != nullptr, "names \"" + key + "\", which is not a setting of the type");
            group.expect(!spec->required && !spec->default_json,
                         "names \"" + key + "\", which is required or has a default: it is always set");
        }
        groups.push_back(std::move(keys));
    }
    return groups;
}

void read_batch_limits(const Node &node, ActionDef &action) {
    action.max_batch_records = read_positive_int(node.member("max_batch_records"));
    action.max_batch_bytes = read_optional_positive_int(node.member("max_batch_bytes"));
    const Node record_bytes = node.member("max_record_bytes");
    action.max_record_bytes = read_optional_positive_int(record_bytes);
    record_bytes.expect(action.max_batch_bytes == 0 ||
                            action.max_record_bytes <= action.max_batch_bytes,
                        "must not exceed max_batch_bytes");
}

// {"request": {... "response": {"records": {"kind": "keyed_results", ...}}},
//  "element": ..., "missing": "delivered" | "rejected"}
std::optional<LookupDef> read_lookup(const Node &node, const ActionDef &action, const DestinationType &type,
                                     const RequestSpec &operation_request) {
    if (!node.present())
        return std::nullopt;
    node.expect(json_is_object(node.value()), "must be an object");
    expect_only_keys(node, {"request", "element", "missing"});
    LookupDef lookup;
    lookup.request = read_request(node.member("request"), type, &operation_request, true);
    node.member("request").expect(lookup.request.response.records.kind == RecordOutcomeKind::KeyedResults,
                                  "must read its answer as keyed_results: a lookup finds records by their keys");
    node.member("request").expect(!lookup.request.response.records.object_id.empty(),
                                  "must say where a result's object_id is");
    if (node.member("element").present())
        lookup.element = read_element(node.member("element"), action, type);
    // Without an element or record_key, the lookup goes by the key field.
    node.expect((lookup.element && !lookup.request.response.records.keyed_by_key_field) ||
                    !action.key_field.empty() || !action.key_field_setting.empty(),
                "needs the action's key_field: without an element or record_key, records are looked up by it");
    const Node missing = node.member("missing");
    if (missing.present()) {
        const std::string fate = read_string(missing);
        missing.expect(fate == "delivered" || fate == "rejected" || fate == "add",
                       "must be \"delivered\", \"rejected\" or \"add\"");
        lookup.missing = fate == "delivered"  ? LookupDef::Missing::Delivered
                         : fate == "rejected" ? LookupDef::Missing::Rejected
                                              : LookupDef::Missing::Add;
    }
    return lookup;
}

// {"userId": {"request": {...}, "element": ...}, ...}: what the operation
// sends instead when the mapping's key field is that one. Only where an
// action setting names the key field (a fixed one would need no variant),
// and only for values the setting can take.
void read_key_field_variants(const Node &node, const ActionDef &action, const DestinationType &type,
                             OperationDef &operation) {
    if (!node.present())
        return;
    node.expect(json_is_object(node.value()) && json_object_size(node.value()) > 0, "must be a non-empty object");
    node.expect(!action.key_field_setting.empty(),
                "needs a key_field named by an action setting: a fixed key field needs no variants");
    node.expect(!operation.lookup, "cannot be combined with a lookup");
    const SettingSpec &setting = *action.find_setting(action.key_field_setting);
    const char *name;
    const json_t *value;
    json_object_foreach(const_cast<json_t *>(node.value()), name, value) {
        const Node item = node.member(name);
        item.expect(setting.allowed_values.empty() || contains(setting.allowed_values, name),
                    "is not a value of action setting \"" + setting.key + "\" (" +
                        join_names(setting.allowed_values) + ")");
        item.expect(action.free_fields || action.find_field(name) != nullptr, "is not a field of the action");
        item.expect(json_is_object(value), "must be an object");
        expect_only_keys(item, {"request", "element"});
        OperationVariant variant;
        variant.request = read_request(item.member("request"), type, &operation.request);
        if (item.member("element").present())
            variant.element = read_element(item.member("element"), action, type);
        else
            variant.element = operation.element;
        operation.by_key_field.emplace(name, std::move(variant));
    }
}

// {"delete": {"request": {...}, "element": ...}, ...}: only for the
// destination operations the action's sync modes can send.
void read_operations(const Node &node, ActionDef &action, const DestinationType &type) {
    if (!node.present())
        return;
    node.expect(json_is_object(node.value()), "must be an object");
    const auto offers = [&](const std::string &mode) { return contains(action.sync_modes, mode); };
    const char *name;
    const json_t *value;
    json_object_foreach(const_cast<json_t *>(node.value()), name, value) {
        const Node item = node.member(name);
        const std::string operation = name;
        const bool sent = operation == "delete"   ? offers("delete") || offers("mirror")
                          : operation == "upsert" ? offers("upsert") || offers("mirror")
                          : operation == "update" ? offers("update")
                          : operation == "add"    ? offers("add")
                                                  : false;
        item.expect(operation == "delete" || operation == "upsert" || operation == "update" || operation == "add",
                    "is not a destination operation (upsert, update, add, delete)");
        item.expect(sent, "is never sent: no sync mode of the action sends it");
        item.expect(json_is_object(value), "must be an object");
        expect_only_keys(item, {"request", "element", "lookup", "by_key_field"});
        OperationDef definition;
        definition.request = read_request(item.member("request"), type, &action.request);
        if (item.member("element").present())
            definition.element = read_element(item.member("element"), action, type);
        definition.lookup = read_lookup(item.member("lookup"), action, type, definition.request);
        read_key_field_variants(item.member("by_key_field"), action, type, definition);
        // Creating a record the lookup did not find makes sense only where
        // the change may create it; a deletion never does.
        item.member("lookup").member("missing").expect(
            !definition.lookup || definition.lookup->missing != LookupDef::Missing::Add ||
                operation == "upsert",
            "may be \"add\" only for the upsert operation");
        if (operation == "delete")
            item.expect(!action.key_field.empty() || !action.key_field_setting.empty() || action.row_index,
                        "needs the action's key_field (or row_index): deletes address records by it");
        action.operations.emplace(operation, std::move(definition));
    }
}

// ---- action settings in templates and key_field ----

// "{{action_settings.KEY}}" naming a string setting of the action that always
// has a value (required, or with a default): the key field is that value.
void read_key_field(const Node &node, ActionDef &action) {
    if (!node.present())
        return;
    const std::string text = read_text(node);
    std::string problem;
    const std::optional<RequestTemplate> parsed = parse_request_template(text, problem);
    const bool is_setting = parsed && parsed->parts.size() == 1 &&
                            parsed->parts[0].kind == RequestTemplatePart::Kind::ActionSetting;
    if (!is_setting) {
        node.expect(text.find("{{") == std::string::npos,
                    "must be a field of the action or exactly one {{action_settings.KEY}}");
        action.key_field = text;
        node.expect(action.find_field(action.key_field) != nullptr,
                    "names \"" + action.key_field + "\", which is not a field of the action");
        return;
    }
    const std::string &key = parsed->parts[0].text;
    const SettingSpec *spec = action.find_setting(key);
    node.expect(spec != nullptr, "uses {{action_settings." + key + "}}, which the action does not declare");
    node.expect(spec->type == SettingType::String, "names action setting \"" + key + "\", which is not a string");
    node.expect(spec->required || spec->default_json,
                "names action setting \"" + key + "\", which must be required or have a default");
    if (spec->default_json && !action.free_fields) {
        const JsonPtr fallback = parse_json(*spec->default_json, "default");
        node.expect(action.find_field(json_string_value(fallback.get())) != nullptr,
                    "names action setting \"" + key + "\", whose default is not a field of the action");
    }
    action.key_field_setting = key;
}

// The type's request block is read before any action, so its templates may use
// action settings: each action that sends it must declare them. A template
// that uses one always has a value to put in, so each is required or has a
// default, and is text (a boolean has no one spelling in a URL or header).
void check_action_setting_uses(const Node &node, const ActionDef &action) {
    for_each_action_template(action, [&](const std::string &where, const RequestTemplate &text, bool) {
        for (const RequestTemplatePart &part : text.parts) {
            if (part.kind != RequestTemplatePart::Kind::ActionSetting)
                continue;
            const std::string placeholder = "{{action_settings." + part.text + "}}";
            const SettingSpec *spec = action.find_setting(part.text);
            node.expect(spec != nullptr, "uses " + placeholder + " (in " + where +
                                             "), but the action declares no such setting");
            node.expect(spec->type == SettingType::String || spec->type == SettingType::Integer,
                        "uses " + placeholder + " (in " + where + "), which is not a string or integer setting");
            node.expect(spec->required || spec->default_json,
                        "uses " + placeholder + " (in " + where +
                            "), which must be required or have a default to always have a value");
        }
    });
}

// {{key_field}} and {{key}} need a key field; when the definition names it,
// they are put in now, else with each mapping's action settings.
void bind_known_key_field(const Node &node, ActionDef &action) {
    if (!uses_key_placeholders(action))
        return;
    node.expect(!action.key_field.empty() || !action.key_field_setting.empty(),
                "uses {{key_field}} or {{key}}, but has no key_field");
    if (!action.key_field.empty())
        bind_key_field(action, action.key_field);
}

ActionDef read_action(const Node &node, const DestinationType &type) {
    node.expect(json_is_object(node.value()), "must be an object");
    ActionDef action;
    action.key = read_snake_case(node.member("key"));
    action.name = read_text(node.member("name"));
    action.description = read_text(node.member("description"));
    action.settings = read_action_settings(node.member("settings"));
    read_sync_modes(node, action);
    action.free_fields = read_bool(node.member("free_fields"), false);
    const Node suggest_other_columns = node.member("suggest_other_columns");
    suggest_other_columns.expect(!suggest_other_columns.present() || action.free_fields,
                                 "is only for an action with free_fields");
    action.suggest_other_columns = read_bool(suggest_other_columns, true);
    const Node fields = node.member("fields");
    action.fields = read_fields(fields);
    fields.expect(action.free_fields || !action.fields.empty(),
                  "must not be empty unless free_fields is true");
    read_required_one_of(node.member("required_one_of"), action);
    read_batch_limits(node, action);
    action.nulls_allowed = read_bool(node.member("nulls_allowed"), true);
    action.record_extras = read_record_extras(node.member("record"), action, type);
    action.request = read_request(node.member("request"), type, &type.request);
    const Node element = node.member("element");
    if (element.present()) {
        element.expect(action.record_extras.empty(), "cannot be combined with \"record\"");
        action.element = read_element(element, action, type);
    }
    read_key_field(node.member("key_field"), action);
    action.row_index = read_bool(node.member("row_index"), false);
    read_operations(node.member("operations"), action, type);
    check_action_setting_uses(node, action);
    bind_known_key_field(node, action);
    // Unknown keys (rate limits, ...) belong to the delivery side.
    return action;
}

std::vector<ActionDef> read_actions(const Node &node, const DestinationType &type) {
    require_array(node);
    node.expect(json_array_size(node.value()) > 0, "must not be empty");
    std::vector<ActionDef> actions;
    std::set<std::string> keys;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        ActionDef action = read_action(item, type);
        item.expect(keys.insert(action.key).second, "repeats key \"" + action.key + "\"");
        actions.push_back(std::move(action));
    }
    return actions;
}

JsonPtr parse_definition_text(const std::string &definition_json) {
    try {
        return parse_json(definition_json, "destination type definition");
    } catch (const Error &error) {
        // Bad JSON in a shipped file is our bug, not the user's bad parameter.
        throw Error(sqlstate::kInternalError, error.message(), error.detail(), error.hint());
    }
}

}  // namespace

DestinationType parse_destination_type(const std::string &definition_json) {
    const JsonPtr root_value = parse_definition_text(definition_json);
    std::string type_name;  // Node keeps a reference: messages name the type once known
    const Node root(root_value.get(), "", type_name);
    root.expect(json_is_object(root.value()), "must be a JSON object");

    DestinationType type;
    type.type = read_snake_case(root.member("type"));
    type_name = type.type;
    type.name = read_text(root.member("name"));
    type.description = read_text(root.member("description"));
    type.settings = read_settings(root.member("settings"));
    type.one_of_settings = read_one_of_settings(root.member("one_of_settings"), type);
    type.request = read_request(root.member("request"), type);
    type.actions = read_actions(root.member("actions"), type);
    return type;
}

std::optional<SigningAlgorithm> signing_algorithm_named(const std::string &name) {
    if (name == kSigningAlgorithms[0])
        return SigningAlgorithm::HmacSha256Hex;
    if (name == kSigningAlgorithms[1])
        return SigningAlgorithm::StandardWebhooks;
    return std::nullopt;
}

std::optional<RequestTemplate> parse_request_template(const std::string &text, std::string &problem) {
    RequestTemplate result;
    result.source = text;
    std::string literal;
    const auto flush_literal = [&] {
        if (!literal.empty())
            result.parts.push_back(RequestTemplatePart{RequestTemplatePart::Kind::Text, std::move(literal)});
        literal.clear();
    };
    size_t pos = 0;
    while (pos < text.size()) {
        const size_t open = text.find("{{", pos);
        if (open == std::string::npos) {
            literal.append(text, pos, std::string::npos);
            break;
        }
        literal.append(text, pos, open - pos);
        const size_t close = text.find("}}", open + 2);
        if (close == std::string::npos) {
            problem = "has \"{{\" without a closing \"}}\"";
            return std::nullopt;
        }
        std::optional<RequestTemplatePart> part =
            placeholder_part(trim_spaces(text.substr(open + 2, close - open - 2)));
        if (!part) {
            problem = "uses unknown placeholder \"" + text.substr(open, close + 2 - open) +
                      "\" (use {{record_id}}, {{message_id}}, {{message_uuid}}, {{settings.KEY}}, "
                      "{{action_settings.KEY}}, {{fields.NAME}}, {{key_field}} or {{key}})";
            return std::nullopt;
        }
        flush_literal();
        result.parts.push_back(std::move(*part));
        pos = close + 2;
    }
    flush_literal();
    return result;
}

bool RequestTemplate::uses(RequestTemplatePart::Kind kind) const {
    return std::any_of(parts.begin(), parts.end(),
                       [kind](const RequestTemplatePart &part) { return part.kind == kind; });
}

std::vector<std::string> RequestTemplate::setting_keys() const {
    std::vector<std::string> keys;
    for (const RequestTemplatePart &part : parts)
        if (part.kind == RequestTemplatePart::Kind::Setting)
            keys.push_back(part.text);
    return keys;
}

std::string operation_for(const std::string &sync_mode, const std::string &change) {
    if (change == "deleted")
        return "delete";
    if (change == "added" && sync_mode == "add")
        return "add";
    if (change == "updated" && sync_mode == "update")
        return "update";
    return "upsert";
}

const RequestSpec &ActionDef::request_for(const std::string &operation) const {
    const auto found = operations.find(operation);
    return found == operations.end() ? request : found->second.request;
}

const std::optional<ElementNode> &ActionDef::element_for(const std::string &operation) const {
    const auto found = operations.find(operation);
    return found == operations.end() || !found->second.element ? element : found->second.element;
}

const FieldSpec *ActionDef::find_field(const std::string &field_key) const {
    const auto found = std::find_if(fields.begin(), fields.end(),
                                    [&](const FieldSpec &field) { return field.key == field_key; });
    return found == fields.end() ? nullptr : &*found;
}

const SettingSpec *ActionDef::find_setting(const std::string &setting_key) const {
    const auto found =
        std::find_if(settings.begin(), settings.end(),
                     [&](const SettingSpec &setting) { return setting.key == setting_key; });
    return found == settings.end() ? nullptr : &*found;
}

const SettingSpec *DestinationType::find_setting(const std::string &setting_key) const {
    const auto found =
        std::find_if(settings.begin(), settings.end(),
                     [&](const SettingSpec &setting) { return setting.key == setting_key; });
    return found == settings.end() ? nullptr : &*found;
}

const ActionDef *DestinationType::find_action(const std::string &action_key) const {
    const auto found =
        std::find_if(actions.begin(), actions.end(),
                     [&](const ActionDef &action) { return action.key == action_key; });
    return found == actions.end() ? nullptr : &*found;
}

const char *field_type_name(FieldType type) {
    switch (type) {
    case FieldType::String: return "string";
    case FieldType::Number: return "number";
    case FieldType::Integer: return "integer";
    case FieldType::Boolean: return "boolean";
    case FieldType::Datetime: return "datetime";
    case FieldType::Object: return "object";
    case FieldType::Array: return "array";
    case FieldType::Any: return "any";
    }
    return "unknown";
}

const char *setting_type_name(SettingType type) {
    switch (type) {
    case SettingType::String: return "string";
    case SettingType::Integer: return "integer";
    case SettingType::Boolean: return "boolean";
    case SettingType::Object: return "object";
    case SettingType::Interval: return "interval";
    }
    return "unknown";
}

}  // namespace reverse_etl::catalog
