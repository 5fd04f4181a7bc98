// A shallow view of a JSON object's text: each member's key and the exact text
// of its value, found by one scan that builds no tree and copies no value.
//
// Why: every record a vendor type sends is rendered into its destination's
// element from the record's payload, and parsing each payload into a JsonValue
// tree only to write most of it back out cost more than all of the webhook
// type's delivery work. The payload is JSON the product wrote itself, so its
// values can be copied as they are; a value that must be converted (an ISO 8601
// text sent as epoch milliseconds) is parsed on its own.
//
// The scan checks the structure it walks (the braces, brackets, strings, colons
// and commas of the object), not the full grammar of every value: a view of
// text that is not valid JSON may hold values that are not either. Give it JSON
// you trust to be valid. Pure C++: no PostgreSQL.
#pragma once

#include <cstdint>
#include <forward_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_text.hpp"

namespace reverse_etl {

// Where one member of an object lies in the object's text, as offsets (they
// stay true when the text is moved). Written by whoever wrote the text.
struct JsonMemberSpan {
    uint32_t key_at = 0;   // the key's opening quote
    uint32_t key_size = 0;
    uint32_t value_at = 0;
    uint32_t value_size = 0;
};

class JsonObjectView {
  public:
    struct Member {
        std::string_view key;        // unescaped
        std::string_view key_json;   // as written, quotes included
        std::string_view value;      // as written
    };

    // nullopt when `text` is not a JSON object. The view points into `text`,
    // which must outlive it.
    static std::optional<JsonObjectView> of(std::string_view text);

    // The same, into this view (its members' storage is reused: no
    // allocation a call once it has grown). False, and the view empty, when
    // `text` is not a JSON object.
    bool view(std::string_view text);

    // The members of `text` at the places its writer recorded, without a
    // scan (PayloadBuilder records them as it writes a payload: scanning
    // each payload again to render it was the largest cost a vendor's
    // element added over the webhook's). False, and the view empty, when
    // a span is not inside `text` or a key is escaped: then view() it.
    bool view_known(std::string_view text, const std::vector<JsonMemberSpan> &spans);

    const std::vector<Member> &members() const noexcept { return members_; }

    // The member named `key`; with duplicate keys the last one counts, as in
    // JsonValue::member. nullptr when absent.
    const Member *member(std::string_view key) const noexcept;

  private:
    bool scan_members(std::string_view text);

    std::vector<Member> members_;
    std::forward_list<std::string> unescaped_keys_;   // keys point into it: its elements never move
};

// The content of a JSON string as written ("a\"b" -> a"b); nullopt when it is
// not a valid JSON string.
std::optional<std::string> json_string_content(std::string_view value);

}  // namespace reverse_etl
