#include "destinations/element_copy_plan.hpp"

#include <algorithm>

namespace reverse_etl::destinations {

namespace {

using catalog::ElementNode;

bool listed(const std::vector<std::string> &names, std::string_view key) {
    return std::find(names.begin(), names.end(), key) != names.end();
}

std::string_view unquoted(const std::string &key_text) {
    return std::string_view(key_text).substr(1, key_text.size() - 2);
}

// Whether the member's value follows its key with only the colon between,
// as in compact text.
bool is_compact(const JsonMemberSpan &span) {
    return span.value_at == span.key_at + span.key_size + 1;
}

}  // namespace

bool ElementCopyPlan::covers(const ElementNode &root) {
    const auto copyable = [](const ElementNode &node, const auto &self) -> bool {
        switch (node.kind) {
        case ElementNode::Kind::Literal: return true;
        case ElementNode::Kind::Field: return node.format == ElementNode::Format::AsIs;
        case ElementNode::Kind::Fields: return !node.spread;
        case ElementNode::Kind::Object:
            return std::all_of(node.merge.begin(), node.merge.end(),
                               [](const ElementNode &merged) { return merged.kind == ElementNode::Kind::Fields; }) &&
                   std::all_of(node.values.begin(), node.values.end(),
                               [&self](const ElementNode &value) { return self(value, self); });
        default: return false;   // texts of the record's ids, arrays: ElementRenderer's walk
        }
    };
    // A record sent as one field's value is refused without it
    // (ElementRenderer::render): not a copy.
    return (root.kind == ElementNode::Kind::Object || root.kind == ElementNode::Kind::Fields) &&
           copyable(root, copyable);
}

ElementCopyPlan::ElementCopyPlan(const ElementNode &root, std::vector<std::string> key_texts)
    : key_texts_(std::move(key_texts)) {
    plan_value(root);
    tail_ = std::move(pending_);
}

bool ElementCopyPlan::fits(std::string_view payload, const std::vector<JsonMemberSpan> &spans) const {
    if (spans.size() != key_texts_.size())
        return false;
    for (size_t i = 0; i < spans.size(); ++i) {
        const JsonMemberSpan &span = spans[i];
        if (span.key_at + size_t{span.key_size} > payload.size() || span.value_size == 0 ||
            span.value_at + size_t{span.value_size} > payload.size() ||
            payload.substr(span.key_at, span.key_size) != key_texts_[i])
            return false;
    }
    return true;
}

void ElementCopyPlan::render(std::string_view payload, const std::vector<JsonMemberSpan> &spans,
                             std::string &out) const {
    for (const Step &step : steps_) {
        out += step.text;
        if (step.value_only) {
            out.append(payload.substr(spans[step.first].value_at, spans[step.first].value_size));
            continue;
        }
        // Members one after another in compact text (PayloadBuilder's) are
        // one run of it with their commas: appended at once.
        uint32_t at = step.first;
        while (at <= step.last) {
            uint32_t end = at;
            while (is_compact(spans[end]) && end < step.last && is_compact(spans[end + 1]) &&
                   spans[end + 1].key_at == spans[end].value_at + spans[end].value_size + 1)
                ++end;
            if (at != step.first)
                out += ',';
            if (is_compact(spans[at]) && is_compact(spans[end])) {
                out.append(payload.substr(spans[at].key_at,
                                          spans[end].value_at + spans[end].value_size - spans[at].key_at));
            } else {   // one member, written "key":value
                out.append(payload.substr(spans[at].key_at, spans[at].key_size));
                out += ':';
                out.append(payload.substr(spans[at].value_at, spans[at].value_size));
            }
            at = end + 1;
        }
    }
    out += tail_;
}

// What ElementRenderer's walk (Render in element_renderer.cpp) writes,
// decided for the layout's keys: a field the payload has not got is left
// out, key and all; a merge writes the members it does not leave out.
bool ElementCopyPlan::plan_value(const ElementNode &node) {
    switch (node.kind) {
    case ElementNode::Kind::Literal: pending_ += node.json; return true;
    case ElementNode::Kind::Field: {
        const std::optional<uint32_t> index = member_named(node.field);
        if (!index)
            return false;
        steps_.push_back(Step{std::move(pending_), *index, *index, true});
        pending_.clear();
        return true;
    }
    case ElementNode::Kind::Fields: {
        pending_ += '{';
        bool first = true;
        plan_members(node.except, {}, first);
        pending_ += '}';
        return true;
    }
    case ElementNode::Kind::Object: plan_object(node); return true;
    default: return false;   // not covered
    }
}

void ElementCopyPlan::plan_object(const ElementNode &node) {
    pending_ += '{';
    bool first = true;
    for (const ElementNode &merged : node.merge)
        plan_members(merged.except, node.keys, first);
    for (size_t i = 0; i < node.keys.size(); ++i) {
        // Whether the value is there is known from the layout: planned
        // into copies of their own, then kept or dropped whole.
        std::string saved_pending = pending_;
        const size_t saved_steps = steps_.size();
        if (!first)
            pending_ += ',';
        pending_ += node.key_json[i];
        if (plan_value(node.values[i])) {
            first = false;
            continue;
        }
        steps_.resize(saved_steps);
        pending_ = std::move(saved_pending);
    }
    pending_ += '}';
}

void ElementCopyPlan::plan_members(const std::vector<std::string> &except, const std::vector<std::string> &overridden,
                                   bool &first) {
    const auto kept = [&](size_t i) {
        const std::string_view key = unquoted(key_texts_[i]);
        return !listed(except, key) && !listed(overridden, key);
    };
    for (size_t i = 0; i < key_texts_.size();) {
        if (!kept(i)) {
            ++i;
            continue;
        }
        size_t last = i;
        while (last + 1 < key_texts_.size() && kept(last + 1))
            ++last;
        if (!first)
            pending_ += ',';
        first = false;
        steps_.push_back(Step{std::move(pending_), static_cast<uint32_t>(i), static_cast<uint32_t>(last), false});
        pending_.clear();
        i = last + 1;
    }
}

std::optional<uint32_t> ElementCopyPlan::member_named(const std::string &key) const {
    for (size_t i = key_texts_.size(); i-- > 0;)
        if (unquoted(key_texts_[i]) == key)
            return static_cast<uint32_t>(i);
    return std::nullopt;
}

}  // namespace reverse_etl::destinations
