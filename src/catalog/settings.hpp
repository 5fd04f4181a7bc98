// A destination's settings: validation against its type's settings schema, the
// key-by-key merge of alter_destination, and masking of secrets for output.
// Pure C++ (no PostgreSQL headers): interval checks are delegated to the caller.
#pragma once

#include <string>

#include <jansson.h>

#include "catalog/destination_type.hpp"
#include "common/interval_length.hpp"
#include "common/json.hpp"

namespace reverse_etl::catalog {

// What every view and function output shows in place of a secret value.
inline constexpr const char *kMaskedValue = "********";

// Checks a complete settings object (after any merge) against the type. Throws
// reverse_etl::Error 22023 naming the offending key: not an object, unknown key,
// JSON null or wrong JSON type, value not in the enum, integer out of range, object
// setting with non-string values, interval not accepted, url/endpoint not an http(s)
// URL with a host (or carrying credentials, or placeholders other than
// {{record_id}} and {{fields.NAME}}), missing required key; then what requests
// refuse (catalog/request_rules.hpp: header names and values, request timeout).
// Secret values are never quoted in messages. `read_interval` is PostgreSQL's
// interval input (the boundary passes pg::parse_interval_length).
void validate_settings(const DestinationType &type, const json_t *settings,
                       const IntervalReader &read_interval);

// alter_destination: `patch` merged into `current` key by key (top level only: an
// object setting such as headers is replaced whole); a key whose value is JSON null
// is removed. A null `current` counts as {}. Returns a new object; the inputs are
// not changed. Throws 22023 if `patch` is not an object. Validate the result.
JsonPtr merge_settings(const json_t *current, const json_t *patch);

// For "must be X, not Y" messages about setting values: what a value is ("an
// array", "a string"...), what a setting's type takes, and whether it does.
const char *given_kind(const json_t *value);
const char *expected_kind(SettingType type);
bool has_expected_kind(SettingType type, const json_t *value);

// A deep copy with every secret setting's value replaced by kMaskedValue; for an
// object-typed secret (headers) each value is masked and the keys are kept. Keys the
// type does not know and JSON nulls are copied as they are.
JsonPtr mask_settings(const DestinationType &type, const json_t *settings);

// The effective value of setting `key`: its value in `settings` unless absent or
// JSON null, else the declared default, else nullptr. Always a new reference (the
// caller owns it). Throws XX000 if the type has no such setting (a caller bug).
JsonPtr effective_setting(const DestinationType &type, const json_t *settings,
                          const std::string &key);

}  // namespace reverse_etl::catalog
