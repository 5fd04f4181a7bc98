// Describing a sync worker to the postmaster: used by sync() (which waits for
// it), the launcher (which tracks it) and run_due_syncs (which starts it at
// commit and leaves it).
#pragma once

#include "pg/postgres_headers.hpp"
#include "worker/sync_worker.hpp"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace reverse_etl::worker {

// `notify_pid`: the process the postmaster signals when the worker starts
// and stops (0 for none).
void describe_sync_worker(BackgroundWorker *worker, const SyncWorkerArgs &args, pid_t notify_pid);

}  // namespace reverse_etl::worker
