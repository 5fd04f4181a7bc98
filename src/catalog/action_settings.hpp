// A mapping's action settings (create_mapping's action_settings): values for
// the settings an action declares, such as the object a many-object action
// writes to (HubSpot custom objects' object_type, Salesforce's sobject).
// Validation at create/alter, the key-by-key merge of alter_mapping, and
// binding: the action with the mapping's values put into its templates and
// key_field, which is what requests are built from. Pure C++.
#pragma once

#include <string>

#include <jansson.h>

#include "catalog/destination_type.hpp"
#include "common/json.hpp"

namespace reverse_etl::catalog {

// Checks a complete action settings object (after any merge) against the
// action. Throws reverse_etl::Error 22023 naming the offending key: not an
// object, any key for an action that declares no settings, a key the action
// does not declare (the detail lists those it does, the hint suggests the
// nearest), a wrong JSON type (JSON null included), a value outside the enum
// or range, an empty string or one with control characters, a required key
// missing, and a key_field setting that names no field of the action.
void validate_action_settings(const DestinationType &type, const ActionDef &action, const json_t *action_settings);

// alter_mapping: `patch` merged into `current` key by key, a key given as
// JSON null removed (as alter_destination merges settings). Throws 22023 if
// `patch` is not an object. Validate the result.
JsonPtr merge_action_settings(const json_t *current, const json_t *patch);

// The value of action setting `key`: as given unless absent or JSON null,
// else the declared default, else nullptr. Throws XX000 if the action
// declares no such setting (a caller bug).
JsonPtr effective_action_setting(const ActionDef &action, const json_t *action_settings, const std::string &key);

// The action as one mapping sends it: every {{action_settings.KEY}} of its
// templates replaced by the setting's value (percent-encoded in URLs; a
// string as it is, an integer in decimal), and key_field set from its
// setting. Throws 22023 when a setting a template or key_field uses has no
// value (a required one the stored settings lack, after a definition change).
ActionDef bind_action_settings(const ActionDef &action, const json_t *action_settings);

}  // namespace reverse_etl::catalog
