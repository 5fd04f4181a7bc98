// A destination type as declared by its definition file
// (src/destinations/<type>.json). Pure C++; catalog_store.hpp keeps each
// backend's parsed types (cached_destination_type).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace reverse_etl::catalog {

// Types a setting may have. "interval" settings are strings PostgreSQL's
// interval input accepts; "object" settings map names to strings (headers).
enum class SettingType { String, Integer, Boolean, Object, Interval };

struct SettingSpec {
    std::string key;
    SettingType type = SettingType::String;
    bool required = false;
    bool secret = false;             // write-only: shown as "********" everywhere
    std::string description;
    std::optional<std::string> default_json;     // JSON text of the default, if any
    std::vector<std::string> allowed_values;     // for strings: the only values accepted
    std::optional<long long> minimum, maximum;   // for integers
};

// Field types as the SPEC names them.
enum class FieldType { String, Number, Integer, Boolean, Datetime, Object, Array, Any };

struct FieldSpec {
    std::string key;
    FieldType type = FieldType::String;
    bool required = false;
    std::string description;
    // Fixed objects: the only properties the object may carry. Empty = free object.
    std::vector<std::string> properties;
};

// ---- how requests are built: the definition's "request" block ----
// Parsed and checked once with the definition, so a type that fits these shapes
// needs no C++ (SPEC section 3). src/destinations/request_builder.cpp renders them.

// One piece of a text with {{...}} placeholders.
struct RequestTemplatePart {
    enum class Kind {
        Text,       // literal text
        Setting,    // {{settings.KEY}}: `text` is the setting key
        RecordId,   // {{record_id}}
        Field,      // {{fields.NAME}}: `text` is the field name (a key of the payload)
        MessageId,  // {{message_id}}: the record's deterministic dedup id
    };
    Kind kind = Kind::Text;
    std::string text;
};

struct RequestTemplate {
    std::string source;                // as written, for messages
    std::vector<RequestTemplatePart> parts;   // in order; adjacent Text parts never occur

    bool uses(RequestTemplatePart::Kind kind) const;
    std::vector<std::string> setting_keys() const;   // in order of appearance, repeats kept
};

// Splits `text` at its placeholders ({{record_id}}, {{message_id}}, {{settings.KEY}},
// {{fields.NAME}}; spaces inside the braces are ignored). Which kinds are allowed,
// and whether a setting exists, is the caller's business. nullopt with `problem`
// set when the braces do not close or a placeholder is not one of those four.
std::optional<RequestTemplate> parse_request_template(const std::string &text, std::string &problem);

// A request property that is either fixed by the definition or read from a setting.
template <typename T>
struct Configurable {
    std::string setting;        // empty: the value is `fallback`
    std::optional<T> fallback;  // used when the setting is unset and has no default
};

enum class BodyShape {
    RecordOrArray,   // one record per request: the object; else a JSON array
    Array,           // always a JSON array
    Record,          // always one record's object (one record per request)
    Wrapped,         // {"<wrap_key>": [records]}
};

enum class AuthKind { Bearer, Basic, Header };

struct AuthSpec {
    AuthKind kind = AuthKind::Bearer;
    std::string header;        // the header it sets: "Authorization" for bearer and basic
    RequestTemplate value;        // bearer: the token; basic: the user name; header: its value
    RequestTemplate password;     // basic only
};

// HMAC-SHA256 of the exact body bytes, lower-case hex (the only algorithm so far).
struct SigningSpec {
    RequestTemplate secret;
    std::string header;        // e.g. "X-Signature"
    std::string prefix;        // e.g. "sha256="
};

struct RequestSpec {
    Configurable<std::string> method;        // POST, PUT, PATCH or DELETE
    RequestTemplate url;                        // starts with the url or endpoint setting
    Configurable<int> batch_size;            // neither set: the action's max_batch_records
    BodyShape body = BodyShape::RecordOrArray;
    std::string wrap_key;                    // BodyShape::Wrapped only
    std::vector<std::pair<std::string, RequestTemplate>> headers;   // in definition order
    std::string headers_setting;             // an object setting of extra user headers
    std::vector<AuthSpec> auth;              // alternatives: the first whose settings are set
    std::optional<SigningSpec> signing;
    Configurable<std::string> timeout;       // interval text; unset: the GUC applies
};

// A property the definition adds to every record element (Segment's "type" and
// "messageId"). Strings are templates; any other JSON value is sent as written.
struct RecordExtra {
    std::string key;
    std::optional<RequestTemplate> text;   // set for string values
    std::string json;                   // compact JSON text for other values
};

struct ActionDef {
    std::string key;                 // e.g. "identify"
    std::string name;                // display name, e.g. "Identify User": the mapping's default name
    std::string description;
    std::vector<std::string> sync_modes;
    std::string default_sync_mode;
    bool free_fields = false;        // any key is a field (webhook "send")
    std::vector<FieldSpec> fields;   // in definition order
    // Each inner list: at least one of these fields must be mapped (and non-null at sync time).
    std::vector<std::vector<std::string>> required_one_of;
    int max_batch_records = 1;
    int max_batch_bytes = 0;         // 0: no byte limit (the file omits max_batch_bytes)
    int max_record_bytes = 0;        // 0: no per-record limit beyond max_batch_bytes
    bool nulls_allowed = true;
    std::vector<RecordExtra> record_extras;   // the action's "record" block, in order

    const FieldSpec *find_field(const std::string &field_key) const;
};

struct DestinationType {
    std::string type;                // e.g. "segment"
    std::string name;                // display name
    std::string description;
    std::vector<SettingSpec> settings;   // in definition order
    std::vector<ActionDef> actions;      // in definition order
    RequestSpec request;                 // how every action's requests are built

    const SettingSpec *find_setting(const std::string &setting_key) const;
    const ActionDef *find_action(const std::string &action_key) const;
};

// Parses a definition file's JSON text. Throws reverse_etl::Error (XX000) naming the
// file's problem: definitions ship with the extension, so a bad one is a bug.
DestinationType parse_destination_type(const std::string &definition_json);

const char *field_type_name(FieldType type);
const char *setting_type_name(SettingType type);

}  // namespace reverse_etl::catalog
