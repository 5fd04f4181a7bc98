// Waking the launcher, and starting sync workers, when the transaction that
// asked for it commits: before that the launcher and the workers could not
// see the queued runs or the enabled mappings.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::pg {

// Shared memory for the launcher's latch (with shared_preload_libraries only).
void request_launcher_shmem();
void install_launcher_shmem_hook();
// The launcher announces itself and withdraws when it exits.
void register_launcher_latch();

// Sets the launcher's latch at commit of the current transaction (no-op
// without a running launcher, or when the subtransaction that asked for it
// is rolled back).
void wake_launcher_at_commit();

struct DeferredStart {
    unsigned int role;
    int64_t mapping_id;
    int64_t queued_run_id;
    char trigger[16];
};
// Starts a sync worker for a queued run at commit (run_due_syncs). Returns
// false when the queue of deferred starts is full (the launcher or a later
// call will start the run). A start asked for in a subtransaction that is
// rolled back is dropped; PREPARE TRANSACTION fails (0A000) while a start is
// pending.
bool start_worker_at_commit(const DeferredStart &start);

// How a deferred start becomes a worker: false when no worker slot is free.
// Given by the layer that knows sync workers (worker/), so that this one,
// below it, does not.
using DeferredStarter = bool (*)(const DeferredStart &start);

// Registers the transaction callbacks; called from _PG_init.
void install_commit_callback(DeferredStarter starter);

}  // namespace reverse_etl::pg
