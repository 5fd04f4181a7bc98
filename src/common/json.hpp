// RAII and small helpers over jansson. Every json_t* the project owns lives in a
// JsonPtr, so no path (including a C++ exception) leaks a reference.
#pragma once

#include <memory>
#include <string>

#include <jansson.h>

namespace reverse_etl {

struct JsonDecref {
    void operator()(json_t *value) const noexcept { json_decref(value); }
};
using JsonPtr = std::unique_ptr<json_t, JsonDecref>;

// Takes ownership of a new reference (what json_object(), json_loads() etc. return).
inline JsonPtr adopt_json(json_t *new_reference) { return JsonPtr(new_reference); }

// Shares a borrowed reference (what json_object_get() returns).
inline JsonPtr share_json(json_t *borrowed) { return JsonPtr(json_incref(borrowed)); }

// Parses JSON text; throws Error(22023) with `what` naming the input on bad JSON.
JsonPtr parse_json(const std::string &text, const std::string &what);

// Compact JSON text, keys in insertion order.
std::string dump_json(const json_t *value);

// "object", "array", "string", "number", "boolean" or "null".
const char *json_kind_name(const json_t *value);

}  // namespace reverse_etl
