// Renders an action's "element" block (catalog::ElementNode) for one record:
// the JSON object that record becomes in a request body, built from its
// payload (the mapped fields), its ids and the destination's settings. Pure
// C++: no libcurl, no PostgreSQL.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "catalog/destination_type.hpp"
#include "common/json_object_view.hpp"
#include "destinations/element_copy_plan.hpp"

namespace reverse_etl::destinations {

// What names a record besides its payload.
struct RecordIds {
    const std::string &record_id;
    const std::string &message_id;
    const std::string &object_id;   // empty: no answer gave one yet
};

class ElementRenderer {
  public:
    struct KeyLayout;   // what rendering found by key in the last payload (see the .cpp)

    // `setting_text` gives a setting's effective value as text, nullopt when
    // unset; text built from an unset setting is left out of the element, as
    // headers built from one are left out of requests.
    ElementRenderer(const catalog::ElementNode &root,
                    const std::function<std::optional<std::string>(const std::string &)> &setting_text);

    // Whether elements carry {{message_id}} or {{message_uuid}}.
    bool needs_message_id() const { return needs_message_id_; }

    // Says that every payload rendered from now on has only members of
    // these keys (PayloadBuilder::member_keys), so what they allow is
    // decided once here instead of for each payload.
    void declare_payload_keys(const std::vector<std::string> &keys);
    // Whether render() reads the payload's members (its `members`
    // argument): false for an element spliced into payloads none of whose
    // declared keys it overrides, which are copied whole.
    bool reads_payload_members() const { return !(splices_ && never_overrides_); }

    // Appends the element to `out` as compact JSON; numbers are written as
    // the payload has them. False with `problem` set when a value cannot be
    // written (a datetime field that is not ISO 8601 text for epoch_ms, an
    // {{object_id}} the record has not got): then what it appended is the
    // caller's to cut off. `payload` must be a JSON object; `members`, where its
    // members lie when its builder said (else empty: the payload is scanned).
    bool render(const std::string &payload, const std::vector<JsonMemberSpan> &members, const RecordIds &ids,
                std::string &out, std::string &problem) const;

  private:
    // The payload with the root's own members appended as text, when that is
    // what rendering gives (splices_members in the .cpp says when).
    bool render_spliced(const std::string &payload, const std::vector<JsonMemberSpan> &members,
                        std::string &out) const;
    // The copy plan of the payload's key layout, made when new; nullptr
    // when its members' keys are not plain text.
    const ElementCopyPlan *copy_plan(const std::string &payload, const std::vector<JsonMemberSpan> &members) const;
    // Whether the payload may have a member the spliced ones override.
    bool may_override(const std::string &payload, const std::vector<JsonMemberSpan> &members) const;

    catalog::ElementNode root_;   // settings resolved: Text nodes hold no Setting parts
    // The payload being rendered, kept so that its members' storage is
    // reused from one record to the next (a renderer renders one record at
    // a time: a request builder is not shared between threads).
    mutable JsonObjectView payload_view_;
    // It names the nodes of root_ by address, so a copy of the renderer
    // starts with an empty one of its own.
    class LayoutHolder {
      public:
        LayoutHolder();
        LayoutHolder(const LayoutHolder &) : LayoutHolder() {}
        LayoutHolder &operator=(const LayoutHolder &);
        ~LayoutHolder();
        KeyLayout &operator*() const { return *layout_; }
        KeyLayout *operator->() const { return layout_.get(); }

      private:
        std::unique_ptr<KeyLayout> layout_;
    };
    LayoutHolder layout_;
    bool needs_message_id_ = false;
    // An element ElementCopyPlan covers: rendered by the plan of each
    // payload's key layout (a sync's payloads have a few at most).
    bool copies_ = false;
    mutable std::vector<ElementCopyPlan> copy_plans_;   // the last one used at the back
    // An element that is every payload field plus constant members
    // (Salesforce's {"attributes": ..., "$merge": "{{fields}}"}): those
    // members as JSON text.
    bool splices_ = false;
    std::string spliced_members_;
    // Declared payload keys (declare_payload_keys) include none of the
    // spliced members' keys: may_override need not look.
    bool never_overrides_ = false;
};

// The record's message id as a UUID-shaped string (36 characters of lower-case
// hex and dashes), deterministic like the message id itself.
std::string message_uuid(const std::string &message_id);

}  // namespace reverse_etl::destinations
