// What one run of a live mapping takes on (catalog/live_capture.hpp); in a
// header of its own so that the launcher and sql_api/, which include
// PostgreSQL's headers, can name it.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::catalog {

struct LiveRunScope {
    // The changes of the batches up to this one (live_pending.changes).
    int64_t seen = 0;
    // Whether the run evaluates the model for the changed records only; else
    // it diffs the whole model.
    bool incremental = false;
    std::string full_reason;  // why it does not, when it does not
};

}  // namespace reverse_etl::catalog
