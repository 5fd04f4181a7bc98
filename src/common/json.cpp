#include "common/json.hpp"

#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "common/error.hpp"
#include "common/json_text.hpp"

namespace reverse_etl {

namespace {

// jansson returns NULL only when it cannot allocate (or for input the JsonValue
// invariants rule out: invalid UTF-8, a non-finite real).
json_t *checked(json_t *value) {
    if (!value)
        throw Error(sqlstate::kInternalError, "could not build JSON value");
    return value;
}

json_t *shape_number(const std::string &text) {
    const char *const end = text.data() + text.size();
    if (text.find_first_of(".eE") == std::string::npos) {
        json_int_t integer = 0;
        const auto [stop, status] = std::from_chars(text.data(), end, integer);
        if (status == std::errc() && stop == end)
            return checked(json_integer(integer));
    }
    // strtod reads '.' as the decimal point: LC_NUMERIC is "C" in a PostgreSQL backend.
    double real = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(real))
        real = std::copysign(DBL_MAX, real);
    return checked(json_real(real));
}

json_t *shape_of(const JsonValue &value) {
    switch (value.kind()) {
    case JsonKind::Null: return checked(json_null());
    case JsonKind::Boolean: return checked(json_boolean(value.boolean_value()));
    case JsonKind::Number: return shape_number(value.number_text());
    case JsonKind::String:
        return checked(json_stringn(value.string_value().data(), value.string_value().size()));
    case JsonKind::Array: {
        JsonPtr array(checked(json_array()));
        for (const JsonValue &element : value.elements())
            if (json_array_append_new(array.get(), shape_of(element)) != 0)
                throw Error(sqlstate::kInternalError, "could not build JSON array");
        return array.release();
    }
    case JsonKind::Object: {
        JsonPtr object = new_json_object();
        for (const JsonMember &member : value.members())
            if (json_object_setn_new(object.get(), member.key.data(), member.key.size(),
                                     shape_of(member.value)) != 0)
                throw Error(sqlstate::kInternalError, "could not build JSON object");
        return object.release();
    }
    }
    throw Error(sqlstate::kInternalError, "unknown JSON value kind");
}

}  // namespace

JsonPtr new_json_object() {
    // json_pack builds the object inside libjansson, where json_object is its own.
    JsonPtr object(json_pack("{}"));
    if (!object)
        throw Error(sqlstate::kInternalError, "could not build JSON object");
    return object;
}

JsonPtr parse_json(const std::string &text, const std::string &what) {
    json_error_t error;
    JsonPtr value(json_loadb(text.data(), text.size(), JSON_DECODE_ANY | JSON_ALLOW_NUL, &error));
    if (!value)
        throw Error(sqlstate::kInvalidParameterValue, what + " is not valid JSON",
                    std::string(error.text) + " at line " + std::to_string(error.line) +
                        ", column " + std::to_string(error.column));
    return value;
}

JsonPtr parse_json_shape(const std::string &text, const std::string &what) {
    JsonParseError error;
    const std::optional<JsonValue> value = try_parse_json_text(text, &error);
    if (!value) {
        // Line and column (1-based, in bytes), as parse_json reports them.
        std::size_t line = 1;
        std::size_t column = 1;
        for (std::size_t i = 0; i < error.offset && i < text.size(); ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw Error(sqlstate::kInvalidParameterValue, what + " is not valid JSON",
                    error.message + " at line " + std::to_string(line) + ", column " +
                        std::to_string(column));
    }
    return jansson_shape_of(*value);
}

JsonPtr jansson_shape_of(const JsonValue &value) { return JsonPtr(shape_of(value)); }

std::string dump_json(const json_t *value) {
    // jansson allocates with malloc; wrap so the buffer is freed on every path.
    std::unique_ptr<char, decltype(&std::free)> text(
        json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY), &std::free);
    if (!text)
        throw Error(sqlstate::kInternalError, "could not serialize JSON value");
    return std::string(text.get());
}

const char *json_kind_name(const json_t *value) {
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER:
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

}  // namespace reverse_etl
