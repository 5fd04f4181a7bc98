#include "catalog/field_mapping.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <set>
#include <utility>

#include "catalog/field_conversion.hpp"
#include "catalog/name_matching.hpp"
#include "common/error.hpp"
#include "common/json_text.hpp"
#include "common/text.hpp"

namespace reverse_etl::catalog {

namespace {

// ---------------------------------------------------------------------------
// Messages

constexpr const char *kSpecFormsHint =
    "Map a field to \"column\", {\"column\": \"column\"}, {\"column\": \"column\", \"path\": "
    "\"a.b\"}, {\"value\": json}, {\"template\": \"Hi {{column}}\"}, {\"object\": {...}}, "
    "{\"select_object\": \"column\"}, {\"array\": \"column\", \"items\": {...}}, "
    "{\"select_array\": \"column\"} or {\"meta\": \"record_id\"}; object forms may add "
    "\"sync_nulls\": false.";
constexpr const char *kItemFormsHint =
    "Each item maps a property name to \"name\" (short for {\"prop\": \"name\"}), {\"prop\": \"a.b\"} or "
    "{\"value\": json}, for example \"items\": {\"sku\": {\"prop\": \"id\"}}.";
constexpr const char *kPathHint =
    "A path names properties separated by dots, such as \"address.city\".";
constexpr const char *kPlaceholderHint =
    "Placeholders look like {{column}} or {{column.property}}.";
constexpr const char *kMetaHint =
    "Metadata values are \"record_id\", \"change\", \"mapping\", \"run_id\" and \"synced_at\".";

// How many names a "the columns are ..." hint lists before "and N more".
constexpr std::size_t kListedNamesLimit = 20;

[[noreturn]] void invalid(const std::string &message, const std::string &detail = {},
                          const std::string &hint = {}) {
    throw Error(sqlstate::kInvalidParameterValue, message, detail, hint);
}

// "a"; "a" and "b"; "a", "b" and "c" (`last` is "and" or "or"), cut after `limit` names.
std::string quoted_list(const std::vector<std::string> &names, const char *last,
                        std::size_t limit = kListedNamesLimit) {
    const std::size_t shown = std::min(names.size(), limit);
    std::string text;
    for (std::size_t i = 0; i < shown; ++i) {
        if (i > 0)
            text += (i + 1 == shown && shown == names.size()) ? std::string(" ") + last + " " : ", ";
        text += quoted(names[i]);
    }
    if (shown < names.size())
        text += " " + std::string(last) + " " + std::to_string(names.size() - shown) + " more";
    return text;
}

// "an object", "a string", "null": for "must be X, not Y".
std::string with_article(const json_t *value) {
    if (!value)
        return "missing";
    const std::string kind = json_kind_name(value);
    if (kind == "null")
        return kind;
    return (kind == "object" || kind == "array" ? "an " : "a ") + kind;
}

std::string did_you_mean(const std::string &name, const std::vector<std::string> &candidates,
                         const std::string &otherwise) {
    const std::optional<std::string> close = closest_name(name, candidates);
    return close ? "Did you mean " + quoted(*close) + "?" : otherwise;
}

std::string json_string(const json_t *value) {
    return std::string(json_string_value(value), json_string_length(value));
}

// jansson's iteration takes a non-const object although it does not change it;
// the cast stays here.
template <typename Visit>
void for_each_member(const json_t *object, Visit &&visit) {
    json_t *iterable = const_cast<json_t *>(object);
    const char *key = nullptr;
    json_t *value = nullptr;
    json_object_foreach(iterable, key, value) {
        visit(std::string(key), static_cast<const json_t *>(value));
    }
}

bool has_member(const json_t *object, const char *key) {
    return json_object_get(object, key) != nullptr;
}

// ---------------------------------------------------------------------------
// Shape: JSON -> ValueSpec, 22023 on anything malformed

struct KindKey {
    const char *key;
    ValueKind kind;
};
constexpr KindKey kKindKeys[] = {
    {"column", ValueKind::Column},         {"value", ValueKind::Value},
    {"template", ValueKind::Template},     {"object", ValueKind::Object},
    {"select_object", ValueKind::SelectObject}, {"array", ValueKind::Array},
    {"select_array", ValueKind::SelectArray},   {"meta", ValueKind::Meta},
};
constexpr const char *kModifierKeys[] = {"path", "items", "sync_nulls"};
constexpr const char *kItemKeys[] = {"prop", "value", "sync_nulls"};

struct MetaName {
    const char *name;
    MetaValue value;
};
constexpr MetaName kMetaNames[] = {
    {"record_id", MetaValue::RecordId}, {"change", MetaValue::Change},
    {"mapping", MetaValue::Mapping},     {"run_id", MetaValue::RunId},
    {"synced_at", MetaValue::SyncedAt},
};

const char *kind_key(ValueKind kind) {
    for (const KindKey &entry : kKindKeys)
        if (entry.kind == kind)
            return entry.key;
    return "column";
}

template <std::size_t N>
bool contains(const char *const (&keys)[N], const std::string &key) {
    return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

std::vector<std::string> spec_keys() {
    std::vector<std::string> keys;
    for (const KindKey &entry : kKindKeys)
        keys.emplace_back(entry.key);
    keys.insert(keys.end(), std::begin(kModifierKeys), std::end(kModifierKeys));
    return keys;
}

void check_name(const std::string &key, const std::string &where) {
    if (!key.empty())
        return;
    if (where.empty())
        invalid("field names must not be empty", {}, kSpecFormsHint);
    invalid("property names in the mapping of field " + quoted(where) + " must not be empty");
}

// "a.b" -> {a, b}; nullopt for "", ".a", "a..b", "a.".
std::optional<std::vector<std::string>> split_path(const std::string &text) {
    std::vector<std::string> segments;
    std::size_t begin = 0;
    while (true) {
        const std::size_t dot = text.find('.', begin);
        const std::size_t end = dot == std::string::npos ? text.size() : dot;
        if (end == begin)
            return std::nullopt;
        segments.push_back(text.substr(begin, end - begin));
        if (dot == std::string::npos)
            return segments;
        begin = dot + 1;
    }
}

std::string join_path(const std::vector<std::string> &path) {
    std::string text;
    for (const std::string &segment : path)
        text += (text.empty() ? "" : ".") + segment;
    return text;
}

std::string string_member(const json_t *spec, const char *key, const std::string &where,
                          const char *hint = kSpecFormsHint) {
    const json_t *value = json_object_get(spec, key);
    if (!json_is_string(value))
        invalid(quoted(key) + " of field " + quoted(where) + " must be a string, not " +
                    with_article(value),
                {}, hint);
    return json_string(value);
}

std::optional<bool> parse_sync_nulls(const json_t *spec, const std::string &where) {
    const json_t *value = json_object_get(spec, "sync_nulls");
    if (!value)
        return std::nullopt;
    if (!json_is_boolean(value))
        invalid("\"sync_nulls\" of field " + quoted(where) + " must be true or false, not " +
                with_article(value));
    return json_is_true(value);
}

std::string trim(const std::string &text) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    const auto first = std::find_if_not(text.begin(), text.end(), is_space);
    const auto last = std::find_if_not(text.rbegin(), text.rend(), is_space).base();
    return first < last ? std::string(first, last) : std::string();
}

// "{{ col.a.b }}" -> column "col", path {a, b}. A column whose name has a dot
// cannot be named in a template (the first dot ends the column); a column spec
// can still send it.
TemplatePart parse_placeholder(const std::string &inside, const std::string &where) {
    const std::optional<std::vector<std::string>> segments = split_path(trim(inside));
    if (!segments)
        invalid("template of field " + quoted(where) + " has an invalid placeholder \"{{" + inside +
                    "}}\"",
                {}, kPlaceholderHint);
    TemplatePart part;
    part.placeholder = true;
    part.text = segments->front();
    part.path.assign(segments->begin() + 1, segments->end());
    return part;
}

std::vector<TemplatePart> parse_template(const std::string &text, const std::string &where) {
    std::vector<TemplatePart> parts;
    const auto add_literal = [&parts](std::string literal) {
        if (!literal.empty())
            parts.push_back({false, std::move(literal), {}});
    };
    std::size_t position = 0;
    while (true) {
        const std::size_t open = text.find("{{", position);
        if (open == std::string::npos) {
            add_literal(text.substr(position));
            return parts;
        }
        add_literal(text.substr(position, open - position));
        const std::size_t close = text.find("}}", open + 2);
        if (close == std::string::npos)
            invalid("template of field " + quoted(where) + " has an unclosed \"{{\"", {},
                    kPlaceholderHint);
        parts.push_back(parse_placeholder(text.substr(open + 2, close - open - 2), where));
        position = close + 2;
    }
}

MetaValue parse_meta(const std::string &name, const std::string &where) {
    std::vector<std::string> names;
    for (const MetaName &entry : kMetaNames) {
        if (name == entry.name)
            return entry.value;
        names.emplace_back(entry.name);
    }
    invalid("field " + quoted(where) + " asks for unknown metadata " + quoted(name), {},
            did_you_mean(name, names, kMetaHint));
}

// The one kind key a spec object has; every other key must be a modifier.
ValueKind spec_kind(const json_t *spec, const std::string &where) {
    std::vector<const KindKey *> found;
    for_each_member(spec, [&](const std::string &key, const json_t *) {
        const auto kind = std::find_if(std::begin(kKindKeys), std::end(kKindKeys),
                                       [&key](const KindKey &entry) { return key == entry.key; });
        if (kind != std::end(kKindKeys))
            found.push_back(kind);
        else if (!contains(kModifierKeys, key))
            invalid("mapping of field " + quoted(where) + " has unknown key " + quoted(key), {},
                    did_you_mean(key, spec_keys(), kSpecFormsHint));
    });
    if (found.empty())
        invalid("mapping of field " + quoted(where) + " does not say which value to send", {},
                kSpecFormsHint);
    if (found.size() > 1)
        invalid("mapping of field " + quoted(where) + " combines " + quoted(found[0]->key) +
                    " and " + quoted(found[1]->key),
                "A mapping has exactly one of \"column\", \"value\", \"template\", \"object\", "
                "\"select_object\", \"array\", \"select_array\" and \"meta\".",
                kSpecFormsHint);
    return found.front()->kind;
}

// "path" and "items" belong to one kind each; a customize array needs its items.
void check_modifiers(const json_t *spec, ValueKind kind, const std::string &where) {
    if (has_member(spec, "path") && kind != ValueKind::Column)
        invalid("\"path\" of field " + quoted(where) + " only goes with \"column\"", {},
                kSpecFormsHint);
    if (has_member(spec, "items") && kind != ValueKind::Array)
        invalid("\"items\" of field " + quoted(where) + " only goes with \"array\"", {},
                kSpecFormsHint);
    if (kind == ValueKind::Array && !has_member(spec, "items"))
        invalid("\"array\" of field " + quoted(where) + " has no \"items\"", {},
                "List the properties to take from each element, such as \"items\": {\"sku\": "
                "{\"prop\": \"id\"}}, or use {\"select_array\": \"column\"} to send the whole "
                "array.");
}

ValueSpec parse_spec(const json_t *json, const std::string &where);

std::vector<NamedValueSpec> parse_entries(const json_t *object, const std::string &where) {
    if (!json_is_object(object))
        invalid("\"object\" of field " + quoted(where) + " must be an object, not " +
                    with_article(object),
                {}, kSpecFormsHint);
    if (json_object_size(object) == 0)
        invalid("\"object\" of field " + quoted(where) + " has no properties", {},
                "List the properties to build, such as {\"object\": {\"plan\": \"plan_column\"}}.");
    std::vector<NamedValueSpec> entries;
    for_each_member(object, [&](const std::string &key, const json_t *value) {
        check_name(key, where);
        entries.push_back({key, parse_spec(value, where + "." + key)});
    });
    return entries;
}

ArrayItemSpec parse_item(const std::string &key, const json_t *json, const std::string &where) {
    // "name" is short for {"prop": "name"}, as "col" is for {"column": "col"}.
    if (json_is_string(json)) {
        const std::string prop(json_string_value(json), json_string_length(json));
        std::optional<std::vector<std::string>> path = split_path(prop);
        if (!path)
            invalid("property path " + quoted(prop) + " of field " + quoted(where) + " is not valid", {},
                    kPathHint);
        ArrayItemSpec item;
        item.key = key;
        item.prop = std::move(*path);
        return item;
    }
    if (!json_is_object(json))
        invalid("mapping of field " + quoted(where) + " must be a property name or an object, not " +
                    with_article(json),
                {}, kItemFormsHint);
    for_each_member(json, [&](const std::string &member, const json_t *) {
        if (!contains(kItemKeys, member))
            invalid("mapping of field " + quoted(where) + " has unknown key " + quoted(member), {},
                    did_you_mean(member, {std::begin(kItemKeys), std::end(kItemKeys)},
                                 kItemFormsHint));
    });
    const bool has_prop = has_member(json, "prop");
    if (has_prop == has_member(json, "value"))
        invalid("mapping of field " + quoted(where) +
                    (has_prop ? " combines \"prop\" and \"value\"" : " does not say which value to send"),
                {}, kItemFormsHint);

    ArrayItemSpec item;
    item.key = key;
    item.sync_nulls = parse_sync_nulls(json, where);
    if (!has_prop) {
        item.value = share_json(json_object_get(json, "value"));
        return item;
    }
    const std::string prop = string_member(json, "prop", where, kItemFormsHint);
    std::optional<std::vector<std::string>> path = split_path(prop);
    if (!path)
        invalid("property path " + quoted(prop) + " of field " + quoted(where) + " is not valid", {},
                kPathHint);
    item.prop = std::move(*path);
    return item;
}

std::vector<ArrayItemSpec> parse_items(const json_t *items, const std::string &where) {
    if (!json_is_object(items))
        invalid("\"items\" of field " + quoted(where) + " must be an object, not " +
                    with_article(items),
                {}, kItemFormsHint);
    if (json_object_size(items) == 0)
        invalid("\"items\" of field " + quoted(where) + " has no properties", {}, kItemFormsHint);
    std::vector<ArrayItemSpec> parsed;
    for_each_member(items, [&](const std::string &key, const json_t *value) {
        check_name(key, where);
        parsed.push_back(parse_item(key, value, where + "[]." + key));
    });
    return parsed;
}

std::vector<std::string> parse_column_path(const std::string &text, const std::string &where) {
    std::optional<std::vector<std::string>> path = split_path(text);
    if (!path)
        invalid("path " + quoted(text) + " of field " + quoted(where) + " is not valid", {}, kPathHint);
    return std::move(*path);
}

ValueSpec parse_object_spec(const json_t *json, const std::string &where) {
    ValueSpec spec;
    spec.kind = spec_kind(json, where);
    check_modifiers(json, spec.kind, where);
    spec.sync_nulls = parse_sync_nulls(json, where);
    const char *key = kind_key(spec.kind);
    switch (spec.kind) {
    case ValueKind::Column:
        spec.column = string_member(json, key, where);
        if (has_member(json, "path"))
            spec.path = parse_column_path(string_member(json, "path", where), where);
        break;
    case ValueKind::Value:
        spec.value = share_json(json_object_get(json, key));
        break;
    case ValueKind::Template:
        spec.parts = parse_template(string_member(json, key, where), where);
        break;
    case ValueKind::Object:
        spec.entries = parse_entries(json_object_get(json, key), where);
        break;
    case ValueKind::Array:
        spec.column = string_member(json, key, where);
        spec.items = parse_items(json_object_get(json, "items"), where);
        break;
    case ValueKind::SelectObject:
    case ValueKind::SelectArray:
        spec.column = string_member(json, key, where);
        break;
    case ValueKind::Meta:
        spec.meta = parse_meta(string_member(json, key, where, kMetaHint), where);
        break;
    }
    return spec;
}

// `where` names the field for messages: "traits.plan" inside an object spec.
ValueSpec parse_spec(const json_t *json, const std::string &where) {
    if (json_is_string(json)) {
        ValueSpec spec;
        spec.column = json_string(json);
        return spec;
    }
    if (!json_is_object(json))
        invalid("mapping of field " + quoted(where) + " must be a column name or an object, not " +
                    with_article(json),
                {}, kSpecFormsHint);
    return parse_object_spec(json, where);
}

void check_fields_object(const json_t *fields) {
    if (!json_is_object(fields))
        invalid("\"fields\" must be a JSON object, not " + with_article(fields), {}, kSpecFormsHint);
    if (json_object_size(fields) == 0)
        invalid("\"fields\" must map at least one field", {}, kSpecFormsHint);
}

// Calls visit(key, value) for each top-level field after checking the object itself.
template <typename Visit>
void for_each_field(const json_t *fields, Visit &&visit) {
    check_fields_object(fields);
    for_each_member(fields, [&](const std::string &key, const json_t *value) {
        check_name(key, {});
        visit(key, value);
    });
}

// ---------------------------------------------------------------------------
// Meaning: a parsed spec against the action's fields and the model's columns


bool is_array_type(const std::string &type) {
    return type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0;
}

// Types whose values are text, so they may hold JSON a path can read.
bool holds_json_text(const std::string &type) {
    const std::string base = base_type(type);
    return base == "json" || base == "jsonb" || base == "text" || base == "character varying";
}

// Built-in scalars that can never hold a JSON object or array. Anything else
// (composites, domains, extension types) may, so it is left to sync time.
bool is_plain_scalar(const std::string &type) {
    static const char *const kScalars[] = {
        "smallint", "integer", "bigint", "numeric", "real", "double precision", "money",
        "boolean", "date", "time without time zone", "time with time zone",
        "timestamp without time zone", "timestamp with time zone", "interval", "uuid", "bytea",
        "inet", "cidr", "macaddr", "macaddr8", "bit", "bit varying", "oid", "\"char\""};
    return contains(kScalars, base_type(type));
}

// What a template or a metadata spec builds.
const char *scalar_phrase(const ValueSpec &spec) {
    return spec.kind == ValueKind::Meta && spec.meta == MetaValue::RunId ? "a number" : "a string";
}

bool builds_object(ValueKind kind) {
    return kind == ValueKind::Object || kind == ValueKind::SelectObject;
}
bool builds_array(ValueKind kind) {
    return kind == ValueKind::Array || kind == ValueKind::SelectArray;
}

class Validator {
  public:
    Validator(const ActionDef &action, const std::vector<Column> &columns)
        : action_(action), columns_(columns) {
        for (const Column &column : columns)
            column_names_.push_back(column.name);
        for (const FieldSpec &field : action.fields)
            field_keys_.push_back(field.key);
    }

    // The field's definition; nullptr for a key a free-field action does not declare.
    const FieldSpec *field(const std::string &key) const {
        if (const FieldSpec *spec = action_.find_field(key))
            return spec;
        if (action_.free_fields)
            return nullptr;
        const std::string listing =
            field_keys_.empty() ? "Action " + quoted(action_.key) + " has no fields."
                                : "The fields of action " + quoted(action_.key) + " are " +
                                      quoted_list(field_keys_, "and", field_keys_.size()) + ".";
        invalid("action " + quoted(action_.key) + " has no field " + quoted(key), {},
                did_you_mean(key, field_keys_, listing));
    }

    // `field` is the definition the spec fills, or nullptr inside objects and for free fields.
    void check(const ValueSpec &spec, const std::string &where, const FieldSpec *field) const {
        check_sync_nulls(spec.sync_nulls, where);
        if (field)
            check_builds(*field, spec, where);
        switch (spec.kind) {
        case ValueKind::Column: check_column(spec, where, field); break;
        case ValueKind::Template: check_template(spec, where); break;
        case ValueKind::Object: check_object(spec, where, field); break;
        case ValueKind::SelectObject: check_holds_object(column(spec.column, where), where); break;
        case ValueKind::Array: check_array(spec, where, field); break;
        case ValueKind::SelectArray: check_holds_array(column(spec.column, where), where); break;
        case ValueKind::Value:
        case ValueKind::Meta: break;
        }
    }

    // A static value must be one its field's type takes: this is the conversion
    // every record would fail at sync time. `written` is the spec as the fields
    // text writes it, whose numbers keep their digits (nullptr: not known).
    void check_static(const ValueSpec &spec, const std::string &key, const FieldSpec *field,
                      const JsonValue *written) const {
        if (!field || spec.kind != ValueKind::Value || !written)
            return;
        const JsonValue *value = written->member("value");
        if (!value)
            return;
        std::string text = to_json_text(*value);
        if (const std::optional<std::string> reason = convert_to_field_type(field->type, text))
            throw Error(sqlstate::kDatatypeMismatch, "field " + quoted(key) + ": " + *reason, {},
                        "Field " + quoted(key) + " of action " + quoted(action_.key) + " takes " +
                            field_type_phrase(field->type) + ".");
    }

    void check_required(const std::set<std::string> &mapped) const {
        for (const FieldSpec &field : action_.fields)
            if (field.required && mapped.count(field.key) == 0)
                invalid("required field " + quoted(field.key) + " of action " + quoted(action_.key) +
                        " is not mapped");
        for (const std::vector<std::string> &group : action_.required_one_of) {
            const bool any = std::any_of(group.begin(), group.end(), [&mapped](const std::string &key) {
                return mapped.count(key) > 0;
            });
            if (!any && !group.empty())
                invalid("action " + quoted(action_.key) + " requires field " +
                        quoted_list(group, "or", group.size()) + " to be mapped");
        }
    }

  private:
    const Column &column(const std::string &name, const std::string &where,
                              const std::string &detail = {}) const {
        for (const Column &column : columns_)
            if (column.name == name)
                return column;
        const std::string listing = column_names_.empty()
                                        ? "The model has no columns."
                                        : "The model's columns are " + quoted_list(column_names_, "and") + ".";
        throw Error(sqlstate::kUndefinedColumn,
                    "field " + quoted(where) + " refers to column " + quoted(name) +
                        ", which the model does not have",
                    detail, did_you_mean(name, column_names_, listing));
    }

    void check_sync_nulls(const std::optional<bool> &sync_nulls, const std::string &where) const {
        if (sync_nulls.value_or(false) && !action_.nulls_allowed)
            invalid("\"sync_nulls\" cannot be true for field " + quoted(where),
                    "Action " + quoted(action_.key) +
                        " never sends null values to its destination: they are always left out.",
                    "Remove \"sync_nulls\" or set it to false.");
    }

    // Object and array specs only fit fields of that type (or of any type), and
    // a template or metadata, which build strings and numbers, never fits those.
    void check_builds(const FieldSpec &field, const ValueSpec &spec, const std::string &where) const {
        const ValueKind kind = spec.kind;
        const bool object_ok = field.type == FieldType::Object || field.type == FieldType::Any;
        const bool array_ok = field.type == FieldType::Array || field.type == FieldType::Any;
        if ((kind == ValueKind::Template || kind == ValueKind::Meta) &&
            (field.type == FieldType::Object || field.type == FieldType::Array))
            throw Error(sqlstate::kDatatypeMismatch,
                        "field " + quoted(where) + " takes " + field_type_phrase(field.type) + ", but " +
                            quoted(kind_key(kind)) + " builds " + scalar_phrase(spec),
                        {},
                        field.type == FieldType::Object
                            ? "Use {\"object\": {...}}, {\"select_object\": \"column\"} or a column holding JSON objects."
                            : "Use {\"array\": \"column\", \"items\": {...}}, {\"select_array\": \"column\"} or a "
                              "column holding JSON arrays.");
        if ((builds_object(kind) && object_ok) || (builds_array(kind) && array_ok) ||
            (!builds_object(kind) && !builds_array(kind)))
            return;
        std::string hint = "Map this field to a column, a value, a template or metadata.";
        if (field.type == FieldType::Object)
            hint = "Use {\"object\": {...}} or {\"select_object\": \"column\"} for an object field.";
        else if (field.type == FieldType::Array)
            hint = "Use {\"array\": \"column\", \"items\": {...}} or {\"select_array\": \"column\"} "
                   "for an array field.";
        throw Error(sqlstate::kDatatypeMismatch,
                    "field " + quoted(where) + " takes " + field_type_phrase(field.type) + ", but " +
                        quoted(kind_key(kind)) + " builds " +
                        (builds_object(kind) ? "an object" : "an array"),
                    {}, hint);
    }

    // A whole column sent to an object or array field must be able to hold one;
    // with a path, what the path finds is only known at sync time.
    void check_column(const ValueSpec &spec, const std::string &where, const FieldSpec *field) const {
        const Column &source = column(spec.column, where);
        check_path(source, spec.path, where);
        if (!field || !spec.path.empty())
            return;
        if (field->type == FieldType::Object)
            check_holds_object(source, where);
        else if (field->type == FieldType::Array)
            check_holds_array(source, where);
    }

    void check_path(const Column &column, const std::vector<std::string> &path,
                    const std::string &where) const {
        if (path.empty() || holds_json_text(column.type))
            return;
        throw Error(sqlstate::kDatatypeMismatch,
                    "field " + quoted(where) + " reads path " + quoted(join_path(path)) +
                        " from column " + quoted(column.name) + ", whose type is " + column.type,
                    {}, "A path reads a property of a json, jsonb, text or character varying column.");
    }

    void check_template(const ValueSpec &spec, const std::string &where) const {
        for (const TemplatePart &part : spec.parts) {
            if (!part.placeholder)
                continue;
            const std::string detail = "The template uses it in the placeholder \"{{" + part.text +
                                       (part.path.empty() ? "" : "." + join_path(part.path)) + "}}\".";
            check_path(column(part.text, where, detail), part.path, where);
        }
    }

    void check_object(const ValueSpec &spec, const std::string &where, const FieldSpec *field) const {
        for (const NamedValueSpec &entry : spec.entries) {
            if (field)
                check_property(*field, entry.key, where);
            check(entry.spec, where + "." + entry.key, nullptr);
        }
    }

    void check_array(const ValueSpec &spec, const std::string &where, const FieldSpec *field) const {
        check_holds_array(column(spec.column, where), where);
        for (const ArrayItemSpec &item : spec.items) {
            if (field)
                check_property(*field, item.key, where);
            check_sync_nulls(item.sync_nulls, where + "[]." + item.key);
        }
    }

    // Fixed objects (and arrays of them) accept only the properties they declare.
    void check_property(const FieldSpec &field, const std::string &key, const std::string &where) const {
        const auto &allowed = field.properties;
        if (allowed.empty() || std::find(allowed.begin(), allowed.end(), key) != allowed.end())
            return;
        invalid("field " + quoted(where) + " does not accept property " + quoted(key), {},
                did_you_mean(key, allowed,
                             "Its properties are " + quoted_list(allowed, "and", allowed.size()) + "."));
    }

    void check_holds_object(const Column &column, const std::string &where) const {
        if (!is_plain_scalar(column.type) && !is_array_type(column.type))
            return;
        throw Error(sqlstate::kDatatypeMismatch,
                    "field " + quoted(where) + " expects a JSON object in column " +
                        quoted(column.name) + ", whose type is " + column.type,
                    {}, "Select a json, jsonb or text column holding JSON objects, or a composite column.");
    }

    void check_holds_array(const Column &column, const std::string &where) const {
        if (!is_plain_scalar(column.type))
            return;
        throw Error(sqlstate::kDatatypeMismatch,
                    "field " + quoted(where) + " expects a JSON array in column " +
                        quoted(column.name) + ", whose type is " + column.type,
                    {}, "Select an array column, or a json, jsonb or text column holding JSON arrays.");
    }

    const ActionDef &action_;
    const std::vector<Column> &columns_;
    std::vector<std::string> column_names_;
    std::vector<std::string> field_keys_;
};

void collect_columns(const ValueSpec &spec, std::set<std::string> &columns) {
    switch (spec.kind) {
    case ValueKind::Column:
    case ValueKind::SelectObject:
    case ValueKind::Array:
    case ValueKind::SelectArray:
        columns.insert(spec.column);
        break;
    case ValueKind::Template:
        for (const TemplatePart &part : spec.parts)
            if (part.placeholder)
                columns.insert(part.text);
        break;
    case ValueKind::Object:
        for (const NamedValueSpec &entry : spec.entries)
            collect_columns(entry.spec, columns);
        break;
    case ValueKind::Value:
    case ValueKind::Meta:
        break;
    }
}

std::vector<std::string> collect_columns(const std::vector<NamedValueSpec> &mapping) {
    std::set<std::string> columns;
    for (const NamedValueSpec &field : mapping)
        collect_columns(field.spec, columns);
    return {columns.begin(), columns.end()};
}

}  // namespace

// format_type spelling without type modifiers: "numeric(10,2)" -> "numeric",
// "timestamp(3) with time zone" -> "timestamp with time zone".
std::string base_type(const std::string &type) {
    std::string base;
    int depth = 0;
    for (const char c : type) {
        if (c == '(')
            ++depth;
        else if (c == ')')
            --depth;
        else if (depth == 0)
            base += c;
    }
    return base;
}

std::vector<NamedValueSpec> parse_field_mapping(const json_t *fields) {
    std::vector<NamedValueSpec> mapping;
    for_each_field(fields, [&](const std::string &key, const json_t *value) {
        mapping.push_back({key, parse_spec(value, key)});
    });
    return mapping;
}

std::vector<std::string> validate_field_mapping(const json_t *fields, const ActionDef &action,
                                                const std::vector<Column> &columns,
                                                const JsonValue *written) {
    const Validator validator(action, columns);
    std::vector<NamedValueSpec> mapping;
    std::set<std::string> mapped;
    // Field by field, so the first problem reported is the first in the object.
    for_each_field(fields, [&](const std::string &key, const json_t *value) {
        const FieldSpec *field = validator.field(key);
        ValueSpec spec = parse_spec(value, key);
        validator.check(spec, key, field);
        validator.check_static(spec, key, field, written ? written->member(key) : nullptr);
        mapping.push_back({key, std::move(spec)});
        mapped.insert(key);
    });
    validator.check_required(mapped);
    return collect_columns(mapping);
}

std::vector<std::string> referenced_columns(const json_t *fields) {
    return collect_columns(parse_field_mapping(fields));
}

const char *meta_value_name(MetaValue meta) {
    for (const MetaName &entry : kMetaNames)
        if (entry.value == meta)
            return entry.name;
    return "record_id";
}

std::optional<std::string> destination_key_column(const ActionDef &action, const json_t *fields) {
    if (action.operations.count("delete") == 0 || action.key_field.empty())
        return std::nullopt;
    for (const NamedValueSpec &field : parse_field_mapping(fields))
        if (field.key == action.key_field)
            return field.spec.kind == ValueKind::Column && field.spec.path.empty()
                       ? std::optional<std::string>(field.spec.column)
                       : std::nullopt;
    return std::nullopt;
}

void check_delete_key(const ActionDef &action, const std::string &sync_mode, const json_t *fields) {
    // A row_index action deletes by the record's row, found by its id.
    if (action.operations.count("delete") == 0 || action.row_index || (sync_mode != "delete" && sync_mode != "mirror"))
        return;
    if (destination_key_column(action, fields))
        return;
    const std::string &key = action.key_field;
    throw Error(sqlstate::kInvalidParameterValue,
                "sync mode " + quoted(sync_mode) + " deletes records by field " + quoted(key) +
                    ", which must be mapped to a column of the model",
                "A deletion finds the record at the destination by the value the field was last sent with, which "
                "the checkpoint keeps; a template, a static value or a path inside a column has no such value.",
                "Map " + quoted(key) + " to a whole column (add one to the model's query if needed), or choose a "
                "sync mode without deletes.");
}

}  // namespace reverse_etl::catalog
