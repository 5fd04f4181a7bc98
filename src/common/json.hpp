// RAII and small helpers over jansson. Every json_t* the project owns lives in a
// JsonPtr, so no path (including a C++ exception) leaks a reference.
#pragma once

#include <memory>
#include <string>

#include <jansson.h>

namespace reverse_etl {

class JsonValue;   // common/json_text.hpp

struct JsonDecref {
    void operator()(json_t *value) const noexcept { json_decref(value); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

// Takes ownership of a new reference (what json_object(), json_loads() etc. return).
inline JsonPtr adopt_json(json_t *new_reference) { return JsonPtr(new_reference); }

// Shares a borrowed reference (what json_object_get() returns).
inline JsonPtr share_json(json_t *borrowed) { return JsonPtr(json_incref(borrowed)); }

// A new empty object. Never call jansson's json_object() from this library: the
// postgres executable exports a json_object of its own (the SQL function), which
// the dynamic linker binds instead. jansson's internal calls are not affected.
JsonPtr new_json_object();

// Parses JSON text; throws Error(22023) with `what` naming the input on bad JSON.
JsonPtr parse_json(const std::string &text, const std::string &what);

// For JSON whose structure is checked through jansson while its numbers are read
// from the text (a mapping's fields, whose static values go out as written): any
// number parses, where parse_json rejects an integer beyond 64 bits or 1e400.
// jansson holds numbers as long long or double, so here an integral number that
// fits stays an integer, any other becomes the nearest double and one beyond a
// double's range the largest double of its sign: kinds are kept, digits are not.
// Throws Error(22023) like parse_json.
JsonPtr parse_json_shape(const std::string &text, const std::string &what);

// parse_json_shape's tree for an already parsed value.
JsonPtr jansson_shape_of(const JsonValue &value);

// Compact JSON text, keys in insertion order.
std::string dump_json(const json_t *value);

// "object", "array", "string", "number", "boolean" or "null".
const char *json_kind_name(const json_t *value);

}  // namespace reverse_etl
