// The run's row in reverse_etl.run_catalog: created when a run starts, its
// counters and phase updated as it goes, its outcome written when it ends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace reverse_etl::engine {

struct RunCounters {
    int64_t extracted = 0;
    int64_t added = 0;
    int64_t updated = 0;
    int64_t deleted = 0;
    int64_t unchanged = 0;
    int64_t invalid = 0;
    int64_t selected = 0;
    int64_t sent = 0;
    int64_t succeeded = 0;
    int64_t failed = 0;
    int64_t requests = 0;
    // Not stored: how many records went into the outbox, so delivery can
    // check that it read every one of them.
    int64_t outbox = 0;
    // Not stored: the checkpoint was empty and the outbox came straight from
    // the model (a first run): delivered records need no upsert.
    bool first_run = false;
};

// Marks runs of the mapping left 'running' by a process that is gone (the
// caller holds the mapping's run lock, so no live run can be among them).
void fail_interrupted_runs(int64_t mapping_id);
// A new running run, or the queued run `queued_run_id` now running (0 when
// that run is no longer queued).
int64_t start_run(int64_t mapping_id, const std::string &trigger, int64_t queued_run_id);
void set_phase(int64_t run_id, const std::string &phase);
void save_counters(int64_t run_id, const RunCounters &counters);
void finish_run(int64_t run_id, const std::string &status, const RunCounters &counters,
                const std::optional<std::string> &error);
// Deletes finished runs older than reverse_etl.history_retention.
void prune_history();

}  // namespace reverse_etl::engine
