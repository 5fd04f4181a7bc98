#include "engine/payload_builder.hpp"

#include <algorithm>
#include <cstring>
#include <cstddef>
#include <exception>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catalog/field_conversion.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/json_text.hpp"
#include "common/text.hpp"

namespace reverse_etl::engine {

using catalog::ActionDef;
using catalog::ArrayItemSpec;
using catalog::FieldSpec;
using catalog::FieldType;
using catalog::MetaValue;
using catalog::NamedValueSpec;
using catalog::TemplatePart;
using catalog::ValueKind;
using catalog::ValueSpec;

// ---------------------------------------------------------------------------
// The compiled mapping: column indexes resolved, keys and literals pre-escaped,
// static values pre-serialized, null handling decided per member.

namespace detail {

// How a model column's to_json text is handled.
struct ColumnInfo {
    std::string name;
    // numeric, real, double precision: to_json renders NaN and Infinity as strings.
    bool floating = false;
    // json, jsonb: a JSON string in them is a string; in any other column (text)
    // a spec that looks inside reads the string's content as JSON.
    bool json = false;
    // Types whose to_json text may carry whitespace (json, jsonb, composites and
    // arrays holding them, unknown types): compacted as they are copied.
    bool compact = false;
};

// One piece of a template: literal text (already JSON-escaped) or a placeholder.
struct TemplatePiece {
    std::string escaped;               // literal only
    int column = -1;                   // placeholder only; -1 for a literal
    std::vector<std::string> path;
};

// One property of each element of a customize array.
struct ItemNode {
    std::string key_json;              // "\"key\":"
    std::vector<std::string> prop;     // empty: a static value
    std::string static_json;
    bool static_null = false;
    bool omit_null = false;
};

struct Member;

struct Node {
    ValueKind kind = ValueKind::Column;
    int column = -1;
    std::vector<std::string> path;     // Column
    std::string static_json;           // Value
    bool static_null = false;
    std::vector<TemplatePiece> pieces; // Template
    std::vector<Member> members;       // Object
    std::vector<ItemNode> items;       // Array
    MetaValue meta = MetaValue::RecordId;
};

struct Member {
    std::string key;
    std::string key_json;              // "\"key\":", escaped once here rather than per record
    bool omit_null = false;            // sync_nulls false, or an action that takes no nulls
    Node node;
    // Top-level fields of a declared type: what each written value is converted to
    // (catalog/field_conversion). Static values are converted once, when compiled.
    std::optional<FieldType> convert_to;
    // An object or array field mapped to a whole column that is not json/jsonb:
    // the column's text is read as JSON, as select_object and select_array do.
    int text_json_column = -1;
    // A static value the field's type cannot take: every record is invalid, and why.
    std::string static_invalid;
};

// A required_one_of group: the indexes of its mapped fields and the message
// when all of them are null.
struct OneOfGroup {
    std::vector<std::size_t> fields;
    std::string reason;
};

struct CompiledMapping {
    std::vector<ColumnInfo> columns;
    std::vector<Member> fields;
    std::vector<int> referenced_columns;          // for sizing the output buffer
    std::size_t fixed_bytes = 0;                  // keys and literals, ditto
    // Required fields: the field's index in `fields`, nullopt when not mapped.
    std::vector<std::pair<std::string, std::optional<std::size_t>>> required;
    std::vector<OneOfGroup> one_of;
    std::size_t max_record_bytes = 0;             // 0: no limit
};

}  // namespace detail

namespace {

using detail::ColumnInfo;
using detail::CompiledMapping;
using detail::ItemNode;
using detail::Member;
using detail::Node;
using detail::OneOfGroup;
using detail::TemplatePiece;

// ---------------------------------------------------------------------------
// Column types


bool one_of(const std::string &value, std::initializer_list<const char *> candidates) {
    return std::any_of(candidates.begin(), candidates.end(),
                       [&value](const char *candidate) { return value == candidate; });
}

// Built-in types whose to_json text is one token without whitespace around or
// inside it (strings may contain spaces, which are part of the token).
bool renders_compact(const std::string &base) {
    return one_of(base, {"smallint", "integer", "bigint", "numeric", "real", "double precision",
                         "boolean", "text", "character varying", "character", "\"char\"", "name",
                         "date", "time without time zone", "time with time zone",
                         "timestamp without time zone", "timestamp with time zone", "interval",
                         "uuid", "bytea", "money", "inet", "cidr", "macaddr", "macaddr8", "bit",
                         "bit varying", "oid", "xml", "citext"});
}

ColumnInfo column_info(const Column &column) {
    const std::string base = catalog::base_type(column.type);
    ColumnInfo info;
    info.name = column.name;
    info.floating = one_of(base, {"numeric", "real", "double precision"});
    info.json = one_of(base, {"json", "jsonb"});
    info.compact = !renders_compact(base);
    return info;
}

// ---------------------------------------------------------------------------
// Compiling the spec tree

std::string key_json(const std::string &key) {
    std::string text;
    append_json_string(text, key);
    text += ':';
    return text;
}

class Compiler {
  public:
    Compiler(CompiledMapping &plan, const ActionDef &action) : plan_(plan), action_(action) {}

    // `written`: the spec as the fields text writes it, where static values are
    // read (nullptr when absent). `inherited`: the sync_nulls of the enclosing
    // object spec (true at the top).
    Member member(const std::string &key, const ValueSpec &spec, const JsonValue *written,
                  const std::string &where, bool inherited) {
        const bool sync_nulls = spec.sync_nulls.value_or(inherited);
        Member compiled;
        compiled.key = key;
        compiled.key_json = key_json(key);
        compiled.omit_null = omits_null(sync_nulls);
        compiled.node = node(spec, written, where, sync_nulls);
        plan_.fixed_bytes += compiled.key_json.size() + 1;
        return compiled;
    }

  private:
    bool omits_null(bool sync_nulls) const { return !action_.nulls_allowed || !sync_nulls; }

    Node node(const ValueSpec &spec, const JsonValue *written, const std::string &where,
              bool sync_nulls) {
        Node compiled;
        compiled.kind = spec.kind;
        compiled.meta = spec.meta;
        compiled.path = spec.path;
        switch (spec.kind) {
        case ValueKind::Column:
        case ValueKind::SelectObject:
        case ValueKind::SelectArray: compiled.column = column(spec.column, where); break;
        case ValueKind::Value:
            set_static(member_of(written, "value"), where, compiled.static_json,
                       compiled.static_null);
            break;
        case ValueKind::Template: compiled.pieces = pieces(spec.parts, where); break;
        case ValueKind::Object: {
            const JsonValue *entries = member_of(written, "object");
            for (const NamedValueSpec &entry : spec.entries)
                compiled.members.push_back(member(entry.key, entry.spec,
                                                  member_of(entries, entry.key),
                                                  where + "." + entry.key, sync_nulls));
            break;
        }
        case ValueKind::Array: {
            compiled.column = column(spec.column, where);
            const JsonValue *items = member_of(written, "items");
            for (const ArrayItemSpec &item : spec.items)
                compiled.items.push_back(this->item(item, member_of(items, item.key),
                                                    where + "[]." + item.key, sync_nulls));
            break;
        }
        case ValueKind::Meta: break;
        }
        return compiled;
    }

    ItemNode item(const ArrayItemSpec &spec, const JsonValue *written, const std::string &where,
                  bool inherited) {
        ItemNode compiled;
        compiled.key_json = key_json(spec.key);
        compiled.prop = spec.prop;
        compiled.omit_null = omits_null(spec.sync_nulls.value_or(inherited));
        if (spec.prop.empty())
            set_static(member_of(written, "value"), where, compiled.static_json,
                       compiled.static_null);
        return compiled;
    }

    // The member `key` of a written object; nullptr when `object` is absent or has none.
    static const JsonValue *member_of(const JsonValue *object, std::string_view key) {
        return object ? object->member(key) : nullptr;
    }

    // From the text's DOM, not the spec's jansson value, which has lost digits.
    void set_static(const JsonValue *value, const std::string &where, std::string &json,
                    bool &is_null) {
        if (!value)
            throw Error(sqlstate::kInternalError,
                        "the fields text has no static value for field " + quoted(where));
        json = to_json_text(*value);
        is_null = value->is_null();
        plan_.fixed_bytes += json.size();
    }

    std::vector<TemplatePiece> pieces(const std::vector<TemplatePart> &parts,
                                      const std::string &where) {
        std::vector<TemplatePiece> compiled;
        for (const TemplatePart &part : parts) {
            TemplatePiece piece;
            if (part.placeholder) {
                piece.column = column(part.text, where);
                piece.path = part.path;
            } else {
                append_json_escaped(piece.escaped, part.text);
                plan_.fixed_bytes += piece.escaped.size();
            }
            compiled.push_back(std::move(piece));
        }
        return compiled;
    }

    int column(const std::string &name, const std::string &where) {
        const auto &columns = plan_.columns;
        const auto found = std::find_if(columns.begin(), columns.end(),
                                        [&name](const ColumnInfo &info) { return info.name == name; });
        if (found == columns.end())
            throw Error(sqlstate::kUndefinedColumn,
                        "field " + quoted(where) + " refers to column " + quoted(name) +
                            ", which the model does not have");
        const int index = static_cast<int>(found - columns.begin());
        if (std::find(plan_.referenced_columns.begin(), plan_.referenced_columns.end(), index) ==
            plan_.referenced_columns.end())
            plan_.referenced_columns.push_back(index);
        return index;
    }

    CompiledMapping &plan_;
    const ActionDef &action_;
};

std::optional<std::size_t> field_index(const CompiledMapping &plan, const std::string &key) {
    for (std::size_t i = 0; i < plan.fields.size(); ++i)
        if (plan.fields[i].key == key)
            return i;
    return std::nullopt;
}

// Required fields and required_one_of groups, resolved to field indexes.
void compile_requirements(CompiledMapping &plan, const ActionDef &action) {
    for (const FieldSpec &field : action.fields)
        if (field.required)
            plan.required.emplace_back(field.key, field_index(plan, field.key));
    for (const std::vector<std::string> &group : action.required_one_of) {
        if (group.empty())
            continue;
        OneOfGroup compiled;
        std::string names;
        for (const std::string &key : group) {
            names += (names.empty() ? "" : ", ") + quoted(key);
            if (const std::optional<std::size_t> index = field_index(plan, key))
                compiled.fields.push_back(*index);
        }
        compiled.reason = "one of " + names + " is required but all are null";
        plan.one_of.push_back(std::move(compiled));
    }
}

std::string field_reason(const std::string &key, const std::string &reason) {
    return "field " + quoted(key) + ": " + reason;
}

// How a declared field's values become its type. Object and array specs build
// their kind (create_mapping checked that they fit the field), so only scalar
// specs convert; a static value is converted here, once.
void compile_conversion(Member &member, const FieldSpec &field, const CompiledMapping &plan) {
    if (field.type == FieldType::Any)
        return;
    Node &node = member.node;
    switch (node.kind) {
    case ValueKind::Object:
    case ValueKind::SelectObject:
    case ValueKind::Array:
    case ValueKind::SelectArray: return;
    case ValueKind::Value:
        if (std::optional<std::string> reason = catalog::convert_to_field_type(field.type, node.static_json))
            member.static_invalid = field_reason(member.key, *reason);
        return;
    case ValueKind::Column:
        if ((field.type == FieldType::Object || field.type == FieldType::Array) && node.path.empty() &&
            !plan.columns[node.column].json)
            member.text_json_column = node.column;
        break;
    case ValueKind::Template:
    case ValueKind::Meta: break;
    }
    member.convert_to = field.type;
}

// The fields text is parsed once, into a DOM that keeps numbers as written: static
// values come from it, and field_mapping's spec tree from its jansson copy.
CompiledMapping compile(const std::string &fields_text, const ActionDef &action,
                        const std::vector<Column> &columns) {
    const JsonValue written = parse_json_text(fields_text);
    const JsonPtr fields = jansson_shape_of(written);
    CompiledMapping plan;
    for (const Column &column : columns)
        plan.columns.push_back(column_info(column));
    Compiler compiler(plan, action);
    for (const NamedValueSpec &field : catalog::parse_field_mapping(fields.get())) {
        Member member = compiler.member(field.key, field.spec, written.member(field.key), field.key, true);
        if (const FieldSpec *declared = action.find_field(field.key))
            compile_conversion(member, *declared, plan);
        plan.fields.push_back(std::move(member));
    }
    compile_requirements(plan, action);
    if (action.max_record_bytes > 0)
        plan.max_record_bytes = static_cast<std::size_t>(action.max_record_bytes);
    return plan;
}

// ---------------------------------------------------------------------------
// to_json text, read without parsing

bool is_whitespace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// The kind of a JSON text from its first character (the text is PostgreSQL's
// own to_json output, so it is valid).
// Copies valid JSON text leaving out whitespace between tokens: jsonb prints
// {"a": 1, "b": 2} and json keeps whatever spacing was typed.
void append_compact(std::string &out, std::string_view json) {
    const std::size_t size = json.size();
    std::size_t run = 0;
    std::size_t pos = 0;
    while (pos < size) {
        const char c = json[pos];
        if (c == '"') {
            // Skip the string, escapes included.
            ++pos;
            while (pos < size && json[pos] != '"')
                pos += json[pos] == '\\' ? 2 : 1;
            pos = std::min(pos + 1, size);
        } else if (is_whitespace(c)) {
            out.append(json.data() + run, pos - run);
            while (pos < size && is_whitespace(json[pos]))
                ++pos;
            run = pos;
        } else {
            ++pos;
        }
    }
    out.append(json.data() + run, size - run);
}

// ---------------------------------------------------------------------------
// Building one record

// A record that cannot be built; caught in build(), never escapes it.
class InvalidRecord : public std::exception {
  public:
    explicit InvalidRecord(std::string reason) : reason_(std::move(reason)) {}
    const char *what() const noexcept override { return reason_.c_str(); }
    const std::string &reason() const { return reason_; }

  private:
    std::string reason_;
};

class RecordWriter {
  public:
    RecordWriter(const CompiledMapping &plan, const RecordValues &record, const RunContext &context,
                 std::string &out)
        : plan_(plan), record_(record), context_(context), out_(out) {}

    // The top-level object; `present[i]` is set when field i was sent non-null
    // (when `present` is empty nobody asked).
    // Where each member went is recorded in `spans` when given, for the
    // destination's element (JsonObjectView::view_known).
    void write_fields(std::vector<bool> &present, std::vector<JsonMemberSpan> *spans) {
        write_members(plan_.fields, &present, spans);
    }

  private:
    // Each write_* appends one JSON value and returns true when that value is null.
    bool write(const Node &node) {
        switch (node.kind) {
        case ValueKind::Column:
            return node.path.empty() ? write_column(node.column) : write_path(node.column, node.path);
        case ValueKind::Value:
            out_ += node.static_json;
            return node.static_null;
        case ValueKind::Template: write_template(node.pieces); return false;
        case ValueKind::Object: write_members(node.members, nullptr, nullptr); return false;
        case ValueKind::SelectObject: return write_selected(node.column, JsonKind::Object);
        case ValueKind::Array: return write_array(node);
        case ValueKind::SelectArray: return write_selected(node.column, JsonKind::Array);
        case ValueKind::Meta: write_meta(node.meta); return false;
        }
        return false;
    }

    void write_members(const std::vector<Member> &members, std::vector<bool> *present,
                       std::vector<JsonMemberSpan> *spans) {
        out_ += '{';
        bool first = true;
        for (std::size_t i = 0; i < members.size(); ++i) {
            const Member &member = members[i];
            const std::size_t mark = out_.size();
            if (!member.static_invalid.empty())
                throw InvalidRecord(member.static_invalid);
            if (!first)
                out_ += ',';
            const std::size_t key_start = out_.size();
            out_ += member.key_json;
            const std::size_t value_start = out_.size();
            bool is_null = write(member.node);
            if (member.convert_to && !is_null)
                is_null = convert(member, value_start);
            if (is_null && member.omit_null) {
                // Writing then cutting is cheaper than asking every spec twice.
                out_.resize(mark);
                continue;
            }
            first = false;
            if (present && !present->empty() && !is_null)
                (*present)[i] = true;
            if (spans)
                spans->push_back({static_cast<uint32_t>(key_start),
                                  static_cast<uint32_t>(member.key_json.size() - 1),   // without its colon
                                  static_cast<uint32_t>(value_start),
                                  static_cast<uint32_t>(out_.size() - value_start)});
        }
        out_ += '}';
    }

    // The value just written from `start` on, as the member's field type takes
    // it; true when it is now null (text holding "null" for an object field).
    bool convert(const Member &member, std::size_t start) {
        if (member.text_json_column >= 0 && out_[start] == '"') {
            const int column = member.text_json_column;
            const std::optional<std::string_view> held = held_json(column);
            if (!held || !is_json_text(*held))
                throw InvalidRecord(field_reason(member.key, "the text in column " + quoted(info(column).name) +
                                                                  " is not JSON"));
            out_.resize(start);
            append_compact(out_, trimmed(*held));
        }
        if (std::optional<std::string> reason = catalog::convert_to_field_type(*member.convert_to, out_, start))
            throw InvalidRecord(field_reason(member.key, *reason));
        return is_null_from(start);
    }

    // Whether what was written from `start` on is JSON's null (inline: the
    // library's compare, called twice for each member, showed in profiles).
    bool is_null_from(std::size_t start) const {
        return out_.size() - start == 4 && std::memcmp(out_.data() + start, "null", 4) == 0;
    }

    const std::optional<std::string_view> &value(int column) const { return record_.json_values[column]; }
    const ColumnInfo &info(int column) const { return plan_.columns[column]; }

    bool write_null() {
        out_ += "null";
        return true;
    }

    // The common case: the column's to_json text, copied.
    bool write_column(int column) {
        const std::optional<std::string_view> &json = value(column);
        if (!json)
            return write_null();
        const ColumnInfo &column_info = info(column);
        if (column_info.floating && !json->empty() && json->front() == '"')
            throw InvalidRecord("value of column " + quoted(column_info.name) +
                                " is NaN or infinite, which JSON cannot carry");
        const std::size_t start = out_.size();
        if (column_info.compact)
            append_compact(out_, *json);
        else
            out_ += *json;
        return is_null_from(start);
    }

    bool write_path(int column, const std::vector<std::string> &path) {
        const std::optional<std::string_view> found = held_value(column, path);
        if (!found)
            return write_null();
        append_compact(out_, *found);
        return *found == "null";
    }

    // select_object / select_array: the column's whole object or array. PostgreSQL's
    // own object or array text is copied as is; text holding JSON is checked first.
    bool write_selected(int column, JsonKind wanted) {
        const std::optional<std::string_view> &json = value(column);
        if (!json)
            return write_null();
        std::string_view text = trimmed(*json);
        if (json_kind_of(text) == JsonKind::String && !info(column).json)
            text = *held_value(column, {});
        const JsonKind kind = json_kind_of(text);
        if (kind == wanted) {
            append_compact(out_, text);
            return false;
        }
        if (kind == JsonKind::Null)
            return write_null();
        throw InvalidRecord("column " + quoted(info(column).name) + " holds " + json_kind_phrase(kind) +
                            ", not a JSON " + (wanted == JsonKind::Object ? "object" : "array"));
    }

    // A customize array reads several properties of every element, so here the
    // column's JSON is parsed into a DOM once.
    bool write_array(const Node &node) {
        const std::optional<std::string_view> held = held_json(node.column);
        if (!held)
            return write_null();
        const std::optional<JsonValue> json = try_parse_json_text(*held);
        if (!json)
            throw not_json(node.column);
        if (json->is_null())
            return write_null();
        if (json->kind() != JsonKind::Array)
            throw InvalidRecord("column " + quoted(info(node.column).name) + " holds " +
                                json_kind_phrase(json->kind()) + ", not a JSON array");
        out_ += '[';
        bool first = true;
        for (const JsonValue &element : json->elements()) {
            if (!first)
                out_ += ',';
            first = false;
            write_item(node.items, element);
        }
        out_ += ']';
        return false;
    }

    void write_item(const std::vector<ItemNode> &items, const JsonValue &element) {
        out_ += '{';
        bool first = true;
        for (const ItemNode &item : items) {
            const JsonValue *found = item.prop.empty() ? nullptr : find_path(element, item.prop);
            // A property the element does not have is left out, whatever sync_nulls says.
            if (!item.prop.empty() && !found)
                continue;
            const bool is_null = found ? found->is_null() : item.static_null;
            if (is_null && item.omit_null)
                continue;
            if (!first)
                out_ += ',';
            first = false;
            out_ += item.key_json;
            if (found)
                append_json(out_, *found);
            else
                out_ += item.static_json;
        }
        out_ += '}';
    }

    void write_template(const std::vector<TemplatePiece> &pieces) {
        out_ += '"';
        for (const TemplatePiece &piece : pieces) {
            if (piece.column < 0)
                out_ += piece.escaped;
            else if (piece.path.empty())
                append_column_text(piece.column);
            else
                append_path_text(piece.column, piece.path);
        }
        out_ += '"';
    }

    // {{column}}: NULL adds nothing.
    void append_column_text(int column) {
        if (const std::optional<std::string_view> &json = value(column))
            append_token_text(trimmed(*json));
    }

    // {{column.a.b}}: missing, like NULL, adds nothing.
    void append_path_text(int column, const std::vector<std::string> &path) {
        if (const std::optional<std::string_view> found = held_value(column, path))
            append_token_text(*found);
    }

    // A JSON value's text as template text, without parsing it: a string's escaped
    // content is already valid inside the template's string.
    void append_token_text(std::string_view text) {
        switch (json_kind_of(text)) {
        case JsonKind::Null: return;
        case JsonKind::String: out_.append(text.substr(1, text.size() - 2)); return;
        case JsonKind::Number:
        case JsonKind::Boolean: out_.append(text); return;
        case JsonKind::Object:
        case JsonKind::Array: {
            std::string compact;
            append_compact(compact, text);
            append_json_escaped(out_, compact);
            return;
        }
        }
    }

    void write_meta(MetaValue meta) {
        switch (meta) {
        case MetaValue::RecordId: append_json_string(out_, record_.record_id); return;
        case MetaValue::Change: append_json_string(out_, record_.change); return;
        case MetaValue::Mapping: append_json_string(out_, context_.mapping_name); return;
        case MetaValue::RunId: out_ += std::to_string(context_.run_id); return;
        case MetaValue::SyncedAt: append_json_string(out_, context_.synced_at); return;
        }
    }

    InvalidRecord not_json(int column) const {
        return InvalidRecord("column " + quoted(info(column).name) + " does not hold JSON");
    }

    // The JSON text a column holds, for specs that look inside it: its to_json
    // text, or for a column that is not json/jsonb whose value is a string (text),
    // that string's content, unescaped once per record. nullopt for SQL NULL.
    std::optional<std::string_view> held_json(int column) {
        const std::optional<std::string_view> &json = value(column);
        if (!json)
            return std::nullopt;
        if (info(column).json || json_kind_of(trimmed(*json)) != JsonKind::String)
            return std::string_view(*json);
        if (contents_.empty())
            contents_.resize(plan_.columns.size());
        std::optional<std::string> &content = contents_[column];
        if (!content) {
            const std::optional<JsonValue> string = try_parse_json_text(*json);
            if (!string)
                throw not_json(column);
            content = string->string_value();
        }
        return std::string_view(*content);
    }

    // The text of the value at `path` in what the column holds (the whole text is
    // checked); nullopt for NULL or a missing path.
    std::optional<std::string_view> held_value(int column, const std::vector<std::string> &path) {
        const std::optional<std::string_view> json = held_json(column);
        if (!json)
            return std::nullopt;
        const JsonTextMatch match = find_path_in_text(*json, path);
        if (!match.valid)
            throw not_json(column);
        return match.value;
    }

    const CompiledMapping &plan_;
    const RecordValues &record_;
    const RunContext &context_;
    std::string &out_;
    std::vector<std::optional<std::string>> contents_;   // text holding JSON, by column; sized on first use
};

BuiltPayload invalid_payload(std::string reason) { return {false, {}, std::move(reason)}; }

std::optional<std::string> missing_requirement(const CompiledMapping &plan, const std::vector<bool> &present) {
    for (const auto &[key, index] : plan.required)
        if (!index || !present[*index])
            return "required field " + quoted(key) + " is null";
    for (const OneOfGroup &group : plan.one_of)
        if (std::none_of(group.fields.begin(), group.fields.end(),
                         [&present](std::size_t index) { return present[index]; }))
            return group.reason;
    return std::nullopt;
}

std::size_t estimated_size(const CompiledMapping &plan, const RecordValues &record) {
    std::size_t size = plan.fixed_bytes + 2;
    for (const int column : plan.referenced_columns)
        if (const std::optional<std::string_view> &json = record.json_values[column])
            size += json->size();
    return size;
}

}  // namespace

// ---------------------------------------------------------------------------

PayloadBuilder::PayloadBuilder(const std::string &fields_text, const ActionDef &action,
                               const std::vector<Column> &columns)
    : plan_(std::make_unique<const CompiledMapping>(compile(fields_text, action, columns))) {}

PayloadBuilder::~PayloadBuilder() = default;
PayloadBuilder::PayloadBuilder(PayloadBuilder &&) noexcept = default;
PayloadBuilder &PayloadBuilder::operator=(PayloadBuilder &&) noexcept = default;

std::vector<std::string> PayloadBuilder::member_keys() const {
    std::vector<std::string> keys;
    keys.reserve(plan_->fields.size());
    for (const detail::Member &member : plan_->fields)
        keys.push_back(member.key);
    return keys;
}

BuiltPayload PayloadBuilder::build(const RecordValues &record, const RunContext &context, bool record_members,
                                   std::vector<JsonMemberSpan> members_storage) const {
    const CompiledMapping &plan = *plan_;
    if (record.json_values.size() != plan.columns.size())
        throw Error(sqlstate::kInternalError,
                    "record \"" + std::string(record.record_id) + "\" has " + std::to_string(record.json_values.size()) +
                        " values, but the model has " + std::to_string(plan.columns.size()) + " columns");
    std::string json;
    json.reserve(estimated_size(plan, record));
    const bool has_requirements = !plan.required.empty() || !plan.one_of.empty();
    std::vector<bool> present(has_requirements ? plan.fields.size() : 0);
    std::vector<JsonMemberSpan> spans = std::move(members_storage);
    spans.clear();
    if (record_members)
        spans.reserve(plan.fields.size());
    try {
        RecordWriter(plan, record, context, json).write_fields(present, record_members ? &spans : nullptr);
    } catch (const InvalidRecord &invalid) {
        return invalid_payload(invalid.reason());
    }
    if (has_requirements)
        if (std::optional<std::string> reason = missing_requirement(plan, present))
            return invalid_payload(std::move(*reason));
    if (plan.max_record_bytes > 0 && json.size() > plan.max_record_bytes)
        return invalid_payload("payload is " + std::to_string(json.size()) + " bytes, over the limit of " +
                               std::to_string(plan.max_record_bytes) + " bytes per record");
    return {true, std::move(json), {}, std::move(spans)};
}

}  // namespace reverse_etl::engine
