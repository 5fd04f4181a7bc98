#include "destinations/element_renderer.hpp"

#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "common/iso8601.hpp"
#include "common/json_object_view.hpp"
#include "common/json_text.hpp"
#include "common/text.hpp"
#include "http/crypto.hpp"

namespace reverse_etl::destinations {

namespace {

using catalog::ElementNode;
using Part = catalog::RequestTemplatePart;

using SettingText = std::function<std::optional<std::string>(const std::string &)>;

// Substitutes settings in Text nodes; a Text node naming an unset setting
// becomes an absent value. Returns false for such a node.
bool resolve(ElementNode &node, const SettingText &setting_text, bool &needs_message_id) {
    switch (node.kind) {
    case ElementNode::Kind::Text: {
        catalog::RequestTemplate resolved;
        resolved.source = node.text.source;
        for (const Part &part : node.text.parts) {
            if (part.kind == Part::Kind::MessageId || part.kind == Part::Kind::MessageUuid)
                needs_message_id = true;
            if (part.kind == Part::Kind::ActionSetting)   // catalog::bind_action_settings was not called
                throw Error(sqlstate::kInternalError,
                            "action setting " + quoted(part.text) + " of an element is not bound to a mapping");
            if (part.kind == Part::Kind::KeyField || part.kind == Part::Kind::Key)
                throw Error(sqlstate::kInternalError, "the key field of an element is not bound to a mapping");
            if (part.kind != Part::Kind::Setting) {
                resolved.parts.push_back(part);
                continue;
            }
            const std::optional<std::string> value = setting_text(part.text);
            if (!value)
                return false;
            resolved.parts.push_back(Part{Part::Kind::Text, *value});
        }
        node.text = std::move(resolved);
        // Text that is the same for every record ("$token" from a setting) is
        // written as JSON once, here, instead of built and escaped per record.
        if (std::all_of(node.text.parts.begin(), node.text.parts.end(),
                        [](const Part &part) { return part.kind == Part::Kind::Text; })) {
            std::string text;
            for (const Part &part : node.text.parts)
                text += part.text;
            node.kind = ElementNode::Kind::Literal;
            node.json.clear();
            append_json_string(node.json, text);
            node.text = {};
        }
        return true;
    }
    case ElementNode::Kind::Object:
    case ElementNode::Kind::Array: {
        for (size_t i = node.values.size(); i-- > 0;) {
            if (resolve(node.values[i], setting_text, needs_message_id))
                continue;
            node.values.erase(node.values.begin() + static_cast<std::ptrdiff_t>(i));
            if (node.kind == ElementNode::Kind::Object)
                node.keys.erase(node.keys.begin() + static_cast<std::ptrdiff_t>(i));
        }
        node.key_json.clear();
        for (const std::string &key : node.keys) {
            append_json_string(node.key_json.emplace_back(), key);
            node.key_json.back() += ':';
        }
        return true;
    }
    case ElementNode::Kind::Field:
        if (node.key)   // catalog::bind_key_field was not called
            throw Error(sqlstate::kInternalError, "the key field of an element is not bound to a mapping");
        return true;
    default: return true;
    }
}

// Whether a resolved node renders the same for every record: no field, no
// id (resolve made text without either a Literal).
bool is_constant(const ElementNode &node) {
    switch (node.kind) {
    case ElementNode::Kind::Literal: return true;
    case ElementNode::Kind::Object:
    case ElementNode::Kind::Array:
        return node.merge.empty() && std::all_of(node.values.begin(), node.values.end(), is_constant);
    default: return false;
    }
}

// Whether the element is every payload member followed by constant members:
// then it can be written as the payload's text with those members spliced in
// before its closing brace, unless the payload has a member one of them
// overrides. Parsing each payload only to copy all of it out again was most
// of the cost of building Salesforce's requests.
bool splices_members(const ElementNode &root) {
    return root.kind == ElementNode::Kind::Object && root.merge.size() == 1 &&
           root.merge.front().kind == ElementNode::Kind::Fields && root.merge.front().except.empty() &&
           std::all_of(root.values.begin(), root.values.end(), is_constant);
}

// Room for `more` bytes after what `out` holds, growing it at least
// twofold: an element is appended after others (RequestBuilder::plan
// renders a request's elements into one string), and reserving exactly
// the room of each would copy all of them again for every element.
void reserve_more(std::string &out, size_t more) {
    if (out.capacity() - out.size() < more)
        out.reserve(std::max(out.capacity() * 2, out.size() + more));
}

}  // namespace

// What rendering found in a payload by its keys: the member each field node
// names, and the members each merge of fields leaves out. It holds for every
// payload with the same keys in the same order, as PayloadBuilder writes
// every record of a run: comparing each payload's keys with the last one's
// once costs less than the lookups and exception lists every node does.
struct ElementRenderer::KeyLayout {
    static constexpr int kUnknown = -2, kAbsent = -1;
    std::vector<std::string> keys;
    std::vector<std::pair<const ElementNode *, int>> found;   // a member's index, or kAbsent
    std::vector<std::pair<const ElementNode *, std::vector<char>>> skipped;
    // For an element spliced into the payload (render_spliced): the last
    // payload's keys as written, and whether the element overrides one.
    std::vector<std::string> written_keys;
    bool overrides = false;

    // Whether `members` have the keys the layout was made for; else it
    // forgets what it found and takes their keys.
    void adopt(const std::vector<JsonObjectView::Member> &members) {
        const bool same = members.size() == keys.size() &&
                          std::equal(members.begin(), members.end(), keys.begin(),
                                     [](const JsonObjectView::Member &member, const std::string &key) {
                                         return member.key == key;
                                     });
        if (same)
            return;
        keys.clear();
        for (const JsonObjectView::Member &member : members)
            keys.emplace_back(member.key);
        found.clear();
        skipped.clear();
    }

    int &found_slot(const ElementNode *node) {
        for (auto &[owner, index] : found)
            if (owner == node)
                return index;
        return found.emplace_back(node, kUnknown).second;
    }

    // nullptr when not known yet.
    std::vector<char> *skipped_of(const ElementNode *node) {
        for (auto &[owner, flags] : skipped)
            if (owner == node)
                return &flags;
        return nullptr;
    }
};

namespace {

class Render {
  public:
    Render(const JsonObjectView &payload, const RecordIds &ids, std::string &out,
           ElementRenderer::KeyLayout &layout)
        : payload_(payload), record_id_(ids.record_id), message_id_(ids.message_id), object_id_(ids.object_id),
          out_(out), layout_(layout) {}

    // Appends the node's JSON; false when it is absent (a field not in the payload).
    bool value(const ElementNode &node) {
        switch (node.kind) {
        case ElementNode::Kind::Literal: out_ += node.json; return true;
        case ElementNode::Kind::Field: return field(node);
        case ElementNode::Kind::Fields:
            out_ += '{';
            first_.push_back(kFirst);
            payload_members(node, node.except, {});
            first_.pop_back();
            out_ += '}';
            return true;
        case ElementNode::Kind::Text: append_json_string(out_, text(node.text)); return true;
        case ElementNode::Kind::Object: object(node); return true;
        case ElementNode::Kind::Array: array(node); return true;
        }
        return false;
    }

    const std::string &problem() const { return problem_; }

  private:
    const JsonObjectView::Member *payload_member(const ElementNode &node) {
        int &slot = layout_.found_slot(&node);
        if (slot == ElementRenderer::KeyLayout::kUnknown) {
            const JsonObjectView::Member *found = payload_.member(node.field);
            slot = found == nullptr ? ElementRenderer::KeyLayout::kAbsent
                                    : static_cast<int>(found - payload_.members().data());
            return found;
        }
        return slot == ElementRenderer::KeyLayout::kAbsent ? nullptr : &payload_.members()[slot];
    }

    bool field(const ElementNode &node) {
        const JsonObjectView::Member *found = payload_member(node);
        if (found == nullptr)
            return false;
        if (node.format == ElementNode::Format::AsIs || json_kind_of(found->value) != JsonKind::String) {
            out_ += found->value;
            return true;
        }
        const std::optional<std::string> text = json_string_content(found->value);
        if (!text)
            throw Error(sqlstate::kInternalError, "field " + quoted(node.field) + " of record " +
                                                      quoted(record_id_) + " is not a valid JSON string");
        std::optional<int64_t> millis = iso8601_epoch_millis(*text);
        if (millis && node.format == ElementNode::Format::EpochSeconds)
            millis = *millis / 1000 - (*millis % 1000 < 0 ? 1 : 0);   // floor: seconds before 1970 too
        if (!millis) {
            if (problem_.empty())
                problem_ = "field " + quoted(node.field) + " is " + quoted(*text) +
                           ", not an ISO 8601 date and time";
            out_ += "null";
            return true;
        }
        out_ += std::to_string(*millis);
        return true;
    }

    std::string text(const catalog::RequestTemplate &text) {
        std::string value;
        for (const Part &part : text.parts) {
            if ((part.kind == Part::Kind::MessageId || part.kind == Part::Kind::MessageUuid) && message_id_.empty())
                throw Error(sqlstate::kInternalError, "record " + quoted(record_id_) + " has no message_id");
            switch (part.kind) {
            case Part::Kind::RecordId: value += record_id_; break;
            case Part::Kind::MessageId: value += message_id_; break;
            case Part::Kind::MessageUuid: value += message_uuid(message_id_); break;
            case Part::Kind::ObjectId:
                if (object_id_.empty() && problem_.empty())
                    problem_ = "the destination has given no id for the record yet";
                value += object_id_;
                break;
            default: value += part.text; break;
            }
        }
        return value;
    }

    static bool listed(const std::vector<std::string> &names, std::string_view key) {
        return std::find(names.begin(), names.end(), key) != names.end();
    }

    // The members of `object` but those in `except` or `overridden`, each
    // preceded by a comma when one came before.
    void members_of(const JsonObjectView &object, const std::vector<std::string> &except,
                    const std::vector<std::string> &overridden) {
        for (const JsonObjectView::Member &member : object.members()) {
            if (listed(except, member.key) || listed(overridden, member.key))
                continue;
            write_member(member);
        }
    }

    // The same of the payload's members, for the node merging them: which
    // to leave out is known from the layout after the first payload.
    void payload_members(const ElementNode &node, const std::vector<std::string> &except,
                         const std::vector<std::string> &overridden) {
        const std::vector<JsonObjectView::Member> &members = payload_.members();
        std::vector<char> *skipped = layout_.skipped_of(&node);
        if (skipped == nullptr) {
            skipped = &layout_.skipped.emplace_back(&node, std::vector<char>()).second;
            for (const JsonObjectView::Member &member : members)
                skipped->push_back(listed(except, member.key) || listed(overridden, member.key));
        }
        // Members kept one after another are, in compact text (PayloadBuilder's),
        // one run of it with their commas: appended at once.
        for (size_t i = 0; i < members.size();) {
            if ((*skipped)[i]) {
                ++i;
                continue;
            }
            if (!is_compact(members[i])) {
                write_member(members[i++]);
                continue;
            }
            const char *const start = members[i].key_json.data();
            const char *end = value_end(members[i]);
            for (++i; i < members.size() && !(*skipped)[i] && is_compact(members[i]) &&
                      members[i].key_json.data() == end + 1;   // the comma between them
                 ++i)
                end = value_end(members[i]);
            separate();
            out_.append(start, static_cast<size_t>(end - start));
        }
    }

    // Whether the member's value follows its key with only the colon between.
    static bool is_compact(const JsonObjectView::Member &member) {
        return member.value.data() == member.key_json.data() + member.key_json.size() + 1;
    }
    static const char *value_end(const JsonObjectView::Member &member) {
        return member.value.data() + member.value.size();
    }

    void write_member(const JsonObjectView::Member &member) {
        separate();
        out_ += member.key_json;
        out_ += ':';
        out_ += member.value;
    }

    void object(const ElementNode &node) {
        out_ += '{';
        first_.push_back(kFirst);
        for (const ElementNode &merged : node.merge) {
            if (merged.kind == ElementNode::Kind::Fields) {
                payload_members(merged, merged.except, node.keys);
            } else if (const JsonObjectView::Member *source = payload_member(merged);
                       source != nullptr && json_kind_of(source->value) == JsonKind::Object) {
                const std::optional<JsonObjectView> nested = JsonObjectView::of(source->value);
                if (!nested)
                    throw Error(sqlstate::kInternalError, "field " + quoted(merged.field) + " of record " +
                                                              quoted(record_id_) + " is not a JSON object");
                members_of(*nested, {}, node.keys);
            }
        }
        for (size_t i = 0; i < node.keys.size(); ++i) {
            const size_t mark = out_.size();
            const char was_first = first_.back();
            separate();
            out_ += node.key_json[i];   // resolve() wrote it for every object it reached: all of them
            if (!value(node.values[i])) {
                out_.resize(mark);   // an absent field: no member at all
                first_.back() = was_first;
            }
        }
        first_.pop_back();
        out_ += '}';
    }

    void array(const ElementNode &node) {
        out_ += '[';
        first_.push_back(kFirst);
        for (const ElementNode &element : node.values) {
            if (element.kind == ElementNode::Kind::Fields && element.spread) {
                cells(element.except);
                continue;
            }
            const size_t mark = out_.size();
            const char was_first = first_.back();
            separate();
            if (!value(element)) {
                out_.resize(mark);
                first_.back() = was_first;
            }
        }
        first_.pop_back();
        out_ += ']';
    }

    // "{{fields|values}}": each field's value as a cell, in payload order.
    void cells(const std::vector<std::string> &except) {
        for (const JsonObjectView::Member &member : payload_.members()) {
            if (std::find(except.begin(), except.end(), member.key) != except.end())
                continue;
            separate();
            switch (json_kind_of(member.value)) {
            case JsonKind::Null: out_ += "\"\""; break;
            case JsonKind::Object:
            case JsonKind::Array: append_json_string(out_, member.value); break;   // compact JSON text, as a cell's text
            default: out_ += member.value; break;
            }
        }
    }

    void separate() {
        if (first_.back() != kFirst)
            out_ += ',';
        first_.back() = kNotFirst;
    }

    const JsonObjectView &payload_;
    const std::string &record_id_;
    const std::string &message_id_;
    const std::string &object_id_;
    std::string &out_;
    ElementRenderer::KeyLayout &layout_;
    // Per nesting level, whether the container being written has no member
    // yet: a string, whose inline storage holds the few levels an element
    // nests without allocating for each record, as a vector<bool> did.
    static constexpr char kFirst = 'f', kNotFirst = 'n';
    std::string first_ = std::string(1, kFirst);
    std::string problem_;
};

}  // namespace

ElementRenderer::LayoutHolder::LayoutHolder() : layout_(std::make_unique<KeyLayout>()) {}
ElementRenderer::LayoutHolder::~LayoutHolder() = default;
ElementRenderer::LayoutHolder &ElementRenderer::LayoutHolder::operator=(const LayoutHolder &) {
    layout_ = std::make_unique<KeyLayout>();
    return *this;
}

ElementRenderer::ElementRenderer(const catalog::ElementNode &root, const SettingText &setting_text) : root_(root) {
    resolve(root_, setting_text, needs_message_id_);
    copies_ = ElementCopyPlan::covers(root_);
    if (!splices_members(root_))
        return;
    const std::string none = "{}";
    const JsonObjectView empty = *JsonObjectView::of(none);
    const std::string nobody;
    std::string members;
    KeyLayout layout;
    Render render(empty, {nobody, nobody, nobody}, members, layout);
    render.value(root_);   // "{" + the constant members + "}"
    spliced_members_ = members.substr(1, members.size() - 2);
    splices_ = true;
}

void ElementRenderer::declare_payload_keys(const std::vector<std::string> &keys) {
    never_overrides_ = std::none_of(keys.begin(), keys.end(), [this](const std::string &key) {
        return std::find(root_.keys.begin(), root_.keys.end(), key) != root_.keys.end();
    });
}

bool ElementRenderer::may_override(const std::string &payload, const std::vector<JsonMemberSpan> &members) const {
    KeyLayout &layout = *layout_;
    const auto key_at = [&](const JsonMemberSpan &span) -> std::optional<std::string_view> {
        if (span.key_at + size_t{span.key_size} > payload.size())
            return std::nullopt;
        return std::string_view(payload).substr(span.key_at, span.key_size);   // quotes included
    };
    bool same = !members.empty() && members.size() == layout.written_keys.size();
    for (size_t i = 0; same && i < members.size(); ++i) {
        const std::optional<std::string_view> key = key_at(members[i]);
        same = key && *key == layout.written_keys[i];
    }
    if (same)
        return layout.overrides;
    layout.written_keys.clear();
    layout.overrides = false;
    for (const JsonMemberSpan &span : members) {
        const std::optional<std::string_view> key = key_at(span);
        if (!key) {
            layout.written_keys.clear();
            break;
        }
        layout.written_keys.emplace_back(*key);
        for (const std::string &mark : root_.key_json)   // "key":
            if (mark.size() == key->size() + 1 && std::string_view(mark).substr(0, key->size()) == *key)
                layout.overrides = true;
    }
    if (!layout.written_keys.empty())
        return layout.overrides;
    // Without its members' places: the payload is PayloadBuilder's compact
    // JSON, so a member the element overrides starts with its key and a
    // colon, and not finding that text anywhere (it may turn up inside a
    // value too, which only costs the slow way) means none is overridden.
    // memmem: std::string::find compares at every '"', five times slower here.
    for (const std::string &mark : root_.key_json)
        if (memmem(payload.data(), payload.size(), mark.data(), mark.size()) != nullptr)
            return true;
    return false;
}

bool ElementRenderer::render_spliced(const std::string &payload, const std::vector<JsonMemberSpan> &members,
                                     std::string &out) const {
    if (payload.size() < 2 || payload.front() != '{' || payload.back() != '}' ||
        (!never_overrides_ && may_override(payload, members)))
        return false;
    const bool has_members = payload.find_first_not_of(" \t\n\r", 1) != payload.size() - 1;
    reserve_more(out, payload.size() + 1 + spliced_members_.size());
    out.append(payload, 0, payload.size() - 1);
    if (has_members && !spliced_members_.empty())
        out += ',';
    out += spliced_members_;
    out += '}';
    return true;
}

const ElementCopyPlan *ElementRenderer::copy_plan(const std::string &payload,
                                                  const std::vector<JsonMemberSpan> &members) const {
    for (size_t i = copy_plans_.size(); i-- > 0;) {
        if (!copy_plans_[i].fits(payload, members))
            continue;
        // To the back, the others kept in the order they were last used.
        std::rotate(copy_plans_.begin() + static_cast<std::ptrdiff_t>(i),
                    copy_plans_.begin() + static_cast<std::ptrdiff_t>(i) + 1, copy_plans_.end());
        return &copy_plans_.back();
    }
    std::vector<std::string> key_texts;
    key_texts.reserve(members.size());
    for (const JsonMemberSpan &span : members) {
        if (span.key_size < 2 || span.key_at + size_t{span.key_size} > payload.size())
            return nullptr;
        const std::string_view key = std::string_view(payload).substr(span.key_at, span.key_size);
        if (key.front() != '"' || key.back() != '"' || key.find('\\') != std::string_view::npos)
            return nullptr;
        key_texts.emplace_back(key);
    }
    // Layouts differ by the nulls their payloads leave out: a handful. More
    // than that, the least recently used makes room.
    constexpr size_t kMaxCopyPlans = 16;
    if (copy_plans_.size() == kMaxCopyPlans)
        copy_plans_.erase(copy_plans_.begin());
    copy_plans_.emplace_back(root_, std::move(key_texts));
    return copy_plans_.back().fits(payload, members) ? &copy_plans_.back() : nullptr;
}

bool ElementRenderer::render(const std::string &payload, const std::vector<JsonMemberSpan> &members,
                             const RecordIds &ids, std::string &out, std::string &problem) const {
    if (splices_ && render_spliced(payload, members, out))
        return true;
    if (copies_ && !members.empty()) {
        if (const ElementCopyPlan *plan = copy_plan(payload, members)) {
            reserve_more(out, payload.size() + 64);
            plan->render(payload, members, out);
            problem.clear();
            return true;
        }
    }
    const std::string &record_id = ids.record_id;
    const bool known = !members.empty() && payload_view_.view_known(payload, members);
    if (!known && !payload_view_.view(payload))
        throw Error(sqlstate::kInternalError, "payload of record " + quoted(record_id) + " is not a JSON object");
    const JsonObjectView *parsed = &payload_view_;
    // A record sent as one field's value (Braze's delete ids) cannot be sent without it.
    if (root_.kind == catalog::ElementNode::Kind::Field) {
        const JsonObjectView::Member *value = parsed->member(root_.field);
        if (value == nullptr || json_kind_of(value->value) == JsonKind::Null) {
            problem = "field " + quoted(root_.field) + " has no value, and the destination knows the record by it";
            return false;
        }
    }
    reserve_more(out, payload.size() + 64);   // the element is mostly the payload: grown once, not doubling
    layout_->adopt(parsed->members());
    Render render(*parsed, ids, out, *layout_);
    render.value(root_);
    problem = render.problem();
    return problem.empty();
}

std::string message_uuid(const std::string &message_id) {
    const std::string hex = http::sha256_hex(message_id);
    // The version nibble says "name-based" (5, as with SHA-1 names) and the
    // variant bits say RFC 4122, so tools that check UUID syntax accept it.
    std::string uuid = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-5" + hex.substr(13, 3) + "-";
    static constexpr char kVariant[] = "89ab";
    uuid += kVariant[(hex[16] >= 'a' ? hex[16] - 'a' + 10 : hex[16] - '0') & 3];
    uuid += hex.substr(17, 3) + "-" + hex.substr(20, 12);
    return uuid;
}

}  // namespace reverse_etl::destinations
