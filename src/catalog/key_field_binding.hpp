// The {{key_field}} and {{key}} placeholders: an action's definition may name
// its key field and a record's value of it without knowing which field that
// is, so one definition serves every key an action setting can name (HubSpot
// finds companies and custom objects by the unique property the mapping
// chooses). They are put in once the key field is known: as the definition
// is read when it names the field, else per mapping with its action settings.
#pragma once

#include <string>

#include "catalog/destination_type.hpp"

namespace reverse_etl::catalog {

// True when any template, element or response path of the action uses them.
bool uses_key_placeholders(const ActionDef &action);

// Replaces them with `key_field`: {{key_field}} parts and path steps become
// its name (percent-encoded in URLs), {{key}} parts and elements its field.
void bind_key_field(ActionDef &action, const std::string &key_field);

}  // namespace reverse_etl::catalog
