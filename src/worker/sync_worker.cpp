// The per-sync background worker's entry point. It connects as the model's
// owner, pins value formatting, runs the sync (which commits its own
// progress) and tells a waiting sync() call how it went. Its NOTICEs travel
// to that call through a shared-memory queue.
#include "worker/sync_worker.hpp"
#include "worker/sync_worker_start.hpp"
#include "worker/run_session.hpp"

#include <cstring>

#include "engine/alert_sender.hpp"
#include "engine/sync_run.hpp"
#include "pg/error_crossing.hpp"
#include "pg/messages.hpp"
#include "pg/postgres_headers.hpp"
#include "pg/spi.hpp"
#include "pg/transaction.hpp"

extern "C" {
#include "libpq/pqmq.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "tcop/tcopprot.h"
#include "utils/ps_status.h"
}

using reverse_etl::worker::SyncOutcome;
using reverse_etl::worker::SyncWorkerArgs;
using reverse_etl::worker::SyncWorkerShared;

namespace {

// Sends this process's messages (NOTICE and above) to the waiting sync() call.
SyncWorkerShared *attach_to_waiting_call(dsm_handle handle) {
    dsm_segment *segment = dsm_attach(handle);
    if (segment == nullptr)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("the sync() call that started this worker is gone")));
    auto *shared = static_cast<SyncWorkerShared *>(dsm_segment_address(segment));
    static_assert(MAXIMUM_ALIGNOF <= 8, "the segment's layout assumes MAXALIGN is at most 8");
    auto *queue = reinterpret_cast<shm_mq *>(reinterpret_cast<char *>(shared) +
                                             reverse_etl::worker::message_queue_offset(shared->caller_settings_bytes));
    shm_mq_set_sender(queue, MyProc);
    shm_mq_handle *queue_handle = shm_mq_attach(queue, segment, nullptr);
    pq_redirect_to_shm_mq(segment, queue_handle);
    return shared;
}

void apply_caller_settings(const SyncWorkerArgs &args) {
    // -1: keep the server's value (see SyncWorkerArgs).
    const auto given = [](int32_t value) { return value > 0 ? value : -1; };
    const struct {
        const char *name;
        int32_t value;
    } settings[] = {
        {"reverse_etl.max_concurrent_requests", given(args.max_concurrent_requests)},
        {"reverse_etl.request_timeout", given(args.request_timeout_ms)},
        {"reverse_etl.max_request_attempts", given(args.max_request_attempts)},
        {"reverse_etl.give_up_after", args.give_up_after_s_plus_one - 1},
    };
    for (const auto &setting : settings) {
        if (setting.value < 0)
            continue;
        char value[32];
        snprintf(value, sizeof(value), "%d", setting.value);
        SetConfigOption(setting.name, value, PGC_USERSET, PGC_S_SESSION);
    }
    if (args.adaptive_concurrency > 0)
        SetConfigOption("reverse_etl.adaptive_concurrency", args.adaptive_concurrency == 2 ? "on" : "off",
                        PGC_USERSET, PGC_S_SESSION);
}

// The run itself is C++ that records every failure in the run's row;
// run_catching() in the main function is the last line of defence.
reverse_etl::engine::SyncResult run(const SyncWorkerArgs &args) {
    char trigger[sizeof(args.trigger) + 1] = {0};
    std::memcpy(trigger, args.trigger, sizeof(args.trigger));
    return reverse_etl::engine::run_sync(args.mapping_id, trigger, args.queued_run_id);
}

// The alerts the run's end queued, posted at once (before a waiting sync()
// returns). A failure to post is no failure of the run: the alert stays
// queued for the launcher, and the reason is logged.
void post_alerts_of_run(int64_t mapping_id) {
    try {
        reverse_etl::pg::run_in_transaction([&] {
            // The run's end is committed: let the mapping go (its run lock,
            // else held until this process exits) before posting, which
            // can take seconds; drop_mapping or the next run need not wait.
            reverse_etl::pg::execute("SELECT pg_catalog.pg_advisory_unlock_all()");
            reverse_etl::engine::AlertPosting posting;
            posting.mapping_id = mapping_id;
            reverse_etl::engine::post_pending_alerts(posting);
        });
    } catch (const reverse_etl::Error &error) {
        reverse_etl::pg::warning("reverse_etl: could not post the alerts of mapping " + std::to_string(mapping_id) +
                                 ": " + error.message());
    }
}

void report(SyncWorkerShared *shared, const reverse_etl::engine::SyncResult &result) {
    if (shared == nullptr)
        return;
    switch (result.outcome) {
    case reverse_etl::engine::RunOutcome::Finished: shared->outcome = SyncOutcome::Finished; break;
    case reverse_etl::engine::RunOutcome::MappingBusy: shared->outcome = SyncOutcome::MappingBusy; break;
    case reverse_etl::engine::RunOutcome::Failed: shared->outcome = SyncOutcome::Failed; break;
    }
    shared->run_id = result.run_id;
    strlcpy(shared->message, result.message.c_str(), sizeof(shared->message));
}

}  // namespace

namespace reverse_etl::worker {

void describe_sync_worker(BackgroundWorker *worker, const SyncWorkerArgs &args, pid_t notify_pid) {
    std::memset(worker, 0, sizeof(*worker));
    worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker->bgw_restart_time = BGW_NEVER_RESTART;
    strlcpy(worker->bgw_library_name, "reverse_etl", sizeof(worker->bgw_library_name));
    strlcpy(worker->bgw_function_name, "reverse_etl_sync_worker_main", sizeof(worker->bgw_function_name));
    snprintf(worker->bgw_name, sizeof(worker->bgw_name), "reverse_etl sync of mapping %lld",
             static_cast<long long>(args.mapping_id));
    strlcpy(worker->bgw_type, "reverse_etl sync", sizeof(worker->bgw_type));
    worker->bgw_notify_pid = notify_pid;
    static_assert(sizeof(SyncWorkerArgs) <= BGW_EXTRALEN, "worker arguments must fit in bgw_extra");
    std::memcpy(worker->bgw_extra, &args, sizeof(args));
}

}  // namespace reverse_etl::worker

extern "C" {

PGDLLEXPORT void reverse_etl_sync_worker_main(Datum main_arg);

void reverse_etl_sync_worker_main(Datum main_arg) {
    SyncWorkerArgs args;
    std::memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));

    // SIGTERM (shutdown, pg_terminate_backend) cancels what the run is doing
    // and is remembered, so the run records "interrupted by server shutdown"
    // in whatever phase it was, then the worker exits (see
    // cancel_on_termination_signal). SIGINT (cancel_sync, a cancelled sync()
    // call) keeps PostgreSQL's handler, which sets QueryCancelPending.
    reverse_etl::pg::cancel_on_termination_signal();
    BackgroundWorkerUnblockSignals();

    SyncWorkerShared *shared = args.dsm_handle != 0 ? attach_to_waiting_call(args.dsm_handle) : nullptr;
    BackgroundWorkerInitializeConnectionByOid(args.database, args.role, 0);
    reverse_etl::worker::configure_run_session();
    apply_caller_settings(args);
    if (shared != nullptr) {
        const char *const allowed_hosts =
            reinterpret_cast<const char *>(shared) + reverse_etl::worker::caller_settings_offset();
        const char *const blocked_networks = allowed_hosts + strlen(allowed_hosts) + 1;
        SetConfigOption("reverse_etl.allowed_hosts", allowed_hosts, PGC_SUSET, PGC_S_SESSION);
        SetConfigOption("reverse_etl.blocked_networks", blocked_networks, PGC_SUSET, PGC_S_SESSION);
    }
    char application_name[NAMEDATALEN];
    snprintf(application_name, sizeof(application_name), "reverse_etl sync %lld",
             static_cast<long long>(args.mapping_id));
    SetConfigOption("application_name", application_name, PGC_USERSET, PGC_S_SESSION);
    pgstat_report_appname(application_name);

    // No exception may leave this C function: it would end in std::terminate,
    // an abort, and a restart of every session of the server. Anything run()
    // did not turn into the run's outcome becomes an ERROR here, after the
    // C++ objects are gone: logged, and the worker exits with code 1.
    if (!reverse_etl::pg::run_catching([&] {
            const reverse_etl::engine::SyncResult result = run(args);
            post_alerts_of_run(args.mapping_id);
            report(shared, result);
        }))
        reverse_etl::pg::raise_kept_error();
    proc_exit(0);
}

}  // extern "C"
