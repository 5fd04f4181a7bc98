// A streamed first run's checkpoint rows, stored straight from its selection
// log (engine::MappingPlan::records_in_log), as COPY stores rows: no
// statement to plan, no TID scan through the executor, no per-row function
// for the destination's ids, and a page of rows in one WAL record. Through
// SQL (INSERT ... SELECT from the log's TID ranges) these writes were a
// quarter of a first sync's time in the sync worker. No PostgreSQL headers
// for the caller.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace reverse_etl::pg {

struct LoggedDelivery {
    uint32_t block;               // the record's row of the log
    uint16_t offset;
    const std::string *object_id;  // the destination's id of the record, or nullptr
};

// Appends to `schema`.`checkpoint` one row per delivered record: its log
// row's record_id, hash and dest_key, the object id given, version and
// unconfirmed NULL. Log rows of deletions are passed over (a checkpoint
// keeps no row for them). Only for a checkpoint that is empty of this run's
// records' identifiers (a first run's, whose key is built at its end): no
// uniqueness is checked. Returns false, storing nothing, when the
// checkpoint has an index, a trigger, a rule or row security, which only a
// table written by INSERT may have: the caller writes with SQL then. Later
// statements of the transaction see the rows.
bool append_checkpoint_rows(const std::string &schema, const std::string &checkpoint, const std::string &log,
                            const std::vector<LoggedDelivery> &delivered);

}  // namespace reverse_etl::pg
