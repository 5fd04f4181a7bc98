#include "engine/run_record.hpp"

#include <unistd.h>

#include "common/parse_number.hpp"
#include "pg/guc.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

pg::Params counter_params(int64_t run_id, const RunCounters &c) {
    return {std::to_string(run_id),   std::to_string(c.extracted), std::to_string(c.added),
            std::to_string(c.updated), std::to_string(c.deleted),   std::to_string(c.unchanged),
            std::to_string(c.invalid), std::to_string(c.selected),  std::to_string(c.sent),
            std::to_string(c.succeeded), std::to_string(c.failed),  std::to_string(c.requests)};
}

const char *const kCounterAssignments =
    "records_extracted = $2::bigint, records_added = $3::bigint, records_updated = $4::bigint, "
    "records_deleted = $5::bigint, records_unchanged = $6::bigint, records_invalid = $7::bigint, "
    "records_selected = $8::bigint, records_sent = $9::bigint, records_succeeded = $10::bigint, "
    "records_failed = $11::bigint, requests_sent = $12::bigint";

}  // namespace

void fail_interrupted_runs(int64_t mapping_id) {
    pg::execute_catalog(
        "UPDATE reverse_etl.run_catalog SET status = 'failed', phase = NULL, pid = NULL, "
        "finished_at = pg_catalog.now(), "
        "error = 'interrupted: the process running it ended before the run finished' "
        "WHERE mapping_id = $1::bigint AND status = 'running'",
        {std::to_string(mapping_id)});
}

int64_t start_run(int64_t mapping_id, const std::string &trigger, int64_t queued_run_id) {
    const std::string pid = std::to_string(getpid());
    if (queued_run_id != 0) {
        // Only a run still queued: another worker may have taken it already.
        const pg::Result started = pg::execute_catalog(
            "UPDATE reverse_etl.run_catalog SET status = 'running', phase = 'starting', pid = $2::int, "
            "started_at = pg_catalog.now() WHERE run_id = $1::bigint AND status = 'queued' RETURNING run_id",
            {std::to_string(queued_run_id), pid});
        return started.empty() ? 0 : queued_run_id;
    }
    const pg::Result result = pg::execute_catalog(
        "INSERT INTO reverse_etl.run_catalog (mapping_id, trigger, status, phase, pid, started_at) "
        "VALUES ($1::bigint, $2, 'running', 'starting', $3::int, pg_catalog.now()) RETURNING run_id::text",
        {std::to_string(mapping_id), trigger, pid});
    return number_from_sql<int64_t>(result.scalar());
}

void set_phase(int64_t run_id, const std::string &phase) {
    pg::execute_catalog("UPDATE reverse_etl.run_catalog SET phase = $2 WHERE run_id = $1::bigint",
                        {std::to_string(run_id), phase});
}

void save_counters(int64_t run_id, const RunCounters &counters) {
    pg::execute_catalog(std::string("UPDATE reverse_etl.run_catalog SET ") + kCounterAssignments +
                            " WHERE run_id = $1::bigint",
                        counter_params(run_id, counters));
}

void finish_run(int64_t run_id, const std::string &status, const RunCounters &counters,
                const std::optional<std::string> &error) {
    pg::Params params = counter_params(run_id, counters);
    params.push_back(status);
    params.push_back(error);
    pg::execute_catalog(std::string("UPDATE reverse_etl.run_catalog SET ") + kCounterAssignments +
                            ", status = $13, error = $14, phase = NULL, pid = NULL, finished_at = pg_catalog.now()"
                            " WHERE run_id = $1::bigint",
                        params);
}

void prune_history() {
    pg::execute_catalog(
        "DELETE FROM reverse_etl.run_catalog WHERE finished_at < pg_catalog.now() - $1::interval",
        {pg::history_retention()});
}

}  // namespace reverse_etl::engine
