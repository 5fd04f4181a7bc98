// A destination type as declared by its definition file
// (src/destinations/<type>.json). Parsed once per backend; pure C++.
#pragma once

#include <map>
#include <optional>
#include <string>
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

    const FieldSpec *find_field(const std::string &field_key) const;
};

struct DestinationType {
    std::string type;                // e.g. "segment"
    std::string name;                // display name
    std::string description;
    std::vector<SettingSpec> settings;   // in definition order
    std::vector<ActionDef> actions;      // in definition order

    const SettingSpec *find_setting(const std::string &setting_key) const;
    const ActionDef *find_action(const std::string &action_key) const;
};

// Parses a definition file's JSON text. Throws reverse_etl::Error (XX000) naming the
// file's problem: definitions ship with the extension, so a bad one is a bug.
DestinationType parse_destination_type(const std::string &definition_json);

const char *field_type_name(FieldType type);
const char *setting_type_name(SettingType type);

}  // namespace reverse_etl::catalog
