// A mapping's sync state, two tables in reverse_etl_state:
//
// checkpoint_<id> (record_id, hash, version, unconfirmed): what the
// destination holds of each record: the hash of the values the mapping sent.
// `unconfirmed` is NULL when the destination acknowledged them, else the
// change sent whose answer was lost (engine/delivery_log.hpp): 'a' added
// (the destination may not have the record), 'u' updated (it may hold an
// older version), 'd' deleted (it may still hold the record); `version`, only
// then, the version that change was sent as (the run that first selected it;
// see engine::message_id), which a resend of the same values keeps. NULL in
// acknowledged rows, which so stay as narrow as (record_id, hash): the diff
// hashes every row of the checkpoint.
//
// sending_<id> (record_id, chg, hash, version): the run's selection, written
// and committed before its first request: what may reach the destination
// whatever happens to the run.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::catalog {

std::string checkpoint_table(int64_t mapping_id);  // schema-qualified name
std::string checkpoint_table_name(int64_t mapping_id);  // in reverse_etl_state
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
std::string sending_table(int64_t mapping_id);  // schema-qualified name
std::string sending_table_name(int64_t mapping_id);  // in reverse_etl_state
// sheet_rows_<id> (record_id, sheet_row): the row index of a row_index
// action (engine/sheet_rows.hpp), made on first use. reset_checkpoint keeps
// it (the rows are the destination's: a record sent again after a reset
// rewrites its own row); drop_checkpoint drops it.
std::string sheet_rows_table(int64_t mapping_id);
// Both tables forget everything: the next run sends every record as added.
void reset_checkpoint(int64_t mapping_id);
void drop_checkpoint(int64_t mapping_id);

}  // namespace reverse_etl::catalog
