// Every text template an action's requests and elements are built from, in one
// walk: for checking at load which action settings they use, and for putting
// a mapping's action settings in (catalog/action_settings.hpp). One list of
// where templates live, so a new place cannot be checked but not filled, or
// the reverse.
#pragma once

#include <string>

#include "catalog/destination_type.hpp"

namespace reverse_etl::catalog {

// visit(where, text, in_url): `where` names the template's place in the
// action's definition ("request.url", "operations.delete.element.ids[0]"...);
// `in_url` is true for a URL, whose substituted values are percent-encoded.
// Node is ElementNode or const ElementNode; the template is passed as it.
template <typename Node, typename Visit>
void for_each_element_template(Node &node, const std::string &where, Visit &&visit) {
    if (node.kind == ElementNode::Kind::Text)
        visit(where, node.text, false);
    for (size_t i = 0; i < node.values.size(); ++i)
        for_each_element_template(node.values[i],
                                  where + (node.kind == ElementNode::Kind::Object ? "." + node.keys[i]
                                                                                 : "[" + std::to_string(i) + "]"),
                                  visit);
    for (auto &merged : node.merge)
        for_each_element_template(merged, where + ".$merge", visit);
}

template <typename Request, typename Visit>
void for_each_request_template(Request &request, const std::string &where, Visit &&visit) {
    visit(where + ".url", request.url, true);
    for (auto &[name, text] : request.query)
        visit(where + ".query." + name, text, false);
    for (auto &[name, text] : request.headers)
        visit(where + ".headers." + name, text, false);
    for (auto &[name, text] : request.body_members)
        visit(where + ".body.members." + name, text, false);
    // A query list's text around its elements, percent-encoded as a whole
    // when the request is built (so bound as text, not as a URL).
    visit(where + ".body.value", request.query_list.before, false);
    visit(where + ".body.value", request.query_list.after, false);
    for (size_t i = 0; i < request.auth.size(); ++i) {
        visit(where + ".auth[" + std::to_string(i) + "]", request.auth[i].value, false);
        visit(where + ".auth[" + std::to_string(i) + "]", request.auth[i].password, false);
        visit(where + ".auth[" + std::to_string(i) + "]", request.auth[i].refresh_token, false);
        visit(where + ".auth[" + std::to_string(i) + "].token_url", request.auth[i].token_url, false);
    }
    if (request.signing)
        visit(where + ".signing.secret", request.signing->secret, false);
    visit(where + ".response.records.record_key", request.response.records.record_key, false);
    for (auto &key : request.response.records.list_keys)
        visit(where + ".response.records.lists", key, false);
}

// Every request an action sends, with where it sits: the action's own, its
// operations' and their lookups'. Action is ActionDef or const ActionDef.
template <typename Action, typename Visit>
void for_each_action_request(Action &action, Visit &&visit) {
    visit("request", action.request);
    for (auto &[name, operation] : action.operations) {
        visit("operations." + name + ".request", operation.request);
        if (operation.lookup)
            visit("operations." + name + ".lookup.request", operation.lookup->request);
        for (auto &[key_field, variant] : operation.by_key_field)
            visit("operations." + name + ".by_key_field." + key_field + ".request", variant.request);
    }
}

// Every element an action renders, with where it sits, as above.
template <typename Action, typename Visit>
void for_each_action_element(Action &action, Visit &&visit) {
    if (action.element)
        visit("element", *action.element);
    for (auto &[name, operation] : action.operations) {
        if (operation.element)
            visit("operations." + name + ".element", *operation.element);
        if (operation.lookup && operation.lookup->element)
            visit("operations." + name + ".lookup.element", *operation.lookup->element);
        for (auto &[key_field, variant] : operation.by_key_field)
            if (variant.element)
                visit("operations." + name + ".by_key_field." + key_field + ".element", *variant.element);
    }
}

template <typename Action, typename Visit>
void for_each_action_template(Action &action, Visit &&visit) {
    for_each_action_request(action, [&](const std::string &where, auto &request) {
        for_each_request_template(request, where, visit);
    });
    for (auto &extra : action.record_extras)
        if (extra.text)
            visit("record." + extra.key, *extra.text, false);
    for_each_action_element(action, [&](const std::string &where, auto &element) {
        for_each_element_template(element, where, visit);
    });
}

}  // namespace reverse_etl::catalog
