// A model on a remote source (SPEC section 10) read for a run: its query runs
// there, through a cursor, and its rows land in a temporary table here, chunk
// by chunk, which the run then reads as it reads a local model's query.
#pragma once

#include "engine/mapping_plan.hpp"

namespace reverse_etl::engine {

// For a remote model: streams its rows into pg_temp.reverse_etl_remote_rows
// (typed as the model's columns) and points plan.model.query at that table.
// Nothing for a local model. Runs in the caller's transaction: a failed or
// partial read raises, and the transaction that would have checkpointed it
// aborts.
void read_remote_model(MappingPlan &plan);

}  // namespace reverse_etl::engine
