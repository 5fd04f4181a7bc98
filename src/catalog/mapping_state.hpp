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
// A first run fills an empty checkpoint with every record of the model. Its
// primary key is then built once, by sorting, when the run has delivered
// (ensure_checkpoint_key), rather than maintained insert by insert: at a
// million records that halves the cost of writing the checkpoint. Every run
// ensures the key before it reads the checkpoint, so a first run that ended
// early leaves nothing to repair by hand.
void drop_checkpoint_key(int64_t mapping_id);     // only while the checkpoint is empty
// Adds the key when missing. RemoveDuplicates first deletes repeated
// identifiers (a scan of the table): for a run that finds the key missing at
// its start, which only a first run that ended early leaves behind.
enum class KeyRepair { None, RemoveDuplicates };
void ensure_checkpoint_key(int64_t mapping_id, KeyRepair repair);
void reset_checkpoint(int64_t mapping_id);          // the next run sends every record as added
void drop_checkpoint(int64_t mapping_id);

}  // namespace reverse_etl::catalog
