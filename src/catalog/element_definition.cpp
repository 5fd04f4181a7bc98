#include "catalog/element_definition.hpp"

#include <utility>

#include "common/json.hpp"
#include "common/text.hpp"

namespace reverse_etl::catalog::definition {

namespace {

constexpr const char *kMergeKey = "$merge";

// The placeholder a whole string is, without its braces; empty when the
// string is not exactly one placeholder.
std::string sole_placeholder(const std::string &text) {
    if (text.size() < 4 || text.compare(0, 2, "{{") != 0 || text.compare(text.size() - 2, 2, "}}") != 0)
        return {};
    const std::string inner = trimmed(text.substr(2, text.size() - 4));
    if (inner.find("{{") != std::string::npos || inner.find("}}") != std::string::npos)
        return {};
    return inner;
}

std::vector<std::string> split_names(const std::string &list) {
    std::vector<std::string> names;
    size_t start = 0;
    for (;;) {
        const size_t comma = list.find(',', start);
        names.push_back(trimmed(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
        if (comma == std::string::npos)
            return names;
        start = comma + 1;
    }
}

void expect_field(const Node &node, const ActionDef &action, const std::string &name) {
    node.expect(!name.empty(), "names an empty field");
    node.expect(action.free_fields || action.find_field(name) != nullptr,
                "names \"" + name + "\", which is not a field of the action");
}

// "{{fields...}}" placeholders; false when `inner` is another placeholder.
bool read_field_placeholder(const Node &node, const ActionDef &action, const std::string &inner,
                            ElementNode &out) {
    if (inner == "key") {
        out.kind = ElementNode::Kind::Field;
        out.key = true;   // the field itself is known once the key field is
        return true;
    }
    const std::string head = "fields";
    if (inner.compare(0, head.size(), head) != 0)
        return false;
    const std::string rest = inner.substr(head.size());
    const size_t bar = rest.find('|');
    const std::string filter = bar == std::string::npos ? "" : trimmed(rest.substr(bar + 1));
    const std::string target = trimmed(rest.substr(0, bar));
    if (target.empty()) {
        out.kind = ElementNode::Kind::Fields;
        if (filter.empty())
            return true;
        if (filter == "values") {
            out.spread = true;
            return true;
        }
        node.expect(filter.compare(0, 7, "except:") == 0,
                    "uses filter \"" + filter + "\" on {{fields}}; only except:NAME,... and values are known");
        out.except = split_names(filter.substr(7));
        for (const std::string &name : out.except)
            expect_field(node, action, name);
        return true;
    }
    node.expect(target[0] == '.', "uses unknown placeholder \"{{" + inner + "}}\"");
    out.kind = ElementNode::Kind::Field;
    out.field = target.substr(1);
    expect_field(node, action, out.field);
    if (filter.empty())
        return true;
    node.expect(filter == "epoch_ms" || filter == "epoch_s",
                "uses filter \"" + filter + "\"; only epoch_ms and epoch_s are known");
    const FieldSpec *spec = action.find_field(out.field);
    node.expect(spec != nullptr && spec->type == FieldType::Datetime,
                "uses " + filter + " on \"" + out.field + "\", which is not a datetime field");
    out.format = filter == "epoch_ms" ? ElementNode::Format::EpochMillis : ElementNode::Format::EpochSeconds;
    return true;
}

ElementNode read_value(const Node &node, const ActionDef &action, const DestinationType &type, bool in_array = false);

ElementNode read_object(const Node &node, const ActionDef &action, const DestinationType &type) {
    ElementNode out;
    out.kind = ElementNode::Kind::Object;
    const char *key;
    const json_t *value;
    json_object_foreach(const_cast<json_t *>(node.value()), key, value) {
        const Node item = node.member(key);
        if (std::string(key) == kMergeKey) {
            ElementNode merged = read_value(item, action, type);
            const bool object_field = merged.kind == ElementNode::Kind::Field && !merged.key &&
                                      merged.format == ElementNode::Format::AsIs &&
                                      (action.find_field(merged.field) == nullptr ||
                                       action.find_field(merged.field)->type == FieldType::Object);
            item.expect(object_field || merged.kind == ElementNode::Kind::Fields,
                        "must be \"{{fields}}\" or \"{{fields.NAME}}\" of an object field");
            out.merge.push_back(std::move(merged));
            continue;
        }
        item.expect(*key != '\0', "must not have an empty key");
        out.keys.emplace_back(key);
        out.values.push_back(read_value(item, action, type));
    }
    return out;
}

ElementNode read_value(const Node &node, const ActionDef &action, const DestinationType &type, bool in_array) {
    ElementNode out;
    const json_t *value = node.value();
    if (json_is_object(value))
        return read_object(node, action, type);
    if (json_is_array(value)) {
        out.kind = ElementNode::Kind::Array;
        for (size_t i = 0; i < json_array_size(value); ++i)
            out.values.push_back(read_value(node.element(i), action, type, true));
        return out;
    }
    if (!json_is_string(value)) {
        out.json = dump_json(value);
        return out;
    }
    const std::string text(json_string_value(value), json_string_length(value));
    if (read_field_placeholder(node, action, sole_placeholder(text), out)) {
        node.expect(!out.spread || in_array, "uses {{fields|values}} outside an array: its values go in one");
        return out;
    }
    out.kind = ElementNode::Kind::Text;
    out.text = read_template(node, type, kSettings | kSecretSettings | kRecordId | kMessageId | kVersion | kObjectId);
    return out;
}

}  // namespace

ElementNode read_element(const Node &node, const ActionDef &action, const DestinationType &type) {
    // A bare value: one field (Braze deletes send a list of external ids), or
    // the destination's id (Salesforce deletes send a list of record ids).
    // Or a text around the id (Google Sheets clears the ranges of rows:
    // "'Sheet1'!{{object_id}}:{{object_id}}").
    const char *expected = "must be an object, one \"{{fields.NAME}}\" or a text with \"{{object_id}}\"";
    if (json_is_string(node.value())) {
        ElementNode field = read_value(node, action, type);
        const bool object_id = field.kind == ElementNode::Kind::Text && field.text.uses(RequestTemplatePart::Kind::ObjectId);
        node.expect(field.kind == ElementNode::Kind::Field || object_id, expected);
        return field;
    }
    node.expect(json_is_object(node.value()), expected);
    return read_object(node, action, type);
}

}  // namespace reverse_etl::catalog::definition
