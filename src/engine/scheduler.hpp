// The scheduling side of the catalog: queued runs, due mappings, and what the
// launcher (or run_due_syncs) should start next. Each call runs in the
// caller's transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reverse_etl::engine {

struct StartableRun {
    int64_t run_id = 0;
    int64_t mapping_id = 0;
    unsigned int role = 0;  // the model's owner
    std::string trigger;
};

// Queues a run of the mapping unless one is already queued; returns the
// queued run's id either way.
int64_t request_run(int64_t mapping_id, const std::string &trigger);

// Queues a run (with `trigger`) of every enabled mapping of an enabled
// destination whose next_run_at has passed, and moves its next_run_at on.
// Returns how many runs it queued.
int64_t queue_due_runs(const std::string &trigger);

// notify_dbt_run: queues a run (trigger "dbt") of every enabled mapping with
// schedule "dbt", of an enabled destination, whose model was imported from a
// dbt node in `unique_ids` (nullopt: any imported model), among the mappings
// the current role may use (owned by a role whose privileges it has, as
// request_sync requires). A mapping that has a queued run already gets no
// other. Returns how many runs it queued.
int64_t queue_dbt_runs(const std::optional<std::vector<std::string>> &unique_ids);

// Queued runs whose mapping is not running, oldest first, at most `limit`,
// leaving out `exclude` (runs whose worker was started already). Runs whose
// model owner cannot log in, or no longer exists, fail with a clear error
// instead of being returned.
std::vector<StartableRun> startable_runs(int limit, const std::vector<int64_t> &exclude = {});

// Runs left 'running' by processes that are gone: failed, "interrupted by
// server restart". Runs whose mapping lock is held stay as they are.
int64_t fail_runs_interrupted_by_restart();

// Seconds until the soonest next_run_at of a runnable mapping (<= 0: due).
std::optional<double> seconds_until_next_due();

// Whether the extension is installed in the current database.
bool extension_installed();

}  // namespace reverse_etl::engine
