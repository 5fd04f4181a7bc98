// The runs of live mappings (schedule "live"; docs/live-syncs.md): queued by
// the launcher when the capture triggers say their tables changed, each a
// full diff against the checkpoint, which sets the mapping's capture up
// before it reads the model.
#pragma once

#include <cstdint>
#include <optional>

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
// model's owner) and returns the changes pending, which the run's success
// settles (catalog::settle_live_changes; nullopt: none pending).
std::optional<int64_t> start_live_run(const MappingPlan &plan);

}  // namespace reverse_etl::engine
