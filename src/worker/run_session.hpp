// The session settings of a process that works on a run: the sync worker
// and its model reader (pg/query_stream.hpp) render, hash and sort alike.
#pragma once

namespace reverse_etl::worker {

// Pins value formatting (hashes and payloads depend on it) and sizes the
// memory a run's statements may use. Call once connected.
void configure_run_session();

}  // namespace reverse_etl::worker
