// Starting a sync in a background worker and waiting for it from a SQL
// function, relaying the worker's NOTICEs to the caller as they come.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::pg {

// Runs the mapping's sync in a new background worker connected as `role`, and
// returns the run's id once the worker has finished. Cancelling the caller
// (Ctrl-C) cancels the run. Throws 55006 when another run of the mapping is
// going, 53000 when no worker slot is free.
int64_t run_sync_in_worker(unsigned int role, int64_t mapping_id, const std::string &mapping_name,
                           const std::string &trigger);

}  // namespace reverse_etl::pg
