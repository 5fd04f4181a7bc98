#include "worker/run_session.hpp"

#include "pg/postgres_headers.hpp"
#include "pg/stable_formatting.hpp"

namespace reverse_etl::worker {

namespace {

// Values print the same in every run (hashes and payloads depend on it).
void pin_formatting() {
    reverse_etl::pg::pin_formatting_for_session();
    SetConfigOption("client_min_messages", "notice", PGC_USERSET, PGC_S_SESSION);
}

// The run's work tables are temporary and the diff is a hash join: give both
// some memory, but a fixed amount, so a worker's private memory does not grow
// with the model (local buffers and hash tables count against the process).
void size_work_memory() {
    SetConfigOption("temp_buffers", "32MB", PGC_USERSET, PGC_S_SESSION);
    SetConfigOption("work_mem", "32MB", PGC_USERSET, PGC_S_SESSION);
    // The sort that builds a first run's checkpoint key (see
    // catalog::drop_checkpoint_key) spills past this instead of growing.
    SetConfigOption("maintenance_work_mem", "32MB", PGC_USERSET, PGC_S_SESSION);
    // Each run's statements are big enough to cross the JIT cost thresholds,
    // and each would be compiled anew every run: on the benchmark's model the
    // compilation cost more than it saved (2.7 s against 2.4 s to fill the
    // outbox of a million records).
    SetConfigOption("jit", "off", PGC_USERSET, PGC_S_SESSION);
}

}  // namespace

void configure_run_session() {
    pin_formatting();
    size_work_memory();
}

}  // namespace reverse_etl::worker
