// Reading a request's "response" block: where an answer names the records
// that failed, what a successful body looks like, and which answers mean
// bad credentials (see ResponseSpec).
#pragma once

#include "catalog/definition_reader.hpp"
#include "catalog/destination_type.hpp"

namespace reverse_etl::catalog::definition {

// {"records": {"kind": "errors_by_index" | "results_in_order" | "index_lists",
//              "status": [400], "list": "failed_records", "index": "index",
//              "message": ["field", "message"], "success": "success", "object_id": "id",
//              "record_key": "{{fields.email}}", "key": "properties.email",
//              "errors": "errors", "error_keys": "context.ids",
//              "objects": ["events_with_invalid_fields"], "others": "delivered" | "retry"},
//  "success_bodies": ["1"],
//  "fatal": [{"status": 400, "path": "error", "prefix": "Invalid API key"}]}
// Paths are dotted ("errors.0.message"); "" is the answer itself.
ResponseSpec read_response(const Node &node, const DestinationType &type);

}  // namespace reverse_etl::catalog::definition
