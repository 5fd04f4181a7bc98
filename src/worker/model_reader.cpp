// The model reader's background worker: started by a run for a first sync
// (extract_and_classify, engine/extract.hpp), it runs the model's query and
// streams the rows to the run, which delivers them while the reader reads
// on (pg/query_stream.hpp). It connects as the run's worker does, with the
// same session settings, so it renders and hashes values alike.
#include "pg/error_crossing.hpp"
#include "pg/postgres_headers.hpp"
#include "pg/query_stream.hpp"
#include "worker/run_session.hpp"

extern "C" {
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
}

namespace {

// As the sync worker's session, but for parallel query: the sync worker
// delivering the rows is the second process on the machine's cores, and a
// parallel worker would take its time (see docs/performance.md).
void configure_reader_session() {
    reverse_etl::worker::configure_run_session();
    SetConfigOption("max_parallel_workers_per_gather", "0", PGC_USERSET, PGC_S_SESSION);
}

}  // namespace

extern "C" {

PGDLLEXPORT void reverse_etl_model_reader_main(Datum main_arg);

void reverse_etl_model_reader_main(Datum main_arg) {
    // SIGTERM (the run stopping it, shutdown) ends the query with FATAL,
    // as it ends a backend's: the run sees the queue detached.
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    // The query's errors go to the run, which reports them; what is left
    // (a failure to connect) is logged here, and the worker exits with 1.
    if (!reverse_etl::pg::run_catching(
            [&] { reverse_etl::pg::serve_query_stream(DatumGetUInt32(main_arg), configure_reader_session); }))
        reverse_etl::pg::raise_kept_error();
    proc_exit(0);
}

}  // extern "C"
