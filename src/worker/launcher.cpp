// The launcher: one background worker, started with the postmaster when the
// library is in shared_preload_libraries, connected to reverse_etl.database.
// It fails runs a crash left 'running', then loops: queue the runs of due
// mappings, start queued runs in per-sync workers (at most
// reverse_etl.max_parallel_syncs at once), sleep until the next due time, the
// naptime, or a wake-up (request_sync, enabling a mapping, a worker ending).
#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "catalog/owners.hpp"
#include "common/text.hpp"
#include "common/version.hpp"
#include "engine/alert_sender.hpp"
#include "engine/live_runs.hpp"
#include "engine/scheduler.hpp"
#include "pg/error_crossing.hpp"
#include "pg/extension_version.hpp"
#include "pg/guc.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/messages.hpp"
#include "pg/postgres_headers.hpp"
#include "pg/transaction.hpp"
#include "worker/sync_worker_start.hpp"

extern "C" {
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/memutils.h"
}

namespace {

// A sync worker this launcher started and that may still be running.
struct LaunchedRun {
    int64_t run_id;
    BackgroundWorkerHandle *handle;  // palloc'd in TopMemoryContext by the postmaster API; freed when done
};

std::vector<LaunchedRun> launched;

void forget_finished_workers() {
    launched.erase(std::remove_if(launched.begin(), launched.end(),
                                  [](const LaunchedRun &run) {
                                      pid_t pid = 0;
                                      if (GetBackgroundWorkerPid(run.handle, &pid) != BGWH_STOPPED)
                                          return false;
                                      pfree(run.handle);
                                      return true;
                                  }),
                   launched.end());
}

bool start_worker(const reverse_etl::engine::StartableRun &run) {
    reverse_etl::worker::SyncWorkerArgs args;
    std::memset(&args, 0, sizeof(args));
    args.database = MyDatabaseId;
    args.role = run.role;
    args.mapping_id = run.mapping_id;
    args.queued_run_id = run.run_id;
    strlcpy(args.trigger, run.trigger.c_str(), sizeof(args.trigger));
    BackgroundWorker worker;
    reverse_etl::worker::describe_sync_worker(&worker, args, MyProcPid);
    BackgroundWorkerHandle *handle = nullptr;
    // The handle is allocated in the current context: keep it for the launcher's life.
    const MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
    const bool started = RegisterDynamicBackgroundWorker(&worker, &handle);
    MemoryContextSwitchTo(previous);
    if (started)
        launched.push_back({run.run_id, handle});
    return started;
}

// The installed version the launcher last warned about, so that a database
// waiting for ALTER EXTENSION ... UPDATE gets one warning, not one a naptime.
std::string warned_version;

// Whether the installed extension is the library's version; warns once when not.
bool installed_version_matches() {
    const auto mismatch = reverse_etl::pg::installed_version_mismatch();
    if (!mismatch) {
        warned_version.clear();
        return true;
    }
    if (*mismatch != warned_version) {
        warned_version = *mismatch;
        reverse_etl::pg::warning(std::string("reverse_etl launcher: library version ") +
                                     reverse_etl::kExtensionVersion +
                                     " does not match the installed extension version " + *mismatch,
                                 "No sync runs until they match.", "Run ALTER EXTENSION reverse_etl UPDATE.");
    }
    return false;
}

// Dropped roles whose objects the launcher has reported, so that each gets
// one warning, not one a naptime (and another after a restart).
std::set<unsigned int> warned_owners;

// DROP ROLE does not see our catalog rows: report the objects a dropped
// role left behind, by role.
void warn_about_orphaned_objects() {
    constexpr size_t kNamed = 20;
    std::map<unsigned int, std::vector<std::string>> by_owner;
    for (const auto &object : reverse_etl::catalog::orphaned_objects())
        by_owner[object.owner].push_back(object.kind + " " + reverse_etl::quoted(object.name));
    for (auto it = warned_owners.begin(); it != warned_owners.end();)
        it = by_owner.count(*it) != 0 ? std::next(it) : warned_owners.erase(it);
    for (const auto &[owner, objects] : by_owner) {
        if (!warned_owners.insert(owner).second)
            continue;
        std::string named;
        for (size_t i = 0; i < objects.size() && i < kNamed; ++i)
            named += (i > 0 ? ", " : "") + objects[i];
        if (objects.size() > kNamed)
            named += ", and " + std::to_string(objects.size() - kNamed) + " more";
        const std::string role = std::to_string(owner);
        reverse_etl::pg::warning(
            "reverse_etl launcher: role " + role + " no longer exists but owns " + std::to_string(objects.size()) +
                (objects.size() == 1 ? " object" : " objects"),
            "Owned by the dropped role: " + named + ". Their syncs fail until they have an owner.",
            "Give them to another role with SELECT reverse_etl.reassign_owner(" + role + ", 'new_owner').");
    }
}

// Alerts the sync workers could not post when their runs ended (the
// endpoint down, the worker killed): tried again at every pass, a few at a
// time, each request bounded (engine/alert_sender.hpp). A shutdown stops it.
void post_pending_alerts() {
    reverse_etl::pg::run_in_transaction([&] {
        reverse_etl::engine::AlertPosting posting;
        posting.should_stop = [] { return ShutdownRequestPending != 0; };
        reverse_etl::engine::post_pending_alerts(posting);
    });
}

// One pass over the catalog; returns how long to sleep (milliseconds).
// `first_pass` is cleared once the runs a restart interrupted are failed.
long schedule_once(bool &first_pass) {
    long sleep_ms = reverse_etl::pg::naptime_ms();
    std::vector<reverse_etl::engine::StartableRun> runs;
    bool catalog_ready = false;
    reverse_etl::pg::run_in_transaction([&] {
        if (!reverse_etl::engine::extension_installed()) {
            first_pass = false;
            return;
        }
        if (!installed_version_matches())
            return;
        catalog_ready = true;
        if (first_pass)
            reverse_etl::engine::fail_runs_interrupted_by_restart();
        first_pass = false;
        warn_about_orphaned_objects();
        reverse_etl::engine::queue_due_runs("schedule");
        reverse_etl::engine::queue_live_runs();
        std::vector<int64_t> started;
        for (const LaunchedRun &run : launched)
            started.push_back(run.run_id);
        const int free_slots = reverse_etl::pg::max_parallel_syncs() - static_cast<int>(launched.size());
        runs = reverse_etl::engine::startable_runs(free_slots, started);
        if (const auto due_in = reverse_etl::engine::seconds_until_next_due())
            sleep_ms = std::clamp<long>(static_cast<long>(*due_in * 1000) + 1, 10, sleep_ms);
    });
    for (const auto &run : runs) {
        if (!start_worker(run))
            break;  // no free worker slot: the run stays queued for the next pass
    }
    if (catalog_ready)
        post_pending_alerts();
    return sleep_ms;
}

}  // namespace

extern "C" {

PGDLLEXPORT void reverse_etl_launcher_main(Datum main_arg);

void reverse_etl_launcher_main(Datum main_arg) {
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
    BackgroundWorkerUnblockSignals();
    // A C buffer, not a std::string: an error in this frame exits the process
    // by longjmp, past any destructor. No exception may leave this C function
    // (std::terminate would abort, and the postmaster restart every session).
    char database[NAMEDATALEN];
    if (!reverse_etl::pg::run_catching(
            [&] { strlcpy(database, reverse_etl::pg::launcher_database().c_str(), sizeof(database)); }))
        reverse_etl::pg::raise_kept_error();
    BackgroundWorkerInitializeConnection(database, nullptr, 0);
    pgstat_report_appname("reverse_etl launcher");
    reverse_etl::pg::register_launcher_latch();
    elog(LOG, "reverse_etl launcher started in database \"%s\"", database);

    bool first_pass = true;
    while (!ShutdownRequestPending) {
        long sleep_ms = reverse_etl::pg::naptime_ms();
        // One bad pass (a dropped role, a broken catalog row, out of memory)
        // must not take the launcher down: report it and try again after the
        // naptime. Every exception is caught, not only Error.
        const bool passed = reverse_etl::pg::run_catching([&] {
            forget_finished_workers();
            sleep_ms = schedule_once(first_pass);
        });
        if (!passed)
            reverse_etl::pg::report_kept_error(WARNING, "reverse_etl launcher: ");
        (void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
    }
    elog(LOG, "reverse_etl launcher shutting down");
    // Exit code 1: the postmaster restarts the launcher after its restart
    // delay when it was stopped alone (pg_terminate_backend); during a server
    // shutdown nothing is restarted anyway. Exit code 0 would unregister it.
    proc_exit(1);
}

}  // extern "C"
