// The runs of live mappings (schedule "live"; docs/live-syncs.md): queued by
// the launcher when the capture triggers say their tables changed; each sets
// the mapping's capture up before it reads the model, then evaluates the
// model for the changed records only (incremental) or diffs all of it.
#pragma once

#include <cstdint>
#include <optional>

#include "catalog/live_run_scope.hpp"

namespace reverse_etl::engine {

// engine/mapping_plan.hpp; not included, so that the launcher and sql_api/
// can include this header next to PostgreSQL's (jansson's json_object
// clashes with theirs).
struct MappingPlan;

// Collects the changes the capture triggers recorded and queues a run of each
// enabled live mapping with changes pending, unless one is queued or running
// or it waits after runs that did not succeed (10 s, doubling, at most 10
// minutes). Returns how many it queued.
int64_t queue_live_runs();

// At the start of a run of a live mapping, before its snapshot is taken:
// sets its capture up (the triggers are created as the worker's role, the
// model's owner) and returns what the run takes on, which its success
// settles (catalog::settle_live_changes; nullopt: nothing pending). An
// incremental run is one whose mode allows it, with a checkpoint to diff
// against, no earlier run's sends to settle and no batch asking for a full
// diff.
std::optional<catalog::LiveRunScope> start_live_run(const MappingPlan &plan);

}  // namespace reverse_etl::engine
