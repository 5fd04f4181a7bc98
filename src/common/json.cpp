#include "common/json.hpp"

#include <cstdlib>

#include "common/error.hpp"

namespace reverse_etl {

JsonPtr parse_json(const std::string &text, const std::string &what) {
    json_error_t error;
    JsonPtr value(json_loadb(text.data(), text.size(), JSON_DECODE_ANY | JSON_ALLOW_NUL, &error));
    if (!value)
        throw Error(sqlstate::kInvalidParameterValue, what + " is not valid JSON",
                    std::string(error.text) + " at line " + std::to_string(error.line) +
                        ", column " + std::to_string(error.column));
    return value;
}

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
