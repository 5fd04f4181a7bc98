// Delivery: reads the outbox in chunks, builds each record's payload, groups
// records into requests as the destination type says, keeps up to
// reverse_etl.max_concurrent_requests in flight, and records what the
// destination answered, committing as batches are acknowledged.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "destinations/secret_masker.hpp"
#include "engine/mapping_plan.hpp"
#include "http/http_types.hpp"
#include "engine/run_record.hpp"
#include "pg/query_stream.hpp"

namespace reverse_etl::engine {

struct DeliveryOutcome {
    // Set when the destination refused the run as a whole (401/403), or its
    // address is in reverse_etl.blocked_networks: the rest of the records are
    // left for a later run.
    std::optional<std::string> fatal_error;
    // Set when no record got through and every failure was a network error
    // or timeout: the destination was unreachable.
    std::optional<std::string> unreachable_error;
    int64_t carried = 0;   // outbox rows the delivery pass carried (delivered or not)
    // Records sent in asynchronous jobs still running when the run's wait
    // ended (catalog::JobSpec): neither delivered nor failed, they stay out
    // of the checkpoint and go in the next run.
    int64_t awaiting_job = 0;
};

// Runs in a background worker: opens and commits its own transactions.
// `counters` is updated (sent, succeeded, failed, invalid, requests) and saved
// with each commit. Throws Error 57014 on cancel after committing what the
// destination had acknowledged.
// With `stream` (a streamed first run, see extract_and_classify) the records
// come from the model reader as it reads, and are logged as they come.
DeliveryOutcome deliver(const MappingPlan &plan, int64_t run_id, const std::string &synced_at,
                        RunCounters &counters, pg::QueryStream *stream = nullptr);

// What went wrong with a request, for run history, record errors and alert
// events: "HTTP 503: <start of the body>" or the transport error, with the
// destination's secrets masked in whatever form it echoed them back.
std::string describe_failure(const http::HttpResponse &response, const destinations::SecretMasker &secrets);

}  // namespace reverse_etl::engine
