// Reading an action's "element" block: the JSON shape one record takes in a
// request body, with placeholders over the record's fields (see ElementNode).
#pragma once

#include "catalog/definition_reader.hpp"
#include "catalog/destination_type.hpp"

namespace reverse_etl::catalog::definition {

// Strings that are exactly one placeholder stand for a value:
//   "{{fields.NAME}}"            the field's JSON value (NAME a field of the action,
//                                or any name when its fields are free)
//   "{{fields.NAME|epoch_ms}}"   a datetime field as milliseconds since 1970
//   "{{fields.NAME|epoch_s}}"    ... as seconds since 1970
//   "{{fields}}"                 every mapped field, as an object
//   "{{fields|except:a,b}}"      the same without those fields
// Any other string is text with {{record_id}}, {{message_id}}, {{message_uuid}},
// {{settings.KEY}} (secret settings too) or {{extension_version}}. An object's
// "$merge" member names a field (an object) or {{fields}} whose members come
// before the object's own. The element is an object, or one field placeholder
// (a record sent as a bare value, e.g. an id in a list of ids).
ElementNode read_element(const Node &node, const ActionDef &action, const DestinationType &type);

}  // namespace reverse_etl::catalog::definition
