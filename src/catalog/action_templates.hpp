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
}

// Action is ActionDef or const ActionDef.
template <typename Action, typename Visit>
void for_each_action_template(Action &action, Visit &&visit) {
    for_each_request_template(action.request, "request", visit);
    for (auto &extra : action.record_extras)
        if (extra.text)
            visit("record." + extra.key, *extra.text, false);
    if (action.element)
        for_each_element_template(*action.element, "element", visit);
    for (auto &[name, operation] : action.operations) {
        for_each_request_template(operation.request, "operations." + name + ".request", visit);
        if (operation.element)
            for_each_element_template(*operation.element, "operations." + name + ".element", visit);
        if (operation.lookup) {
            const std::string lookup = "operations." + name + ".lookup";
            for_each_request_template(operation.lookup->request, lookup + ".request", visit);
            if (operation.lookup->element)
                for_each_element_template(*operation.lookup->element, lookup + ".element", visit);
        }
    }
}

}  // namespace reverse_etl::catalog
