#include "common/json_text.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <utility>

#include "common/error.hpp"

namespace reverse_etl {

namespace {

// invalid_text_representation: what PostgreSQL raises for bad json input.
constexpr const char *kInvalidTextRepresentation = "22P02";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// End of the JSON number starting at `begin`, or npos when the text there is
// not one (RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?).
std::size_t scan_number(std::string_view text, std::size_t begin) {
    std::size_t pos = begin;
    const auto digits = [&text, &pos] {
        const std::size_t first = pos;
        while (pos < text.size() && is_digit(text[pos]))
            ++pos;
        return pos > first;
    };
    if (pos < text.size() && text[pos] == '-')
        ++pos;
    if (pos < text.size() && text[pos] == '0')
        ++pos;
    else if (!digits())
        return std::string_view::npos;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        if (!digits())
            return std::string_view::npos;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
        ++pos;
        if (pos < text.size() && (text[pos] == '+' || text[pos] == '-'))
            ++pos;
        if (!digits())
            return std::string_view::npos;
    }
    return pos;
}

// Length of the well-formed UTF-8 sequence at `p` (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 when the bytes there are not one.
std::size_t utf8_sequence_length(const unsigned char *p, std::size_t available) {
    const unsigned char lead = p[0];
    if (lead < 0x80)
        return 1;
    std::size_t length = 0;
    unsigned char second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0)
            second_min = 0xA0;
        else if (lead == 0xED)
            second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0)
            second_min = 0x90;
        else if (lead == 0xF4)
            second_max = 0x8F;
    } else {
        return 0;
    }
    if (available < length || p[1] < second_min || p[1] > second_max)
        return 0;
    for (std::size_t i = 2; i < length; ++i)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return length;
}

}  // namespace

void append_utf8(std::string &out, std::uint32_t code) {
    if (code < 0x80) {
        out += static_cast<char>(code);
    } else if (code < 0x800) {
        out += static_cast<char>(0xC0 | (code >> 6));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        out += static_cast<char>(0xE0 | (code >> 12));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (code >> 18));
        out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (code & 0x3F));
    }
}

namespace {

void append_control_escape(std::string &out, unsigned char c) {
    switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    out += "\\u00";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
}

// "a", "\x01": a byte shown in a parse error.
std::string shown_byte(unsigned char c) {
    if (c >= 0x20 && c < 0x7F)
        return std::string("'") + static_cast<char>(c) + "'";
    static constexpr char kHex[] = "0123456789ABCDEF";
    return std::string("byte 0x") + kHex[c >> 4] + kHex[c & 0xF];
}

// "0", "12": an array index as PostgreSQL's #> takes it; nullopt otherwise.
std::optional<std::size_t> array_index(const std::string &segment) {
    constexpr std::size_t kMaxDigits = 18;   // no overflow in size_t
    if (segment.empty() || segment.size() > kMaxDigits || (segment[0] == '0' && segment.size() > 1))
        return std::nullopt;
    std::size_t index = 0;
    for (const char c : segment) {
        if (!is_digit(c))
            return std::nullopt;
        index = index * 10 + static_cast<std::size_t>(c - '0');
    }
    return index;
}

// The bytes a string's plain runs are made of (printable ASCII but the quote
// and the backslash): one lookup a byte, where most of an answer's text is.
constexpr std::array<bool, 256> kPlainStringByte = [] {
    std::array<bool, 256> plain{};
    for (int c = 0x20; c < 0x80; ++c)
        plain[c] = c != '"' && c != '\\';
    return plain;
}();

// Recursive descent over the input, without exceptions: failing is an expected
// outcome for text columns, and the first failure ends the parse. Each parse_*
// builds into `out`, or only checks the text when `out` is null; locate() walks
// a path the same way, so both share one grammar.
class Parser {
  public:
    explicit Parser(std::string_view text) : text_(text) {}

    bool parse(JsonValue *out) {
        skip_whitespace();
        return parse_value(out, 0) && at_end();
    }

    // Checks the whole text; `found` gets the text of the value at `path`.
    bool locate(const std::vector<std::string> &path, std::optional<std::string_view> &found) {
        skip_whitespace();
        return locate(path, 0, 0, found) && at_end();
    }

    // locate(), and where `path` leads to an array, its elements and their
    // members named in `keys` into `match`.
    bool locate_array(const std::vector<std::string> &path, const std::vector<std::string_view> &keys,
                      JsonArrayMatch &match) {
        keys_ = &keys;
        array_ = &match;
        std::optional<std::string_view> found;
        return locate(path, found);
    }

    const JsonParseError &error() const { return error_; }

  private:
    // At the '[' of the array locate_array() looks for, at `depth`.
    bool collect_elements(int depth) {
        if (!check_depth(depth + 1))
            return false;
        array_->found = true;
        array_->elements.clear();
        array_->members.clear();
        const std::size_t width = keys_->size();
        return for_each_element([&](std::size_t) {
            const std::size_t start = pos_;
            const std::size_t row = array_->members.size();
            array_->members.resize(row + width);
            bool checked;
            if (at('{')) {
                checked = check_depth(depth + 2) && for_each_member([&](std::string_view key) {
                    const std::size_t value_start = pos_;
                    if (!parse_value(nullptr, depth + 2))
                        return false;
                    for (std::size_t k = 0; k < width; ++k)
                        if ((*keys_)[k] == key)
                            array_->members[row + k] = text_.substr(value_start, pos_ - value_start);
                    return true;
                });
            } else {
                checked = parse_value(nullptr, depth + 1);
            }
            if (checked)
                array_->elements.push_back(text_.substr(start, pos_ - start));
            return checked;
        });
    }

    bool fail(std::string message) {
        error_ = {pos_, std::move(message)};
        return false;
    }
    bool fail_here() {
        return fail(pos_ < text_.size() ? "unexpected " + shown_byte(byte())
                                        : std::string("unexpected end of input"));
    }
    bool fail_expected(const char *what) {
        if (pos_ >= text_.size())
            return fail_here();
        return fail(std::string("expected ") + what + " instead of " + shown_byte(byte()));
    }

    unsigned char byte() const { return static_cast<unsigned char>(text_[pos_]); }
    bool at(char c) const { return pos_ < text_.size() && text_[pos_] == c; }

    bool at_end() {
        skip_whitespace();
        return pos_ >= text_.size() || fail("unexpected " + shown_byte(byte()) + " after the JSON value");
    }

    void skip_whitespace() {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
            ++pos_;
    }

    bool check_depth(int depth) {
        if (depth <= kMaxJsonDepth)
            return true;
        return fail("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }

    bool parse_value(JsonValue *out, int depth) {
        if (pos_ >= text_.size())
            return fail_here();
        switch (text_[pos_]) {
        case '{': return parse_object(out, depth + 1);
        case '[': return parse_array(out, depth + 1);
        case '"': {
            if (!out)
                return parse_string(nullptr);
            std::string text;
            if (!parse_string(&text))
                return false;
            *out = JsonValue::string(std::move(text));
            return true;
        }
        case 't': return parse_literal("true", out, [] { return JsonValue::boolean(true); });
        case 'f': return parse_literal("false", out, [] { return JsonValue::boolean(false); });
        case 'n': return parse_literal("null", out, [] { return JsonValue(); });
        default: return parse_number(out);
        }
    }

    template <typename Make>
    bool parse_literal(std::string_view word, JsonValue *out, Make make) {
        if (text_.compare(pos_, word.size(), word) != 0)
            return fail_here();
        pos_ += word.size();
        if (out)
            *out = make();
        return true;
    }

    bool parse_number(JsonValue *out) {
        const std::size_t end = scan_number(text_, pos_);
        if (end == std::string_view::npos)
            return fail_here();
        if (out)
            *out = JsonValue::number(std::string(text_.substr(pos_, end - pos_)));
        pos_ = end;
        return true;
    }

    bool parse_array(JsonValue *out, int depth) {
        if (!check_depth(depth))
            return false;
        if (out)
            *out = JsonValue::array();
        return for_each_element([this, out, depth](std::size_t) {
            if (!out)
                return parse_value(nullptr, depth);
            JsonValue element;
            if (!parse_value(&element, depth))
                return false;
            out->push_back(std::move(element));
            return true;
        });
    }

    bool parse_object(JsonValue *out, int depth) {
        if (!check_depth(depth))
            return false;
        if (out)
            *out = JsonValue::object();
        return for_each_member([this, out, depth](std::string_view key) {
            if (!out)
                return parse_value(nullptr, depth);
            std::string name(key);   // before the value: its own keys may reuse key's storage
            JsonValue value;
            if (!parse_value(&value, depth))
                return false;
            out->add_member(std::move(name), std::move(value));
            return true;
        });
    }

    // At '['. Calls on_element(index) at the start of each element; it must
    // consume the element and return false on failure.
    template <typename OnElement>
    bool for_each_element(OnElement &&on_element) {
        ++pos_;
        skip_whitespace();
        if (at(']')) {
            ++pos_;
            return true;
        }
        for (std::size_t index = 0;; ++index) {
            skip_whitespace();
            if (!on_element(index))
                return false;
            skip_whitespace();
            if (at(']')) {
                ++pos_;
                return true;
            }
            if (!at(','))
                return fail_expected("',' or ']'");
            ++pos_;
        }
    }

    // At '{'. Calls on_member(key) at the start of each member's value; the
    // key is valid until the value is parsed.
    template <typename OnMember>
    bool for_each_member(OnMember &&on_member) {
        ++pos_;
        skip_whitespace();
        if (at('}')) {
            ++pos_;
            return true;
        }
        std::string unescaped;   // a key's, when it has escapes
        while (true) {
            skip_whitespace();
            if (!at('"'))
                return fail_expected("a string key");
            std::string_view key;
            if (!parse_key(key, unescaped))
                return false;
            skip_whitespace();
            if (!at(':'))
                return fail_expected("':'");
            ++pos_;
            skip_whitespace();
            if (!on_member(key))
                return false;
            skip_whitespace();
            if (at('}')) {
                ++pos_;
                return true;
            }
            if (!at(','))
                return fail_expected("',' or '}'");
            ++pos_;
        }
    }

    // At a value. Checks all of it; where path[step...] leads somewhere, `found`
    // gets that value's text.
    bool locate(const std::vector<std::string> &path, std::size_t step, int depth,
                std::optional<std::string_view> &found) {
        if (step == path.size()) {
            const std::size_t start = pos_;
            if (array_ && at('[') ? !collect_elements(depth) : !parse_value(nullptr, depth))
                return false;
            found = text_.substr(start, pos_ - start);
            return true;
        }
        if (!at('{') && !at('['))
            return parse_value(nullptr, depth);   // a scalar has no properties: missing
        if (!check_depth(depth + 1))
            return false;
        // The step's value is followed as the container is checked, in the
        // same pass: checking first and then going back into it read a
        // vendor's list of results twice. With duplicate keys the last one
        // counts, as in PostgreSQL: each occurrence starts afresh.
        const auto follow = [&] {
            found.reset();
            if (array_)
                *array_ = JsonArrayMatch{};
            return locate(path, step + 1, depth + 1, found);
        };
        const auto member = [&](std::string_view key) {
            return key == path[step] ? follow() : parse_value(nullptr, depth + 1);
        };
        const std::optional<std::size_t> wanted_index = array_index(path[step]);
        const auto element = [&](std::size_t index) {
            return wanted_index == index ? follow() : parse_value(nullptr, depth + 1);
        };
        return at('{') ? for_each_member(member) : for_each_element(element);
    }

    // At a key's opening quote. A key of plain ASCII (nearly every key) is
    // the text itself: a string built for each key of a vendor's answer of
    // per-record results was a third of the time spent reading it.
    bool parse_key(std::string_view &key, std::string &unescaped) {
        const auto *const bytes = reinterpret_cast<const unsigned char *>(text_.data());
        std::size_t end = pos_ + 1;
        while (end < text_.size() && kPlainStringByte[bytes[end]])
            ++end;
        if (end < text_.size() && bytes[end] == '"') {
            key = text_.substr(pos_ + 1, end - pos_ - 1);
            pos_ = end + 1;
            return true;
        }
        unescaped.clear();
        if (!parse_string(&unescaped))
            return false;
        key = unescaped;
        return true;
    }

    // At the opening quote. Copies runs of plain ASCII in one go; with a null
    // `out` only checks the string.
    bool parse_string(std::string *out) {
        ++pos_;
        const auto *const bytes = reinterpret_cast<const unsigned char *>(text_.data());
        while (true) {
            const std::size_t run = pos_;
            while (pos_ < text_.size() && kPlainStringByte[bytes[pos_]])
                ++pos_;
            if (out)
                out->append(text_.data() + run, pos_ - run);
            if (pos_ >= text_.size())
                return fail("unterminated string");
            const unsigned char c = byte();
            if (c == '"') {
                ++pos_;
                return true;
            }
            if (c == '\\') {
                if (!parse_escape(out))
                    return false;
                continue;
            }
            if (c < 0x20)
                return fail("control character " + shown_byte(c) + " in a string must be escaped");
            const std::size_t length = utf8_sequence_length(
                reinterpret_cast<const unsigned char *>(text_.data()) + pos_, text_.size() - pos_);
            if (length == 0)
                return fail("invalid UTF-8");
            if (out)
                out->append(text_.data() + pos_, length);
            pos_ += length;
        }
    }

    bool parse_escape(std::string *out) {
        ++pos_;
        if (pos_ >= text_.size())
            return fail("unterminated string");
        const char c = text_[pos_++];
        char decoded = 0;
        switch (c) {
        case '"': decoded = '"'; break;
        case '\\': decoded = '\\'; break;
        case '/': decoded = '/'; break;
        case 'b': decoded = '\b'; break;
        case 'f': decoded = '\f'; break;
        case 'n': decoded = '\n'; break;
        case 'r': decoded = '\r'; break;
        case 't': decoded = '\t'; break;
        case 'u': return parse_unicode_escape(out);
        default:
            --pos_;
            return fail("invalid escape \\" + std::string(1, c));
        }
        if (out)
            *out += decoded;
        return true;
    }

    // After "\u". A high surrogate must be followed by "\u" and a low one.
    bool parse_unicode_escape(std::string *out) {
        const std::size_t start = pos_ - 2;
        std::uint32_t code = 0;
        if (!parse_hex4(code))
            return false;
        if (code >= 0xDC00 && code <= 0xDFFF) {
            pos_ = start;
            return fail("unpaired UTF-16 surrogate escape");
        }
        if (code >= 0xD800 && code <= 0xDBFF) {
            std::uint32_t low = 0;
            if (text_.compare(pos_, 2, "\\u") != 0 || (pos_ += 2, !parse_hex4(low)) || low < 0xDC00 ||
                low > 0xDFFF) {
                pos_ = start;
                return fail("unpaired UTF-16 surrogate escape");
            }
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        }
        if (out)
            append_utf8(*out, code);
        return true;
    }

    bool parse_hex4(std::uint32_t &code) {
        if (text_.size() - pos_ < 4)
            return fail("invalid \\u escape");
        for (int i = 0; i < 4; ++i) {
            const char c = text_[pos_ + i];
            std::uint32_t digit = 0;
            if (is_digit(c))
                digit = c - '0';
            else if (c >= 'a' && c <= 'f')
                digit = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                digit = c - 'A' + 10;
            else
                return fail("invalid \\u escape");
            code = code * 16 + digit;
        }
        pos_ += 4;
        return true;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
    JsonParseError error_;
    const std::vector<std::string_view> *keys_ = nullptr;   // locate_array()'s
    JsonArrayMatch *array_ = nullptr;
};

std::string real_text(double value) {
    // std::to_chars gives the shortest text that round-trips, independent of locale.
    char buffer[32];
    const std::to_chars_result result = std::to_chars(buffer, buffer + sizeof buffer, value);
    std::string text(buffer, result.ptr);
    // Keep a real looking like one, as jansson prints it (1.0, not 1).
    if (text.find_first_of(".e") == std::string::npos)
        text += ".0";
    return text;
}

}  // namespace

// ---------------------------------------------------------------------------
// JsonValue

JsonValue JsonValue::boolean(bool value) {
    JsonValue result;
    result.kind_ = JsonKind::Boolean;
    result.boolean_ = value;
    return result;
}

JsonValue JsonValue::number(std::string text) {
    if (text.empty() || scan_number(text, 0) != text.size())
        throw Error(sqlstate::kInternalError, "\"" + text + "\" is not a JSON number");
    JsonValue result;
    result.kind_ = JsonKind::Number;
    result.text_ = std::move(text);
    return result;
}

JsonValue JsonValue::string(std::string utf8) {
    JsonValue result;
    result.kind_ = JsonKind::String;
    result.text_ = std::move(utf8);
    return result;
}

JsonValue JsonValue::array(std::vector<JsonValue> elements) {
    JsonValue result;
    result.kind_ = JsonKind::Array;
    result.elements_ = std::move(elements);
    return result;
}

JsonValue JsonValue::object(std::vector<JsonMember> members) {
    JsonValue result;
    result.kind_ = JsonKind::Object;
    result.members_ = std::move(members);
    return result;
}

const JsonValue *JsonValue::member(std::string_view key) const noexcept {
    for (auto it = members_.rbegin(); it != members_.rend(); ++it)
        if (it->key == key)
            return &it->value;
    return nullptr;
}

void JsonValue::push_back(JsonValue element) { elements_.push_back(std::move(element)); }

void JsonValue::add_member(std::string key, JsonValue value) {
    members_.push_back({std::move(key), std::move(value)});
}

JsonKind json_kind_of(std::string_view text) noexcept {
    switch (text.empty() ? 'n' : text.front()) {
    case '{': return JsonKind::Object;
    case '[': return JsonKind::Array;
    case '"': return JsonKind::String;
    case 't':
    case 'f': return JsonKind::Boolean;
    case 'n': return JsonKind::Null;
    default: return JsonKind::Number;
    }
}

const char *json_kind_phrase(JsonKind kind) noexcept {
    switch (kind) {
    case JsonKind::Null: return "null";
    case JsonKind::Boolean: return "a boolean";
    case JsonKind::Number: return "a number";
    case JsonKind::String: return "a string";
    case JsonKind::Array: return "an array";
    case JsonKind::Object: return "an object";
    }
    return "a value";
}

// ---------------------------------------------------------------------------
// Parsing

std::optional<JsonValue> try_parse_json_text(std::string_view text, JsonParseError *error) {
    Parser parser(text);
    JsonValue value;
    if (parser.parse(&value))
        return value;
    if (error)
        *error = parser.error();
    return std::nullopt;
}

bool is_json_text(std::string_view text, JsonParseError *error) {
    Parser parser(text);
    if (parser.parse(nullptr))
        return true;
    if (error)
        *error = parser.error();
    return false;
}

JsonTextMatch find_path_in_text(std::string_view text, const std::vector<std::string> &path,
                                JsonParseError *error) {
    Parser parser(text);
    JsonTextMatch match;
    match.valid = parser.locate(path, match.value);
    if (!match.valid) {
        match.value.reset();
        if (error)
            *error = parser.error();
    }
    return match;
}

JsonArrayMatch find_array_in_text(std::string_view text, const std::vector<std::string> &path,
                                  const std::vector<std::string_view> &keys) {
    Parser parser(text);
    JsonArrayMatch match;
    match.valid = parser.locate_array(path, keys, match);
    if (!match.valid || !match.found)
        match = JsonArrayMatch{match.valid, false, {}, {}};
    return match;
}

JsonValue parse_json_text(std::string_view text) {
    JsonParseError error;
    std::optional<JsonValue> value = try_parse_json_text(text, &error);
    if (!value)
        throw Error(kInvalidTextRepresentation, "invalid JSON: " + error.message + " at byte " +
                                                    std::to_string(error.offset));
    return std::move(*value);
}

// ---------------------------------------------------------------------------
// Serializing

void append_json_escaped(std::string &out, std::string_view utf8) {
    const auto *const bytes = reinterpret_cast<const unsigned char *>(utf8.data());
    const std::size_t size = utf8.size();
    std::size_t run = 0;   // start of the bytes not yet copied
    std::size_t pos = 0;
    while (pos < size) {
        const unsigned char c = bytes[pos];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            ++pos;
            continue;
        }
        if (c >= 0x80) {
            const std::size_t length = utf8_sequence_length(bytes + pos, size - pos);
            if (length > 0) {
                pos += length;
                continue;
            }
        }
        out.append(utf8.data() + run, pos - run);
        if (c >= 0x80)
            out += "\xEF\xBF\xBD";   // U+FFFD for a byte that is not UTF-8
        else
            append_control_escape(out, c);
        run = ++pos;
    }
    out.append(utf8.data() + run, size - run);
}

void append_json_string(std::string &out, std::string_view utf8) {
    out += '"';
    append_json_escaped(out, utf8);
    out += '"';
}

void append_json(std::string &out, const JsonValue &value) {
    switch (value.kind()) {
    case JsonKind::Null: out += "null"; return;
    case JsonKind::Boolean: out += value.boolean_value() ? "true" : "false"; return;
    case JsonKind::Number: out += value.number_text(); return;
    case JsonKind::String: append_json_string(out, value.string_value()); return;
    case JsonKind::Array: {
        out += '[';
        bool first = true;
        for (const JsonValue &element : value.elements()) {
            if (!first)
                out += ',';
            first = false;
            append_json(out, element);
        }
        out += ']';
        return;
    }
    case JsonKind::Object: {
        out += '{';
        bool first = true;
        for (const JsonMember &member : value.members()) {
            if (!first)
                out += ',';
            first = false;
            append_json_string(out, member.key);
            out += ':';
            append_json(out, member.value);
        }
        out += '}';
        return;
    }
    }
}

std::string to_json_text(const JsonValue &value) {
    std::string text;
    append_json(text, value);
    return text;
}

// ---------------------------------------------------------------------------
// Lookup and conversion

const JsonValue *find_path(const JsonValue &value, const std::vector<std::string> &path) {
    const JsonValue *current = &value;
    for (const std::string &segment : path) {
        if (current->kind() == JsonKind::Object) {
            current = current->member(segment);
        } else if (current->kind() == JsonKind::Array) {
            const std::optional<std::size_t> index = array_index(segment);
            const std::vector<JsonValue> &elements = current->elements();
            current = index && *index < elements.size() ? &elements[*index] : nullptr;
        } else {
            current = nullptr;
        }
        if (!current)
            return nullptr;
    }
    return current;
}

JsonValue json_value_from_jansson(const json_t *value) {
    switch (json_typeof(value)) {
    case JSON_NULL: return JsonValue();
    case JSON_TRUE: return JsonValue::boolean(true);
    case JSON_FALSE: return JsonValue::boolean(false);
    case JSON_INTEGER: return JsonValue::number(std::to_string(json_integer_value(value)));
    case JSON_REAL: return JsonValue::number(real_text(json_real_value(value)));
    case JSON_STRING:
        return JsonValue::string(std::string(json_string_value(value), json_string_length(value)));
    case JSON_ARRAY: {
        JsonValue array = JsonValue::array();
        for (std::size_t i = 0; i < json_array_size(value); ++i)
            array.push_back(json_value_from_jansson(json_array_get(value, i)));
        return array;
    }
    case JSON_OBJECT: {
        JsonValue object = JsonValue::object();
        // jansson's iteration takes a non-const object although it does not change it.
        json_t *iterable = const_cast<json_t *>(value);
        const char *key = nullptr;
        json_t *member = nullptr;
        json_object_foreach(iterable, key, member) {
            object.add_member(key, json_value_from_jansson(member));
        }
        return object;
    }
    }
    return JsonValue();
}

}  // namespace reverse_etl
