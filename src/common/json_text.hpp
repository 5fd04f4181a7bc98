// A small JSON DOM that keeps numbers as the text they were written in.
// PostgreSQL's numeric 49.00 must reach a destination as 49.00 and
// 123456789012345678901234567890 digit for digit; jansson turns both into
// doubles, so payloads are built with this instead. Strings are UTF-8, object
// members keep their order (duplicates included, as the json type allows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <jansson.h>

namespace reverse_etl {

enum class JsonKind { Null, Boolean, Number, String, Array, Object };

struct JsonMember;

class JsonValue {
  public:
    JsonValue() noexcept = default;   // null

    static JsonValue boolean(bool value);
    // `text` must be a JSON number (RFC 8259 grammar); throws Error XX000 otherwise.
    static JsonValue number(std::string text);
    static JsonValue string(std::string utf8);
    static JsonValue array(std::vector<JsonValue> elements = {});
    static JsonValue object(std::vector<JsonMember> members = {});

    JsonKind kind() const noexcept { return kind_; }
    bool is_null() const noexcept { return kind_ == JsonKind::Null; }

    // Each accessor is meaningful for its kind only; for another kind it returns
    // false or an empty value rather than failing.
    bool boolean_value() const noexcept { return boolean_; }
    const std::string &number_text() const noexcept { return text_; }
    const std::string &string_value() const noexcept { return text_; }
    const std::vector<JsonValue> &elements() const noexcept { return elements_; }
    const std::vector<JsonMember> &members() const noexcept { return members_; }

    // An object's member; with duplicate keys the last one counts, as in
    // PostgreSQL's json operators. nullptr when absent or not an object.
    const JsonValue *member(std::string_view key) const noexcept;

    // Building: append to an array / an object (no duplicate check).
    void push_back(JsonValue element);
    void add_member(std::string key, JsonValue value);

  private:
    JsonKind kind_ = JsonKind::Null;
    bool boolean_ = false;
    std::string text_;                   // Number: the digits as written; String: the content
    std::vector<JsonValue> elements_;
    std::vector<JsonMember> members_;
};

struct JsonMember {
    std::string key;
    JsonValue value;
};

// "null", "a boolean", "a number", "a string", "an array", "an object": for messages.
const char *json_kind_phrase(JsonKind kind) noexcept;

// The kind of the JSON value `text` holds, from its first character: `text`
// is valid JSON with no leading whitespace (empty reads as null).
JsonKind json_kind_of(std::string_view text) noexcept;

// Strict RFC 8259 over UTF-8 input: no comments, trailing commas, single quotes,
// NaN or leading zeros; control characters in strings must be escaped; invalid
// UTF-8 and unpaired UTF-16 surrogate escapes (\ud800 alone) are errors, so every
// string in the DOM is valid UTF-8. Nesting deeper than kMaxJsonDepth is an error
// (the parser recurses, and it runs inside a server backend).
inline constexpr int kMaxJsonDepth = 1000;

struct JsonParseError {
    std::size_t offset = 0;   // byte offset in the input where parsing stopped
    std::string message;      // e.g. "unexpected character 'x'"
};

// nullopt on bad input, with the reason in *error when given. For values whose
// JSON-ness is data (text columns that may hold JSON), where failing is normal.
std::optional<JsonValue> try_parse_json_text(std::string_view text, JsonParseError *error = nullptr);

// Throws Error 22P02 (invalid_text_representation) naming the reason and offset.
JsonValue parse_json_text(std::string_view text);

// Checks `text` as strictly as the parser does, without building anything.
bool is_json_text(std::string_view text, JsonParseError *error = nullptr);

struct JsonTextMatch {
    bool valid = false;                       // the whole text is JSON
    std::optional<std::string_view> value;    // the value at the path, as written; nullopt when missing
};

// find_path over JSON text without building a DOM: the found value is a view
// into `text` (numbers and escapes as written, whitespace inside it kept). The
// whole text is still checked, so invalid JSON is never half-read.
JsonTextMatch find_path_in_text(std::string_view text, const std::vector<std::string> &path,
                                JsonParseError *error = nullptr);

struct JsonArrayMatch {
    bool valid = false;   // the whole text is JSON
    bool found = false;   // the path leads to an array
    std::vector<std::string_view> elements;   // each element as written
    // Row-major, one row an element: the value of each key asked for, when
    // the element is an object with that member (the last of duplicates).
    std::vector<std::optional<std::string_view>> members;
};

// find_path_in_text for an array, with its elements and the members `keys`
// of each element found in the same one pass that checks the text: reading
// a vendor's per-record results checked, split and scanned each answer three
// times.
JsonArrayMatch find_array_in_text(std::string_view text, const std::vector<std::string> &path,
                                  const std::vector<std::string_view> &keys);

// Compact JSON: no whitespace, members in order, numbers as stored.
void append_json(std::string &out, const JsonValue &value);
std::string to_json_text(const JsonValue &value);

// `utf8` as a quoted JSON string. Escapes '"', '\\' and control characters
// (\b \f \n \r \t, else \u00XX); keeps valid UTF-8 as is; replaces bytes that are
// not valid UTF-8 with U+FFFD so the output is always valid JSON.
void append_json_string(std::string &out, std::string_view utf8);
// The same without the quotes: for text spliced into a string being built.
void append_json_escaped(std::string &out, std::string_view utf8);

// The value at `path` (object keys; a canonical non-negative integer also indexes
// an array, as PostgreSQL's #> does). The empty path is the value itself; nullptr
// when any step is missing.
const JsonValue *find_path(const JsonValue &value, const std::vector<std::string> &path);

// A jansson value as a JsonValue. jansson holds numbers as long long or double,
// so a real becomes the shortest text that reads back as the same double
// (0.1 -> "0.1", not "0.10000000000000001").
JsonValue json_value_from_jansson(const json_t *value);

// Appends the UTF-8 encoding of a Unicode code point (at most U+10FFFF).
void append_utf8(std::string &out, std::uint32_t code);

}  // namespace reverse_etl
