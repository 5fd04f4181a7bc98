// JSON text: the project's own parser (common/json_text: the DOM, the checker
// and the path lookup over text), the jansson paths around it (common/json),
// and the in-place conversion of payload values to field types
// (catalog/field_conversion). The input is any bytes, as a json or text column
// or a destination's response may hold.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "catalog/field_conversion.hpp"
#include "common/json.hpp"
#include "common/json_object_view.hpp"
#include "common/json_text.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;

namespace {

constexpr catalog::FieldType kFieldTypes[] = {
    catalog::FieldType::String,   catalog::FieldType::Number, catalog::FieldType::Integer,
    catalog::FieldType::Boolean,  catalog::FieldType::Datetime, catalog::FieldType::Object,
    catalog::FieldType::Array,    catalog::FieldType::Any};

// A path to some value inside `value`, chosen by `seed`: object keys, array indexes.
std::vector<std::string> some_path(const JsonValue &value, unsigned seed) {
    std::vector<std::string> path;
    const JsonValue *at = &value;
    for (int depth = 0; depth < 4; ++depth, seed = seed * 31 + 7) {
        if (at->kind() == JsonKind::Object && !at->members().empty()) {
            const JsonMember &member = at->members()[seed % at->members().size()];
            path.push_back(member.key);
            at = at->member(member.key);   // the last member with that key, as lookups do
        } else if (at->kind() == JsonKind::Array && !at->elements().empty()) {
            const size_t index = seed % at->elements().size();
            path.push_back(std::to_string(index));
            at = &at->elements()[index];
        } else {
            break;
        }
    }
    return path;
}

// The shallow view of an object (what the element renderer reads payloads
// with) sees the members the parser sees, each value's text parsing to the
// same value; of any other valid JSON it sees nothing.
void check_object_view(const std::string &text, const JsonValue &value) {
    const std::optional<JsonObjectView> view = JsonObjectView::of(text);
    FUZZ_CHECK(view.has_value() == (value.kind() == JsonKind::Object), "the object view misreads valid JSON");
    if (!view)
        return;
    FUZZ_CHECK(view->members().size() == value.members().size(), "the object view counts other members");
    for (size_t i = 0; i < view->members().size(); ++i) {
        const JsonObjectView::Member &seen = view->members()[i];
        const JsonMember &parsed = value.members()[i];
        FUZZ_CHECK(seen.key == parsed.key, "the object view unescapes a key differently");
        FUZZ_CHECK(json_string_content(seen.key_json) == parsed.key, "a key's text is not the key");
        const std::optional<JsonValue> member_value = try_parse_json_text(seen.value);
        FUZZ_CHECK(member_value && to_json_text(*member_value) == to_json_text(parsed.value),
                   "the object view cuts a value's text wrong");
        size_t last = i;
        for (size_t j = i + 1; j < value.members().size(); ++j)
            if (value.members()[j].key == seen.key)
                last = j;
        FUZZ_CHECK(view->member(seen.key) == &view->members()[last],
                   "the object view's lookup does not find the last member of a key");
    }
}

void check_path_lookup(const std::string &text, const JsonValue &value, unsigned seed) {
    const std::vector<std::string> path = some_path(value, seed);
    const JsonValue *in_dom = find_path(value, path);
    FUZZ_CHECK(in_dom != nullptr, "a path built from the DOM leads nowhere");
    const JsonTextMatch match = find_path_in_text(text, path);
    FUZZ_CHECK(match.valid, "find_path_in_text rejects text the parser accepts");
    FUZZ_CHECK(match.value.has_value(), "find_path_in_text misses a value find_path finds");
    const std::optional<JsonValue> found = try_parse_json_text(*match.value);
    FUZZ_CHECK(found.has_value(), "find_path_in_text returned text that is not JSON");
    FUZZ_CHECK(to_json_text(*found) == to_json_text(*in_dom), "the two path lookups disagree");

    std::vector<std::string> missing = path;
    missing.push_back("\x01no such key");
    const JsonTextMatch none = find_path_in_text(text, missing);
    FUZZ_CHECK(none.valid && !none.value, "a missing key was found");
}

void check_conversions(const std::string &compact) {
    for (const catalog::FieldType type : kFieldTypes) {
        // After a prefix, as payloads hold values after their keys.
        std::string json = "{\"k\":" + compact;
        const std::optional<std::string> problem = catalog::convert_to_field_type(type, json, 5);
        FUZZ_CHECK(json.compare(0, 5, "{\"k\":") == 0, "conversion changed text before its start");
        if (problem) {
            FUZZ_CHECK(json == "{\"k\":" + compact, "a refused conversion changed the value");
        } else {
            FUZZ_CHECK(is_json_text(std::string_view(json).substr(5)),
                       "conversion to " + std::string(catalog::field_type_phrase(type)) +
                           " made invalid JSON: " + json.substr(5));
        }
    }
}

void check_jansson(const std::string &text, const std::optional<JsonValue> &value,
                   const JsonParseError &error) {
    json_error_t jansson_error;
    const JsonPtr loaded(json_loadb(text.data(), text.size(), JSON_DECODE_ANY | JSON_ALLOW_NUL, &jansson_error));
    // jansson stops at a NUL byte, which text from PostgreSQL never holds.
    if (loaded && !value && text.find('\0') == std::string::npos)
        FUZZ_CHECK(error.message.find("nested deeper") != std::string::npos,
                   "jansson accepts JSON the parser rejects: " + error.message);
    if (loaded) {
        // jansson's numbers back as text the parser reads.
        const std::string from_jansson = to_json_text(json_value_from_jansson(loaded.get()));
        FUZZ_CHECK(is_json_text(from_jansson), "json_value_from_jansson made invalid JSON");
        const JsonPtr reread = parse_json(dump_json(loaded.get()), "dump");
        FUZZ_CHECK(reread != nullptr, "jansson cannot read its own output");
    }
    try {
        const JsonPtr shape = parse_json_shape(text, "input");
        FUZZ_CHECK(value.has_value(), "parse_json_shape accepted what the parser rejects");
        // jansson cannot read back an object key with a NUL in it (jsonb has none).
        if (!fuzz::holds_nul(*value)) {
            const JsonPtr reread = parse_json(dump_json(shape.get()), "shape");
            FUZZ_CHECK(json_equal(reread.get(), shape.get()), "a shape does not survive dump and load");
        }
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "parse_json_shape");
        FUZZ_CHECK(!value.has_value(), "parse_json_shape refused valid JSON: " + problem.message());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = fuzz::text_of(data, size);
    JsonParseError error;
    const std::optional<JsonValue> value = try_parse_json_text(text, &error);
    FUZZ_CHECK(is_json_text(text) == value.has_value(), "is_json_text and the parser disagree");
    check_jansson(text, value, error);

    // Any bytes escape to a valid JSON string, and ASCII comes back unchanged.
    std::string quoted;
    append_json_string(quoted, text);
    const std::optional<JsonValue> string = try_parse_json_text(quoted);
    FUZZ_CHECK(string && string->kind() == JsonKind::String, "append_json_string made invalid JSON");
    const bool ascii = std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    FUZZ_CHECK(!ascii || string->string_value() == text, "an ASCII string did not survive escaping");

    if (!value) {
        FUZZ_CHECK(error.offset <= text.size(), "error offset past the end");
        FUZZ_CHECK(!find_path_in_text(text, {}).valid, "find_path_in_text accepts invalid JSON");
        try {
            (void)parse_json_text(text);
            FUZZ_CHECK(false, "parse_json_text accepted invalid JSON");
        } catch (const Error &problem) {
            fuzz::expect_user_error(problem, "parse_json_text");
        }
        return 0;
    }
    // Compact output is JSON and a fixed point of parse and print.
    const std::string compact = to_json_text(*value);
    const std::optional<JsonValue> reparsed = try_parse_json_text(compact);
    FUZZ_CHECK(reparsed.has_value(), "to_json_text made invalid JSON");
    FUZZ_CHECK(to_json_text(*reparsed) == compact, "print, parse, print is not stable");
    FUZZ_CHECK(json_kind_of(compact) == value->kind(), "json_kind_of misreads compact JSON");

    check_object_view(text, *value);
    check_path_lookup(text, *value, size > 0 ? data[size / 2] * 131u + data[0] : 0u);
    check_conversions(compact);
    return 0;
}
