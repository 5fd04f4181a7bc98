// A mapping's `fields`: which value each destination field gets (SPEC section 4,
// "Field mapping"). Parsing checks the shape of the JSON; validation checks it
// against the action's fields and the model's columns at create/alter time.
// Pure C++ over jansson; errors are reverse_etl::Error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <jansson.h>

#include "catalog/destination_type.hpp"
#include "common/column.hpp"
#include "common/json.hpp"

namespace reverse_etl::catalog {

// The kinds of value spec, one per row of the SPEC's table.
enum class ValueKind { Column, Value, Template, Object, SelectObject, Array, SelectArray, Meta };

// {"meta": ...}: sync metadata.
enum class MetaValue { RecordId, Change, Mapping, RunId, SyncedAt };

// One piece of a template: literal text, or a {{column}} / {{column.a.b}} placeholder.
struct TemplatePart {
    bool placeholder = false;
    std::string text;                 // the literal text, or the placeholder's column
    std::vector<std::string> path;    // placeholder only: properties inside the column's JSON
};

// One property of each element a customize-array spec builds.
struct ArrayItemSpec {
    std::string key;
    std::vector<std::string> prop;    // {"prop": "a.b"}: path in the element; empty for {"value": ...}
    JsonPtr value;                    // {"value": ...}
    std::optional<bool> sync_nulls;
};

struct NamedValueSpec;

// One value spec, parsed. Only the members of its kind are set.
struct ValueSpec {
    ValueKind kind = ValueKind::Column;
    std::string column;               // Column, SelectObject, Array, SelectArray
    std::vector<std::string> path;    // Column: properties inside a JSON column; empty = the whole value
    JsonPtr value;                    // Value (JSON null is a value, never a missing one)
    std::vector<TemplatePart> parts;  // Template
    // Object and Array: in the order of the keys in the fields text, which the
    // payload keeps. That is jsonb's order (shorter keys first, equal lengths
    // bytewise), not the order written: fields arrives as a jsonb argument.
    std::vector<NamedValueSpec> entries;   // Object
    std::vector<ArrayItemSpec> items;      // Array
    MetaValue meta = MetaValue::RecordId;  // Meta
    std::optional<bool> sync_nulls;   // as written; nullopt = the action's default
};

struct NamedValueSpec {
    std::string key;
    ValueSpec spec;
};

// Parses the shape of a fields object, without looking at an action or a model;
// the fields in the order of its keys (see ValueSpec::entries). Throws Error
// 22023 on the first malformed spec.
std::vector<NamedValueSpec> parse_field_mapping(const json_t *fields);

// The model column an action's key field (Braze external_id) is mapped to,
// when the action deletes records by that key and the field is mapped to a
// whole column (no path): the checkpoint keeps that column's value as sent,
// so that a deleted record's deletion finds it at the destination.
std::optional<std::string> destination_key_column(const ActionDef &action, const json_t *fields);

// Under a sync mode that deletes, the key field must be mapped to a whole
// column (destination_key_column): a template, a static value or a path has
// no single value the checkpoint could keep, and a deletion would reach the
// wrong record, or none. Throws Error 22023 naming the field.
void check_delete_key(const ActionDef &action, const std::string &sync_mode, const json_t *fields);

// Validates a mapping's fields for `action` over a model with `columns`. Throws
// reverse_etl::Error on the first problem (22023 malformed or not fitting the action,
// 42703 unknown column, 42804 a spec that cannot build the field's type, a static
// value the field's type cannot take, or a path into a column that cannot hold
// JSON). `written` is the same fields as parsed by common/json_text, whose numbers
// keep their digits, for checking static values (nullptr: they are not checked).
// Returns the model columns the mapping references, deduplicated and sorted.
std::vector<std::string> validate_field_mapping(const json_t *fields, const ActionDef &action,
                                                const std::vector<Column> &columns,
                                                const JsonValue *written = nullptr);

// The columns a (previously validated) fields object references, deduplicated and
// sorted: for checking that a model's new query still has them. Throws 22023 if
// the object is malformed after all.
std::vector<std::string> referenced_columns(const json_t *fields);

// format_type spelling without type modifiers: "numeric(10,2)" -> "numeric",
// "timestamp(3) with time zone" -> "timestamp with time zone".
std::string base_type(const std::string &type);

// "record_id", "change", "mapping", "run_id" or "synced_at".
const char *meta_value_name(MetaValue meta);

}  // namespace reverse_etl::catalog
