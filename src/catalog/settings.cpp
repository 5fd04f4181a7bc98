#include "catalog/settings.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "catalog/name_matching.hpp"
#include "catalog/request_rules.hpp"
#include "common/error.hpp"
#include "common/parse_number.hpp"
#include "common/text.hpp"
#include "http/url_syntax.hpp"

namespace reverse_etl::catalog {

namespace {

std::string quoted_list(const std::vector<std::string> &names) {
    std::string list;
    for (size_t i = 0; i < names.size(); ++i) {
        if (i > 0)
            list += i + 1 == names.size() ? (names.size() > 2 ? ", and " : " and ") : ", ";
        list += quoted(names[i]);
    }
    return list;
}

// Calls visit(key, value) for each member in insertion order. Keys keep their
// length so a key with an embedded NUL is not mistaken for a shorter one.
template <typename Visit>
void for_each_member(const json_t *object, Visit &&visit) {
    // jansson's iteration macros want a non-const object but only read it.
    json_t *readable = const_cast<json_t *>(object);
    const char *key;
    size_t key_length;
    json_t *value;
    json_object_keylen_foreach(readable, key, key_length, value) {
        visit(std::string(key, key_length), static_cast<const json_t *>(value));
    }
}

void set_member(json_t *object, const std::string &key, JsonPtr value) {
    // setn_new steals the reference even when it fails, so release first.
    if (!value || json_object_setn_new(object, key.data(), key.size(), value.release()) != 0)
        throw Error(sqlstate::kInternalError, "out of memory while building settings");
}

JsonPtr deep_copy(const json_t *value) {
    JsonPtr copy(json_deep_copy(value));
    if (!copy)
        throw Error(sqlstate::kInternalError, "out of memory while copying settings");
    return copy;
}

Error invalid(std::string message, std::string detail = {}, std::string hint = {}) {
    return Error(sqlstate::kInvalidParameterValue, std::move(message), std::move(detail),
                 std::move(hint));
}

// `: "value"` to append to a message, or nothing for a secret: error messages reach
// logs and clients, where secrets must never appear.
std::string shown_value(const SettingSpec &spec, const std::string &text) {
    return spec.secret ? std::string() : ": " + quoted(text);
}

std::string string_of(const json_t *value) {
    return std::string(json_string_value(value), json_string_length(value));
}

// ---- URLs ----

// The URL with each placeholder replaced by a letter: what libcurl checks.
// Which host a placeholder makes is known only when a request is built.
std::string with_placeholders_filled(const RequestTemplate &url) {
    std::string filled;
    for (const RequestTemplatePart &part : url.parts)
        filled += part.kind == RequestTemplatePart::Kind::Text ? part.text : "x";
    return filled;
}

void check_url(const SettingSpec &spec, const std::string &url) {
    // Placeholders first: "{{ record_id }}" is a placeholder problem, not a space
    // to percent-encode. The same function reads the URL at send time.
    const RequestTemplate parsed = parse_base_url(spec.key, url);
    const std::string message = "invalid URL for setting " + quoted(spec.key);
    const std::string http_only = "Only http and https URLs are allowed.";
    switch (http::check_url_syntax(with_placeholders_filled(parsed))) {
    case http::UrlSyntax::Ok: return;
    case http::UrlSyntax::NotHttp:
        throw invalid(message + shown_value(spec, url), "", http_only);
    case http::UrlSyntax::Whitespace:
        throw invalid(message + shown_value(spec, url),
                      "The URL contains spaces or control characters.",
                      "Percent-encode them, for example a space as %20.");
    case http::UrlSyntax::NoHost:
        throw invalid(message + shown_value(spec, url), "The URL has no host.", http_only);
    case http::UrlSyntax::BadPort:
        throw invalid(message + shown_value(spec, url),
                      "The port must be a number from 1 to 65535.", http_only);
    case http::UrlSyntax::Credentials:
        // Not quoted: the URL holds a password.
        throw invalid(message, "The URL contains a user name or password, which would be "
                               "shown to everyone who can see the destination.",
                      "Put credentials in the destination type's secret settings.");
    case http::UrlSyntax::Malformed:
        throw invalid(message + shown_value(spec, url), "libcurl cannot parse it as a URL.");
    }
}

// ---- one setting ----

void check_string(const SettingSpec &spec, const std::string &text) {
    if (!spec.allowed_values.empty() &&
        std::find(spec.allowed_values.begin(), spec.allowed_values.end(), text) ==
            spec.allowed_values.end())
        throw invalid("invalid value for setting " + quoted(spec.key) + shown_value(spec, text), "",
                      "Allowed values are " + quoted_list(spec.allowed_values) + ".");
    // SPEC section 3: every type's base-URL setting (is_base_url_setting).
    if (is_base_url_setting(spec.key))
        check_url(spec, text);
}

std::string range_hint(const SettingSpec &spec) {
    const auto text = [](long long number) { return std::to_string(number); };
    if (spec.minimum && spec.maximum)
        return "Use an integer from " + text(*spec.minimum) + " to " + text(*spec.maximum) + ".";
    if (spec.minimum)
        return "Use an integer of at least " + text(*spec.minimum) + ".";
    return "Use an integer of at most " + text(*spec.maximum) + ".";
}

void check_integer(const SettingSpec &spec, long long number) {
    const bool too_small = spec.minimum && number < *spec.minimum;
    const bool too_large = spec.maximum && number > *spec.maximum;
    if (too_small || too_large) {
        const std::string value = spec.secret ? "value" : "value " + std::to_string(number);
        throw invalid(value + " is out of range for setting " + quoted(spec.key), "",
                      range_hint(spec));
    }
}

void check_object(const SettingSpec &spec, const json_t *object) {
    for_each_member(object, [&](const std::string &key, const json_t *value) {
        if (!json_is_string(value))
            throw invalid("value of " + quoted(key) + " in setting " + quoted(spec.key) +
                          " must be a string, not " + given_kind(value));
    });
}

void check_interval(const SettingSpec &spec, const std::string &text,
                    const IntervalReader &read_interval) {
    if (!read_interval)
        throw Error(sqlstate::kInternalError, "no interval reader given for settings");
    if (!read_interval(text))
        throw invalid("invalid value for setting " + quoted(spec.key) + shown_value(spec, text),
                      "", "Use a PostgreSQL interval such as \"30 seconds\" or \"2 minutes\".");
}

std::string null_hint(const SettingSpec &spec) {
    if (spec.required)
        return {};
    return "Leave " + quoted(spec.key) + " out to " +
           (spec.default_json ? "use its default" : "leave it unset") + ".";
}

void check_value(const SettingSpec &spec, const json_t *value,
                 const IntervalReader &read_interval) {
    if (!has_expected_kind(spec.type, value))
        throw invalid("setting " + quoted(spec.key) + " must be " + expected_kind(spec.type) +
                          ", not " + given_kind(value),
                      "", json_is_null(value) ? null_hint(spec) : std::string());
    switch (spec.type) {
    case SettingType::String: check_string(spec, string_of(value)); break;
    case SettingType::Integer: check_integer(spec, json_integer_value(value)); break;
    case SettingType::Boolean: break;
    case SettingType::Object: check_object(spec, value); break;
    case SettingType::Interval: check_interval(spec, string_of(value), read_interval); break;
    }
}

// ---- whole objects ----

std::vector<std::string> setting_keys(const DestinationType &type) {
    std::vector<std::string> keys;
    for (const SettingSpec &spec : type.settings)
        keys.push_back(spec.key);
    return keys;
}

Error unknown_setting(const DestinationType &type, const std::string &key) {
    const std::vector<std::string> keys = setting_keys(type);
    const std::optional<std::string> suggestion = closest_name(key, keys);
    std::string hint = suggestion ? "Did you mean " + quoted(*suggestion) + "?"
                                  : "Valid settings for destination type " + quoted(type.type) +
                                        " are " + quoted_list(keys) + ".";
    return invalid("unknown setting " + quoted(key) + " for destination type " + quoted(type.type),
                   "", std::move(hint));
}

std::string example_value(SettingType type) {
    switch (type) {
    case SettingType::String:
    case SettingType::Interval: return "\"...\"";
    case SettingType::Object: return "{...}";
    default: return "...";
    }
}

void check_required(const DestinationType &type, const json_t *settings) {
    for (const SettingSpec &spec : type.settings) {
        const json_t *value = json_object_getn(settings, spec.key.data(), spec.key.size());
        if (spec.required && value == nullptr)
            throw invalid("missing required setting " + quoted(spec.key) +
                              " for destination type " + quoted(type.type),
                          "", "Set it with settings => '{" + quoted(spec.key) + ": " +
                                  example_value(spec.type) + "}'.");
    }
}

// Exactly one setting of each one_of_settings group.
void check_one_of(const DestinationType &type, const json_t *settings) {
    for (const std::vector<std::string> &group : type.one_of_settings) {
        std::vector<std::string> set;
        for (const std::string &key : group)
            if (json_object_getn(settings, key.data(), key.size()) != nullptr)
                set.push_back(key);
        if (set.size() == 1)
            continue;
        std::string names;
        for (size_t i = 0; i < group.size(); ++i)
            names += (i == 0 ? "" : i + 1 == group.size() ? " or " : ", ") + quoted(group[i]);
        throw invalid(set.empty() ? "destination type " + quoted(type.type) + " needs one of the settings " + names
                                  : "settings " + quoted(set[0]) + " and " + quoted(set[1]) +
                                        " of destination type " + quoted(type.type) + " cannot both be set",
                      "", set.empty() ? "Set exactly one of them." : "Remove one of them with settings => '{" +
                                                                         quoted(set[1]) + ": null}' (alter_destination).");
    }
}

void require_object(const json_t *settings) {
    if (settings == nullptr)
        throw invalid("settings must be a JSON object, not null");
    if (!json_is_object(settings))
        throw invalid(std::string("settings must be a JSON object, not ") + given_kind(settings));
}

}  // namespace

// "an array", "a string"... as the second half of "must be X, not Y".
const char *given_kind(const json_t *value) {
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a decimal number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "an unknown JSON value";
}

const char *expected_kind(SettingType type) {
    switch (type) {
    case SettingType::String: return "a string";
    case SettingType::Integer: return "an integer";
    case SettingType::Boolean: return "a boolean";
    case SettingType::Object: return "an object";
    case SettingType::Interval: return "a string holding an interval";
    }
    return "a valid value";
}

bool has_expected_kind(SettingType type, const json_t *value) {
    switch (type) {
    case SettingType::String:
    case SettingType::Interval: return json_is_string(value);
    case SettingType::Integer: return json_is_integer(value);
    case SettingType::Boolean: return json_is_boolean(value);
    case SettingType::Object: return json_is_object(value);
    }
    return false;
}

void validate_settings(const DestinationType &type, const json_t *settings,
                       const IntervalReader &read_interval) {
    require_object(settings);
    for_each_member(settings, [&](const std::string &key, const json_t *value) {
        const SettingSpec *spec = type.find_setting(key);
        if (spec == nullptr)
            throw unknown_setting(type, key);
        check_value(*spec, value, read_interval);
    });
    check_required(type, settings);
    check_one_of(type, settings);
    check_request_settings(type, settings, read_interval);
}

JsonPtr merge_settings(const json_t *current, const json_t *patch) {
    JsonPtr merged = current ? deep_copy(current) : new_json_object();
    if (!json_is_object(merged.get()))
        throw Error(sqlstate::kInternalError, "stored settings are not a JSON object");
    if (patch == nullptr)
        return merged;
    require_object(patch);
    for_each_member(patch, [&](const std::string &key, const json_t *value) {
        if (json_is_null(value))
            json_object_deln(merged.get(), key.data(), key.size());  // absent is fine
        else
            set_member(merged.get(), key, deep_copy(value));
    });
    return merged;
}

JsonPtr mask_settings(const DestinationType &type, const json_t *settings) {
    if (settings == nullptr)
        return nullptr;
    JsonPtr masked = deep_copy(settings);
    if (!json_is_object(masked.get()))
        return masked;  // nothing to mask; validation reports such values elsewhere
    for (const SettingSpec &spec : type.settings) {
        json_t *value = json_object_getn(masked.get(), spec.key.data(), spec.key.size());
        if (!spec.secret || value == nullptr || json_is_null(value))
            continue;
        if (spec.type == SettingType::Object && json_is_object(value)) {
            // Header names are not secret and help users see what is configured.
            std::vector<std::string> keys;
            for_each_member(value,
                            [&](const std::string &key, const json_t *) { keys.push_back(key); });
            for (const std::string &key : keys)
                set_member(value, key, adopt_json(json_string(kMaskedValue)));
        } else {
            set_member(masked.get(), spec.key, adopt_json(json_string(kMaskedValue)));
        }
    }
    return masked;
}

namespace {

// SettingSpec::DefaultFrom applied to the source setting's value (nullptr when unset).
JsonPtr derived_default(const SettingSpec::DefaultFrom &from, const JsonPtr &source) {
    if (!source || !json_is_string(source.get()))
        return nullptr;
    const std::string text(json_string_value(source.get()), json_string_length(source.get()));
    const size_t at = text.rfind(from.after_last);
    if (at == std::string::npos)
        return nullptr;
    const std::string value = text.substr(at + from.after_last.size());
    const bool plain = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    });
    if (!plain)
        return nullptr;
    const std::string result = from.prefix + value + from.suffix;
    return adopt_json(json_stringn(result.data(), result.size()));
}

}  // namespace

JsonPtr effective_setting(const DestinationType &type, const json_t *settings,
                          const std::string &key) {
    const SettingSpec *spec = type.find_setting(key);
    if (spec == nullptr)
        throw Error(sqlstate::kInternalError, "destination type " + quoted(type.type) +
                                                  " has no setting " + quoted(key));
    const json_t *value =
        json_is_object(settings) ? json_object_getn(settings, key.data(), key.size()) : nullptr;
    if (value != nullptr && !json_is_null(value))
        return share_json(const_cast<json_t *>(value));  // incref only touches the refcount
    if (spec->default_json)
        return parse_json(*spec->default_json, "default of setting " + quoted(key));
    if (spec->default_from)
        return derived_default(*spec->default_from, effective_setting(type, settings, spec->default_from->setting));
    return nullptr;
}

}  // namespace reverse_etl::catalog
