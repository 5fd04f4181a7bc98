// An action's element, for payloads of one key layout, as a list of copies:
// constant JSON text and byte ranges of the payload. Pure C++: no libcurl,
// no PostgreSQL.
//
// Why: a sync's payloads all have the same keys in the same order
// (engine::PayloadBuilder writes every record of a run alike, leaving out a
// null now and then), so where each field of an element comes from is the
// same for every record of a layout. Walking the element's tree for each
// record (finding each field's member, deciding which members a merge
// leaves out, placing commas) cost more than copying the bytes: for
// Amplitude's identify element, most of what rendering added to a sync
// over the webhook's.
//
// Only elements made of what copies can write are planned: literals,
// fields sent as they are, merges of the payload's fields and objects of
// those (ElementCopyPlan::covers). Anything else (a text with the record's
// ids, a date sent as epoch milliseconds, an array) is rendered by
// ElementRenderer's walk, as before.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/destination_type.hpp"
#include "common/json_object_view.hpp"

namespace reverse_etl::destinations {

class ElementCopyPlan {
  public:
    // Whether an element (its settings resolved) can be planned.
    static bool covers(const catalog::ElementNode &root);

    // The plan of `root` (which covers() accepts) for payloads whose
    // members' keys are `key_texts`, in order, as written: quotes included,
    // no escapes.
    ElementCopyPlan(const catalog::ElementNode &root, std::vector<std::string> key_texts);

    // Whether the payload's members, at `spans`, have this plan's keys in
    // its order.
    bool fits(std::string_view payload, const std::vector<JsonMemberSpan> &spans) const;

    // Appends the element of a payload that fits().
    void render(std::string_view payload, const std::vector<JsonMemberSpan> &spans, std::string &out) const;

  private:
    struct Step {
        std::string text;   // JSON appended as it is, before the members
        // Members first..last of the payload, as "key":value with commas
        // between, or only member first's value.
        uint32_t first = 0, last = 0;
        bool value_only = false;
    };

    // Each appends what the node writes to the plan; plan_value is false
    // for a field the layout has not got (written as nothing at all).
    bool plan_value(const catalog::ElementNode &node);
    void plan_object(const catalog::ElementNode &node);
    void plan_members(const std::vector<std::string> &except, const std::vector<std::string> &overridden,
                      bool &first);
    // The index of the payload member named `key` (the last, as
    // JsonObjectView::member finds), nullopt when absent.
    std::optional<uint32_t> member_named(const std::string &key) const;

    std::vector<std::string> key_texts_;
    std::vector<Step> steps_;
    std::string pending_;   // while planning: text not yet in a step
    std::string tail_;      // JSON appended after the last step
};

}  // namespace reverse_etl::destinations
