#include "pg/launcher_signal.hpp"

#include "pg/postgres_headers.hpp"

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

// Backend-local: what the current transaction asked for at commit. Each
// request remembers the (sub)transaction nesting level that made it: a
// subtransaction that commits hands its requests to its parent, one that is
// rolled back (ROLLBACK TO SAVEPOINT, a PL/pgSQL exception block) drops them,
// as the queued runs they would start are rolled back with it.
constexpr int kMaxDeferredStarts = 64;
struct PendingStart {
    DeferredStart start;
    int nest_level;
};
PendingStart deferred_starts[kMaxDeferredStarts];
int deferred_count = 0;
// The outermost level that asked for a wake-up; 0: none did.
int wake_level = 0;

void forget_requests() {
    wake_level = 0;
    deferred_count = 0;
}

void wake_launcher() {
    if (launcher_shared == nullptr)
        return;
    const uint32 procno_plus_one = pg_atomic_read_u32(&launcher_shared->procno_plus_one);
    if (procno_plus_one != 0)
        SetLatch(&ProcGlobal->allProcs[procno_plus_one - 1].procLatch);
}

// Starts the worker of a deferred start; set by install_commit_callback.
DeferredStarter deferred_starter = nullptr;

// At commit the queued runs are visible: the workers may start. A worker that
// finds no free slot leaves its run queued for the launcher or a later call.
void start_deferred_workers() {
    for (int i = 0; i < deferred_count && deferred_starter != nullptr; i++)
        if (!deferred_starter(deferred_starts[i].start))
            break;
}

void on_transaction_end(XactEvent event, void *) {
    switch (event) {
    case XACT_EVENT_COMMIT:
        if (wake_level != 0)
            wake_launcher();
        start_deferred_workers();
        forget_requests();
        break;
    case XACT_EVENT_PRE_PREPARE:
        // The workers would have to start at COMMIT PREPARED, which may come
        // much later and from another session, where nothing remembers them.
        if (deferred_count > 0)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("cannot PREPARE a transaction that has syncs to start at commit"),
                            errdetail("reverse_etl.run_due_syncs() starts its sync workers when the calling "
                                      "transaction commits, and a prepared transaction commits later, with "
                                      "COMMIT PREPARED."),
                            errhint("Call reverse_etl.run_due_syncs() in a transaction of its own.")));
        break;
    case XACT_EVENT_PREPARE:
        // A queued run (request_sync) becomes visible at COMMIT PREPARED; the
        // launcher finds it on its next pass.
        forget_requests();
        break;
    case XACT_EVENT_ABORT:
    case XACT_EVENT_PARALLEL_ABORT:
        forget_requests();
        break;
    default:
        break;
    }
}

void on_subtransaction_end(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
    // The level of the subtransaction that ends (it is still the current one).
    const int level = GetCurrentTransactionNestLevel();
    switch (event) {
    case SUBXACT_EVENT_COMMIT_SUB:
        for (int i = 0; i < deferred_count; i++)
            if (deferred_starts[i].nest_level >= level)
                deferred_starts[i].nest_level = level - 1;
        if (wake_level >= level)
            wake_level = level - 1;
        break;
    case SUBXACT_EVENT_ABORT_SUB: {
        int kept = 0;
        for (int i = 0; i < deferred_count; i++)
            if (deferred_starts[i].nest_level < level)
                deferred_starts[kept++] = deferred_starts[i];
        deferred_count = kept;
        if (wake_level >= level)
            wake_level = 0;
        break;
    }
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

void wake_launcher_at_commit() {
    const int level = GetCurrentTransactionNestLevel();
    if (wake_level == 0 || level < wake_level)
        wake_level = level;
}

bool start_worker_at_commit(const DeferredStart &start) {
    if (deferred_count >= kMaxDeferredStarts)
        return false;
    deferred_starts[deferred_count++] = {start, GetCurrentTransactionNestLevel()};
    return true;
}

void install_commit_callback(DeferredStarter starter) {
    deferred_starter = starter;
    RegisterXactCallback(on_transaction_end, nullptr);
    RegisterSubXactCallback(on_subtransaction_end, nullptr);
}

}  // namespace reverse_etl::pg
