#include "pg/launcher_signal.hpp"

#include <cstring>

#include "pg/postgres_headers.hpp"
#include "worker/sync_worker_start.hpp"

extern "C" {
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
}

namespace reverse_etl::pg {

namespace {

// What other processes need to know about the launcher: where its latch is.
struct LauncherShared {
    pg_atomic_uint32 procno_plus_one;  // 0: no launcher running
};

LauncherShared *launcher_shared = nullptr;
shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

void launcher_shmem_request() {
    if (previous_shmem_request_hook)
        previous_shmem_request_hook();
    RequestAddinShmemSpace(MAXALIGN(sizeof(LauncherShared)));
}

void launcher_shmem_startup() {
    if (previous_shmem_startup_hook)
        previous_shmem_startup_hook();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    launcher_shared = static_cast<LauncherShared *>(
        ShmemInitStruct("reverse_etl launcher", sizeof(LauncherShared), &found));
    if (!found)
        pg_atomic_init_u32(&launcher_shared->procno_plus_one, 0);
    LWLockRelease(AddinShmemInitLock);
}

void withdraw_launcher(int, Datum) {
    if (launcher_shared != nullptr)
        pg_atomic_write_u32(&launcher_shared->procno_plus_one, 0);
}

// Backend-local: what the current transaction asked for at commit.
constexpr int kMaxDeferredStarts = 64;
bool wake_pending = false;
DeferredStart deferred_starts[kMaxDeferredStarts];
int deferred_count = 0;

void wake_launcher() {
    if (launcher_shared == nullptr)
        return;
    const uint32 procno_plus_one = pg_atomic_read_u32(&launcher_shared->procno_plus_one);
    if (procno_plus_one != 0)
        SetLatch(&ProcGlobal->allProcs[procno_plus_one - 1].procLatch);
}

// At commit the queued runs are visible: the workers may start. A worker that
// finds no free slot leaves its run queued for the launcher or a later call.
void start_deferred_workers() {
    for (int i = 0; i < deferred_count; i++) {
        worker::SyncWorkerArgs args;
        std::memset(&args, 0, sizeof(args));
        args.database = MyDatabaseId;
        args.role = deferred_starts[i].role;
        args.mapping_id = deferred_starts[i].mapping_id;
        args.queued_run_id = deferred_starts[i].queued_run_id;
        std::memcpy(args.trigger, deferred_starts[i].trigger, sizeof(args.trigger));
        BackgroundWorker worker;
        worker::describe_sync_worker(&worker, args, 0);
        BackgroundWorkerHandle *handle = nullptr;
        if (!RegisterDynamicBackgroundWorker(&worker, &handle))
            break;
    }
}

void on_transaction_end(XactEvent event, void *) {
    switch (event) {
    case XACT_EVENT_COMMIT:
        if (wake_pending)
            wake_launcher();
        start_deferred_workers();
        wake_pending = false;
        deferred_count = 0;
        break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
        wake_pending = false;
        deferred_count = 0;
        break;
    default:
        break;
    }
}

}  // namespace

void request_launcher_shmem() {
    previous_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = launcher_shmem_request;
}

void install_launcher_shmem_hook() {
    previous_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = launcher_shmem_startup;
}

void register_launcher_latch() {
    if (launcher_shared == nullptr)
        return;
    pg_atomic_write_u32(&launcher_shared->procno_plus_one, static_cast<uint32>(MyProc->pgprocno) + 1);
    on_shmem_exit(withdraw_launcher, 0);
}

void wake_launcher_at_commit() { wake_pending = true; }

bool start_worker_at_commit(const DeferredStart &start) {
    if (deferred_count >= kMaxDeferredStarts)
        return false;
    deferred_starts[deferred_count++] = start;
    return true;
}

void install_commit_callback() { RegisterXactCallback(on_transaction_end, nullptr); }

}  // namespace reverse_etl::pg
