// A model on a remote source (SPEC section 10) read for a run: its query runs
// there, through a cursor, and its rows land in a table here, chunk by
// chunk, which the run then reads as it reads a local model's query.
#pragma once

#include <cstdint>

#include "engine/mapping_plan.hpp"

namespace reverse_etl::engine {

// Where the rows land.
enum class RemoteRowsTable {
    // pg_temp.reverse_etl_remote_rows: for the functions that read a model
    // in a user's session (preview_mapping, send_test_record).
    Temporary,
    // reverse_etl_state.remote_rows_<run id>, unlogged: for a run, whose
    // extraction may then scan the rows with parallel workers as it scans
    // a local model (a temporary table is this backend's alone). Created and
    // dropped in the caller's transaction (drop_remote_rows): never
    // committed, so no other session sees it and nothing is left of it
    // after a failure.
    RunScoped,
};

// For a remote model: streams its rows into that table (typed as the model's
// columns, but jsonb as json: plan.columns_read_as_json) and points
// plan.model.query at it. Nothing for a local model. Runs in the caller's
// transaction: a failed or partial read raises, and the transaction that
// would have checkpointed it aborts.
void read_remote_model(MappingPlan &plan, RemoteRowsTable table = RemoteRowsTable::Temporary, int64_t run_id = 0);

// Drops the RunScoped table read_remote_model made, if any; in the same
// transaction, once the run no longer reads it.
void drop_remote_rows(MappingPlan &plan);

}  // namespace reverse_etl::engine
