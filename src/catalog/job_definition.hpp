// Reading a response block's "job": answers that start an asynchronous job
// at the destination (Klaviyo's bulk profile import), how the job is polled
// and how its errors name records (see catalog::JobSpec).
#pragma once

#include "catalog/definition_reader.hpp"
#include "catalog/destination_type.hpp"

namespace reverse_etl::catalog::definition {

// {"status": [202], "id": "data.id",
//  "url": "{{settings.endpoint}}/api/profile-bulk-import-jobs/{{job_id}}",
//  "state": "data.attributes.status", "done": ["complete"], "failed": ["cancelled"],
//  "failed_count": "data.attributes.failed_count",
//  "errors": {"url": "{{settings.endpoint}}/api/profile-bulk-import-jobs/{{job_id}}/import-errors",
//             "list": "data", "next": "links.next",
//             "keys": {"attributes.original_payload.email": "{{fields.email}}"},
//             "message": ["attributes.title", "attributes.detail"]},
//  "wait": {"setting": "job_wait", "default": "5 minutes"},
//  "poll_ms": 1000, "poll_max_ms": 30000}
JobSpec read_job(const Node &node, const DestinationType &type);

}  // namespace reverse_etl::catalog::definition
