// Starting a sync in a background worker and waiting for it from a SQL
// function, relaying the worker's NOTICEs to the caller as they come.
#pragma once

#include <cstdint>
#include <string>

#include "pg/launcher_signal.hpp"

namespace reverse_etl::worker {

// Runs the mapping's sync in a new background worker connected as `role`, and
// returns the run's id once the worker has finished. Cancelling the caller
// (Ctrl-C, statement_timeout) cancels the run, also while the worker is still
// starting: a worker not started yet never starts. Throws 55006 when another
// run of the mapping is going, 53000 when no worker slot is free.
int64_t run_sync_in_worker(unsigned int role, int64_t mapping_id, const std::string &mapping_name,
                           const std::string &trigger);

// Throws 25001 when the calling transaction could keep a worker it waits for
// waiting forever: inside a transaction block (as VACUUM refuses), or after
// the transaction wrote to or locked a table other than its own temporary
// ones (a lock stronger than ACCESS SHARE). The worker
// runs in transactions of its own and would wait for this one's locks while
// this one waits for the worker.
void require_transaction_a_worker_cannot_wait_for(const std::string &function_name);

// Starts the sync worker of a run that run_due_syncs() queued, once its
// transaction committed (pg::install_commit_callback's starter); false when no
// worker slot is free.
bool start_deferred_sync_worker(const pg::DeferredStart &start);

}  // namespace reverse_etl::worker
