// Library entry: the module magic and _PG_init. Settings and the commit
// callback exist in every process that loads the library; the launcher and
// its shared memory only when the library is preloaded.
#include "http/http_client.hpp"
#include "pg/guc.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/shared_rate_limits.hpp"
#include "pg/postgres_headers.hpp"
#include "worker/worker_launch.hpp"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace {

void register_launcher() {
    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    // Restarted after an error exit, but not in a tight loop.
    worker.bgw_restart_time = 10;
    strlcpy(worker.bgw_library_name, "reverse_etl", sizeof(worker.bgw_library_name));
    strlcpy(worker.bgw_function_name, "reverse_etl_launcher_main", sizeof(worker.bgw_function_name));
    strlcpy(worker.bgw_name, "reverse_etl launcher", sizeof(worker.bgw_name));
    strlcpy(worker.bgw_type, "reverse_etl launcher", sizeof(worker.bgw_type));
    RegisterBackgroundWorker(&worker);
}

}  // namespace

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_init(void) {
    reverse_etl::pg::define_settings();
    reverse_etl::pg::install_commit_callback(reverse_etl::worker::start_deferred_sync_worker);
    // libcurl's global state, once per process, before any thread could exist.
    try {
        reverse_etl::http::http_global_init();
    } catch (...) {
        elog(WARNING, "reverse_etl: libcurl could not be initialised; syncs will fail");
    }
    if (!process_shared_preload_libraries_in_progress)
        return;
    // pg_upgrade runs the old server and the new one in binary-upgrade mode,
    // the new one also once its data files are in place, due mappings and
    // all: no sync may run then, and a launcher connected to the new
    // cluster's database makes pg_upgrade's DROP DATABASE of it fail. Logged,
    // so that pg_upgrade's server log shows the library was loaded and idle.
    if (IsBinaryUpgrade) {
        ereport(LOG, (errmsg("reverse_etl: the launcher is not started in binary-upgrade mode")));
        return;
    }
    reverse_etl::pg::request_launcher_shmem();
    reverse_etl::pg::install_launcher_shmem_hook();
    // Destinations' rate limits shared by every run (without preloading, a
    // run paces within itself only).
    reverse_etl::pg::request_rate_limit_shmem();
    register_launcher();
}
}
