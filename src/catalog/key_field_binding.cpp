#include "catalog/key_field_binding.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include "catalog/action_templates.hpp"
#include "http/http_text.hpp"

namespace reverse_etl::catalog {

namespace {

using Kind = RequestTemplatePart::Kind;

bool is_key_part(const RequestTemplatePart &part) { return part.kind == Kind::KeyField || part.kind == Kind::Key; }

bool element_uses_key(const ElementNode &node) {
    if (node.kind == ElementNode::Kind::Field && node.key)
        return true;
    return std::any_of(node.values.begin(), node.values.end(), element_uses_key) ||
           std::any_of(node.merge.begin(), node.merge.end(), element_uses_key);
}

// The record outcome paths that may name the key field (where a result
// carries the record's key: "properties.{{key_field}}").
template <typename Records, typename Visit>
void for_each_outcome_path(Records &records, Visit &&visit) {
    visit(records.list);
    visit(records.index);
    visit(records.success);
    visit(records.object_id);
    visit(records.key);
    visit(records.errors);
    visit(records.error_keys);
    for (auto &path : records.message)
        visit(path);
}

bool path_uses_key(const JsonPath &path) {
    return std::find(path.begin(), path.end(), kKeyFieldStep) != path.end();
}

void bind_template(RequestTemplate &text, bool in_url, const std::string &key_field) {
    std::vector<RequestTemplatePart> parts;
    for (RequestTemplatePart &part : text.parts) {
        if (part.kind == Kind::KeyField)
            part = RequestTemplatePart{Kind::Text, in_url ? http::percent_encode(key_field) : key_field};
        else if (part.kind == Kind::Key)
            part = RequestTemplatePart{Kind::Field, key_field, part.filter};
        // Adjacent Text parts never occur in a template: join them.
        if (part.kind == Kind::Text && !parts.empty() && parts.back().kind == Kind::Text)
            parts.back().text += part.text;
        else
            parts.push_back(std::move(part));
    }
    text.parts = std::move(parts);
}

void bind_element(ElementNode &node, const std::string &key_field) {
    if (node.kind == ElementNode::Kind::Field && node.key) {
        node.field = key_field;
        node.key = false;
    }
    for (ElementNode &value : node.values)
        bind_element(value, key_field);
    for (ElementNode &merged : node.merge)
        bind_element(merged, key_field);
}

}  // namespace

bool uses_key_placeholders(const ActionDef &action) {
    bool uses = false;
    for_each_action_template(action, [&](const std::string &, const RequestTemplate &text, bool) {
        uses = uses || std::any_of(text.parts.begin(), text.parts.end(), is_key_part);
    });
    for_each_action_element(action, [&](const std::string &, const ElementNode &element) {
        uses = uses || element_uses_key(element);
    });
    for_each_action_request(action, [&](const std::string &, const RequestSpec &request) {
        for_each_outcome_path(request.response.records, [&](const JsonPath &path) { uses = uses || path_uses_key(path); });
    });
    return uses;
}

void bind_key_field(ActionDef &action, const std::string &key_field) {
    for_each_action_template(action, [&](const std::string &, RequestTemplate &text, bool in_url) {
        bind_template(text, in_url, key_field);
    });
    for_each_action_element(action, [&](const std::string &, ElementNode &element) { bind_element(element, key_field); });
    for_each_action_request(action, [&](const std::string &, RequestSpec &request) {
        for_each_outcome_path(request.response.records, [&](JsonPath &path) {
            std::replace(path.begin(), path.end(), std::string(kKeyFieldStep), key_field);
        });
    });
}

}  // namespace reverse_etl::catalog
