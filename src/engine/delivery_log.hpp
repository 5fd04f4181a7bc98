// What may have reached the destination. A run's selection (the outbox's
// identifiers, changes, hashes and versions) is committed to the mapping's
// sending_<id> table before its first request; acknowledgements reach the
// checkpoint about once a second. A run that ends with every record
// acknowledged empties the log. Otherwise, at its end or, after a crash, at
// the start of the next run, every logged record the checkpoint does not show
// acknowledged is marked unconfirmed there (catalog/mapping_state.hpp), so
// that the next diff sends it again (as the same version when its values are
// unchanged) or, if it left the model, sends its deletion: a record that may
// have reached the destination is never forgotten.
#pragma once

#include "engine/mapping_plan.hpp"

namespace reverse_etl::engine {

// Logs the outbox as this run's selection (in the extraction's transaction).
void log_selection(const MappingPlan &plan);

// Marks the logged records the checkpoint does not show acknowledged as
// unconfirmed, then empties the log. Needs the checkpoint's key.
void settle_selection(const MappingPlan &plan);

// Empties the log: every record in it was acknowledged.
void clear_selection(const MappingPlan &plan);

// Whether a run left records in the log (it crashed, or ended early).
bool selection_pending(const MappingPlan &plan);

}  // namespace reverse_etl::engine
