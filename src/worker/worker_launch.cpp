#include "worker/worker_launch.hpp"

#include <csignal>
#include <cstring>

#include "engine/sync_run.hpp"
#include "pg/error_crossing.hpp"
#include "pg/guc.hpp"
#include "pg/spi.hpp"
#include "worker/sync_worker.hpp"
#include "worker/sync_worker_start.hpp"

extern "C" {
#include "access/xact.h"
#include "libpq/pqformat.h"
#include "libpq/pqmq.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
}

namespace reverse_etl::worker {

namespace {

using namespace reverse_etl::pg;
using worker::SyncWorkerShared;

struct WorkerResult {
    SyncOutcome outcome;
    int64_t run_id;
    char message[sizeof(SyncWorkerShared::message)];
};

// Re-raises a NOTICE (or WARNING) the worker sent; errors are not re-raised:
// the worker records them in the run's row, which sync() returns.
void relay_message(StringInfoData *message) {
    const char type = pq_getmsgbyte(message);
    if (type != 'N' && type != 'E')
        return;
    ErrorData data;
    std::memset(&data, 0, sizeof(data));
    pq_parse_errornotice(message, &data);
    if (data.elevel < ERROR) {
        data.elevel = NOTICE;
        ThrowErrorData(&data);
    }
}

BackgroundWorkerHandle *register_worker(const SyncWorkerArgs &args) {
    BackgroundWorker worker;
    worker::describe_sync_worker(&worker, args, MyProcPid);
    BackgroundWorkerHandle *handle = nullptr;
    if (!RegisterDynamicBackgroundWorker(&worker, &handle))
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
                        errmsg("could not start a background worker for the sync"),
                        errhint("Raise max_worker_processes, or wait for other syncs to finish.")));
    return handle;
}

// Relays the worker's messages until it detaches from the queue (it has
// reported how the run ended, or it failed before it could start one).
// Interrupts (Ctrl-C, statement_timeout) are checked between waits.
void receive_until_detached(shm_mq_handle *queue) {
    for (;;) {
        Size length = 0;
        void *data = nullptr;
        const shm_mq_result received = shm_mq_receive(queue, &length, &data, true);
        if (received == SHM_MQ_SUCCESS) {
            StringInfoData message;
            initStringInfo(&message);
            appendBinaryStringInfo(&message, static_cast<const char *>(data), static_cast<int>(length));
            relay_message(&message);
            pfree(message.data);
            continue;
        }
        if (received == SHM_MQ_DETACHED)
            return;
        (void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1000, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
}

// A sync() call that ends early (cancel, statement_timeout, any error) from the
// moment its worker is registered stops the worker, so that no run goes on
// that nobody waits for. A started worker gets SIGINT, its cancel: the run, if
// it has begun one, is recorded as canceled, and one it had not begun yet
// never begins. A worker the postmaster has not started yet never starts
// (TerminateBackgroundWorker frees its slot; had the postmaster forked it in
// the meantime, it gets SIGTERM, long before it could begin a run).
void stop_abandoned_worker(BackgroundWorkerHandle *handle) {
    pid_t pid = 0;
    switch (GetBackgroundWorkerPid(handle, &pid)) {
    case BGWH_STARTED: (void) kill(pid, SIGINT); break;
    case BGWH_NOT_YET_STARTED: TerminateBackgroundWorker(handle); break;
    case BGWH_STOPPED:
    case BGWH_POSTMASTER_DIED: break;
    }
}

// The caller's settings the worker applies (SyncWorkerShared).
struct CallerSettings {
    const char *allowed_hosts;
    const char *blocked_networks;
};

// Runs under pg_guard: no C++ object with a destructor lives in this frame.
WorkerResult start_and_wait(const SyncWorkerArgs &base_args, const CallerSettings &settings) {
    static_assert(MAXIMUM_ALIGNOF <= 8, "the segment's layout assumes MAXALIGN is at most 8");
    const size_t hosts_bytes = strlen(settings.allowed_hosts) + 1;
    const size_t networks_bytes = strlen(settings.blocked_networks) + 1;
    const auto settings_bytes = static_cast<uint32_t>(hosts_bytes + networks_bytes);
    const Size queue_offset = worker::message_queue_offset(settings_bytes);
    dsm_segment *segment = dsm_create(queue_offset + worker::kMessageQueueBytes, 0);
    auto *shared = static_cast<SyncWorkerShared *>(dsm_segment_address(segment));
    std::memset(shared, 0, sizeof(*shared));
    shared->caller_settings_bytes = settings_bytes;
    char *const texts = reinterpret_cast<char *>(shared) + worker::caller_settings_offset();
    std::memcpy(texts, settings.allowed_hosts, hosts_bytes);
    std::memcpy(texts + hosts_bytes, settings.blocked_networks, networks_bytes);
    shm_mq *mq = shm_mq_create(reinterpret_cast<char *>(shared) + queue_offset, worker::kMessageQueueBytes);
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle *queue = shm_mq_attach(mq, segment, nullptr);

    SyncWorkerArgs args = base_args;
    args.dsm_handle = dsm_segment_handle(segment);
    BackgroundWorkerHandle *const handle = register_worker(args);
    // From here on a worker exists: waiting for it to start is as much a part
    // of the call as waiting for it to finish, and an error in either stops it.
    PG_TRY();
    {
        shm_mq_set_handle(queue, handle);
        pid_t pid = 0;
        if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_POSTMASTER_DIED)
            ereport(ERROR, (errcode(ERRCODE_ADMIN_SHUTDOWN), errmsg("postmaster exited during the sync")));
        receive_until_detached(queue);
    }
    PG_CATCH();
    {
        stop_abandoned_worker(handle);
        PG_RE_THROW();
    }
    PG_END_TRY();
    // Detached: the worker has reported, its run (if any) is recorded.
    (void) WaitForBackgroundWorkerShutdown(handle);

    pg_read_barrier();
    WorkerResult result;
    result.outcome = shared->outcome;
    result.run_id = shared->run_id;
    std::memcpy(result.message, shared->message, sizeof(result.message));
    result.message[sizeof(result.message) - 1] = '\0';
    dsm_detach(segment);
    return result;
}

// A setting cut short would mean other hosts or networks than the caller's.

}  // namespace

void require_transaction_a_worker_cannot_wait_for(const std::string &function_name) {
    const char *const detail =
        "The run works in a background worker, in transactions of its own, and this call waits for it: locks or "
        "changes of this transaction could keep the two waiting for each other forever.";
    if (pg_guard([] { return IsTransactionBlock(); }))
        throw Error(sqlstate::kActiveSqlTransaction, function_name + " cannot run inside a transaction block", detail,
                    "Call it outside BEGIN ... COMMIT, or queue the run with reverse_etl.request_sync().");
    // Writing a table, or locking it beyond reading, leaves a lock stronger
    // than ACCESS SHARE until the transaction ends (our own look-ups take
    // ACCESS SHARE only). Those that cannot hold up the worker do not count:
    // on temporary relations (with their indexes and TOAST tables) and on
    // the session's temporary schemas when it creates them, which no other
    // process touches; on system catalogs, which temporary-table DDL
    // writes and the worker only reads; advisory locks, for which the worker
    // reports the mapping busy rather than wait. Any lock on a checkpoint
    // table counts, even ACCESS SHARE: a first run alters its key.
    const bool locked =
        !execute("SELECT 1 FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_class c ON c.oid = l.relation "
                 "WHERE l.pid = pg_catalog.pg_backend_pid() AND l.granted "
                 "AND l.locktype NOT IN ('virtualxid', 'transactionid', 'advisory') "
                 "AND (c.relnamespace = (SELECT n.oid FROM pg_catalog.pg_namespace n "
                 "                       WHERE n.nspname = 'reverse_etl_state') "
                 "     OR (l.mode <> 'AccessShareLock' AND (c.oid IS NULL OR (c.relpersistence <> 't' "
                 "         AND c.relnamespace <> 'pg_catalog'::pg_catalog.regnamespace)))) "
                 "AND NOT (l.locktype = 'object' AND l.classid = 'pg_catalog.pg_namespace'::pg_catalog.regclass "
                 "         AND l.objid IN (SELECT n.oid FROM pg_catalog.pg_namespace n "
                 "                         WHERE n.nspname LIKE 'pg\\_temp\\_%' OR n.nspname LIKE 'pg\\_toast\\_temp\\_%')) "
                 "LIMIT 1")
             .empty();
    if (locked)
        throw Error(sqlstate::kActiveSqlTransaction,
                    function_name + " cannot run in a transaction that has written to or locked a table", detail,
                    "Call it in a transaction of its own, or queue the run with reverse_etl.request_sync().");
}

int64_t run_sync_in_worker(unsigned int role, int64_t mapping_id, const std::string &mapping_name,
                           const std::string &trigger) {
    SyncWorkerArgs args;
    std::memset(&args, 0, sizeof(args));
    args.database = MyDatabaseId;
    args.role = role;
    args.mapping_id = mapping_id;
    strlcpy(args.trigger, trigger.c_str(), sizeof(args.trigger));
    args.max_concurrent_requests = max_concurrent_requests();
    args.adaptive_concurrency = adaptive_concurrency() ? 2 : 1;
    args.request_timeout_ms = static_cast<int32_t>(request_timeout_ms());
    args.max_request_attempts = max_request_attempts();
    // Only a value the caller SET: the model owner's own (ALTER ROLE ... SET)
    // applies otherwise, as for scheduled runs.
    args.give_up_after_s_plus_one = set_in_session("reverse_etl.give_up_after") ? give_up_after_seconds() + 1 : 0;
    const std::string hosts = allowed_hosts();
    const std::string networks = blocked_networks();
    const CallerSettings settings{hosts.c_str(), networks.c_str()};
    const WorkerResult result = pg_guard([&] { return start_and_wait(args, settings); });
    switch (result.outcome) {
    case SyncOutcome::Finished: return result.run_id;
    case SyncOutcome::MappingBusy:
        throw Error(sqlstate::kObjectInUse, "mapping \"" + mapping_name + "\" is already running",
                    engine::running_run_detail(result.run_id),
                    "Wait for it to finish, or stop it with reverse_etl.cancel_sync().");
    case SyncOutcome::Failed:
        throw Error(sqlstate::kInternalError, "sync of mapping \"" + mapping_name + "\" could not start",
                    result.message);
    case SyncOutcome::NotStarted: break;
    }
    throw Error(sqlstate::kInternalError, "the sync worker for mapping \"" + mapping_name + "\" ended unexpectedly",
                "See the server log.");
}

bool start_deferred_sync_worker(const pg::DeferredStart &start) {
    SyncWorkerArgs args;
    std::memset(&args, 0, sizeof(args));
    args.database = MyDatabaseId;
    args.role = start.role;
    args.mapping_id = start.mapping_id;
    args.queued_run_id = start.queued_run_id;
    std::memcpy(args.trigger, start.trigger, sizeof(args.trigger));
    BackgroundWorker worker;
    describe_sync_worker(&worker, args, 0);
    BackgroundWorkerHandle *handle = nullptr;
    return RegisterDynamicBackgroundWorker(&worker, &handle);
}

}  // namespace reverse_etl::worker
