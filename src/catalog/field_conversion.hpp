// Values converted to their destination field's declared type (SPEC section 3:
// "values converted to the field's declared type"; the rule for every type is in
// docs/destination-definitions.md). A number mapped to a string field goes out as
// its digits exactly as PostgreSQL rendered them, a numeric string to a number
// field as that number, a datetime as an RFC 3339 date-time; what cannot be
// converted is refused with the reason.
//
// It works on the compact JSON text the payload builder has just written, in
// place: most values need nothing and the rest a quote added or removed, so
// building millions of payloads allocates nothing here. Pure C++.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "catalog/destination_type.hpp"

namespace reverse_etl::catalog {

// `json` from `start` to its end holds one compact JSON value (no whitespace
// between tokens). Rewrites it as a field of `type` takes it and returns nullopt,
// or leaves it and returns why it cannot be converted, a phrase without the
// field's name: "a JSON object cannot be sent as a string". null always passes.
std::optional<std::string> convert_to_field_type(FieldType type, std::string &json, std::size_t start = 0);

// "a string", "a number", "an integer", ...: a field type, for messages.
const char *field_type_phrase(FieldType type) noexcept;

}  // namespace reverse_etl::catalog
