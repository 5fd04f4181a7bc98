// A mapping's sync state: its checkpoint table, reverse_etl_state.checkpoint_<id>,
// holding (record_id, hash of the values the mapping sends) for every record
// the destination has accepted.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::catalog {

std::string checkpoint_table(int64_t mapping_id);  // schema-qualified name
// The model's owner may read it (the diff runs as that role), not write it.
void create_checkpoint(int64_t mapping_id, unsigned int model_owner);
void reset_checkpoint(int64_t mapping_id);          // the next run sends every record as added
void drop_checkpoint(int64_t mapping_id);

}  // namespace reverse_etl::catalog
