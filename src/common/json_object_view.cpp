#include "common/json_object_view.hpp"

#include <algorithm>

namespace reverse_etl {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Lookup tables for the scanning loops, one load a character: the characters
// that end a run inside a string, and inside a bracketed value.
struct CharClass {
    bool in_string[256] = {};
    bool structural[256] = {};
    constexpr CharClass() {
        in_string[static_cast<unsigned char>('"')] = in_string[static_cast<unsigned char>('\\')] = true;
        for (const char c : {'"', '{', '}', '[', ']'})
            structural[static_cast<unsigned char>(c)] = true;
    }
};
constexpr CharClass kChars;

bool ends_string_run(char c) { return kChars.in_string[static_cast<unsigned char>(c)]; }
bool is_structural(char c) { return kChars.structural[static_cast<unsigned char>(c)]; }

class Scanner {
  public:
    explicit Scanner(std::string_view text) : text_(text) {}

    void skip_space() {
        while (at_ < text_.size() && is_space(text_[at_]))
            ++at_;
    }

    bool take(char expected) {
        if (at_ >= text_.size() || text_[at_] != expected)
            return false;
        ++at_;
        return true;
    }

    bool at_end() const { return at_ == text_.size(); }

    // A string from its opening quote; true when it is closed.
    bool skip_string() {
        if (!take('"'))
            return false;
        // A plain loop: find_first_of calls memchr for every character.
        while (at_ < text_.size()) {
            while (at_ < text_.size() && !ends_string_run(text_[at_]))
                ++at_;
            if (at_ >= text_.size())
                break;
            if (text_[at_] == '"') {
                ++at_;
                return true;
            }
            at_ += 2;   // a backslash and the character it escapes
        }
        return false;
    }

    // One value: a string, a bracketed object or array (with whatever nests in
    // it), or the run of characters a number or literal is made of.
    bool skip_value() {
        if (at_ >= text_.size())
            return false;
        const char first = text_[at_];
        if (first == '"')
            return skip_string();
        if (first == '{' || first == '[')
            return skip_nested();
        const size_t start = at_;
        while (at_ < text_.size() && !is_space(text_[at_]) && text_[at_] != ',' && text_[at_] != '}' &&
               text_[at_] != ']' && text_[at_] != ':')
            ++at_;
        return at_ > start;
    }

    size_t at() const { return at_; }
    std::string_view slice(size_t from) const { return text_.substr(from, at_ - from); }

  private:
    // Brackets are matched, not merely counted; the closers wait in a string,
    // which holds a nesting of 15 without allocating.
    bool skip_nested() {
        std::string closers;
        do {
            const char c = text_[at_];
            if (c == '"') {
                if (!skip_string())
                    return false;
            } else {
                if (c == '{' || c == '[') {
                    closers.push_back(c == '{' ? '}' : ']');
                } else if (c == '}' || c == ']') {
                    if (closers.empty() || closers.back() != c)
                        return false;
                    closers.pop_back();
                }
                ++at_;
            }
            while (!closers.empty() && at_ < text_.size() && !is_structural(text_[at_]))
                ++at_;
        } while (!closers.empty() && at_ < text_.size());
        return closers.empty();
    }

    std::string_view text_;
    size_t at_ = 0;
};

}  // namespace

std::optional<JsonObjectView> JsonObjectView::of(std::string_view text) {
    std::optional<JsonObjectView> view(std::in_place);
    if (!view->view(text))
        return std::nullopt;
    return view;
}

bool JsonObjectView::view(std::string_view text) {
    members_.clear();
    unescaped_keys_.clear();
    if (!scan_members(text)) {
        members_.clear();
        unescaped_keys_.clear();
        return false;
    }
    return true;
}

bool JsonObjectView::view_known(std::string_view text, const std::vector<JsonMemberSpan> &spans) {
    members_.clear();
    unescaped_keys_.clear();
    for (const JsonMemberSpan &span : spans) {
        const bool inside = span.key_size >= 2 && span.key_at + size_t{span.key_size} <= text.size() &&
                            span.value_size >= 1 && span.value_at + size_t{span.value_size} <= text.size();
        if (!inside) {
            members_.clear();
            return false;
        }
        Member member;
        member.key_json = text.substr(span.key_at, span.key_size);
        member.key = member.key_json.substr(1, member.key_json.size() - 2);
        member.value = text.substr(span.value_at, span.value_size);
        if (member.key_json.front() != '"' || member.key_json.back() != '"' ||
            member.key.find('\\') != std::string_view::npos) {
            members_.clear();
            return false;
        }
        members_.push_back(member);
    }
    return true;
}

bool JsonObjectView::scan_members(std::string_view text) {
    members_.reserve(16);   // a payload's fields, mostly without growing
    Scanner scan(text);
    scan.skip_space();
    if (!scan.take('{'))
        return false;
    scan.skip_space();
    if (!scan.take('}')) {
        for (;;) {
            scan.skip_space();
            const size_t key_start = scan.at();
            if (!scan.skip_string())
                return false;
            Member member;
            member.key_json = scan.slice(key_start);
            const std::string_view inner = member.key_json.substr(1, member.key_json.size() - 2);
            if (inner.find('\\') == std::string_view::npos) {
                member.key = inner;
            } else {
                std::optional<std::string> unescaped = json_string_content(member.key_json);
                if (!unescaped)
                    return false;
                member.key = unescaped_keys_.emplace_front(std::move(*unescaped));
            }
            scan.skip_space();
            if (!scan.take(':'))
                return false;
            scan.skip_space();
            const size_t value_start = scan.at();
            if (!scan.skip_value())
                return false;
            member.value = scan.slice(value_start);
            members_.push_back(member);
            scan.skip_space();
            if (scan.take('}'))
                break;
            if (!scan.take(','))
                return false;
        }
    }
    scan.skip_space();
    return scan.at_end();
}

const JsonObjectView::Member *JsonObjectView::member(std::string_view key) const noexcept {
    const auto found = std::find_if(members_.rbegin(), members_.rend(),
                                    [&](const Member &member) { return member.key == key; });
    return found == members_.rend() ? nullptr : &*found;
}

std::optional<std::string> json_string_content(std::string_view value) {
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        const std::string_view inner = value.substr(1, value.size() - 2);
        if (inner.find('\\') == std::string_view::npos && inner.find('"') == std::string_view::npos)
            return std::string(inner);
    }
    const std::optional<JsonValue> parsed = try_parse_json_text(value);
    if (!parsed || parsed->kind() != JsonKind::String)
        return std::nullopt;
    return parsed->string_value();
}

}  // namespace reverse_etl
