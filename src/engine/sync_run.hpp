// One sync of one mapping, start to end: lock, extract and classify, deliver,
// record the outcome. Runs in a background worker (it commits as it goes).
// Also the two things that look at a mapping without running it: the dry run
// (preview_mapping) and one test record (send_test_record), which run in the
// caller's transaction and change no state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reverse_etl::engine {

enum class RunOutcome { Finished, MappingBusy, Failed };

struct SyncResult {
    RunOutcome outcome = RunOutcome::Failed;
    int64_t run_id = 0;      // the run; when busy, the run already going
    std::string message;     // why no run could be started
};

// Every failure ends up in the run's row (or in `message` when no run could
// start); it throws only if even that fails (out of memory while handling a
// failure), which the worker's main function reports.
SyncResult run_sync(int64_t mapping_id, const std::string &trigger, int64_t queued_run_id);

struct PreviewRecord {
    std::string record_id;
    std::string change;
    std::string payload;  // JSON text
};
std::vector<PreviewRecord> preview_mapping(int64_t mapping_id, int row_limit);

// The JSON document send_test_record returns.
std::string send_test_record(int64_t mapping_id, const std::optional<std::string> &record_id);

// Takes the mapping's run lock for the rest of the session, or returns the
// running run's id when another process holds it.
std::optional<int64_t> lock_mapping_for_run(int64_t mapping_id);
// The processes (one at most) holding the mapping's run lock: the running run's worker.
std::vector<int> run_lock_holders(int64_t mapping_id);
// The id of the mapping's running run, if any (0: one is just starting).
std::optional<int64_t> running_run(int64_t mapping_id);
// "Run N is in progress." for running_run()'s answer.
std::string running_run_detail(int64_t run_id);

}  // namespace reverse_etl::engine
