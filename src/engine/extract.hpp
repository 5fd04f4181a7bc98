// Extract and classify: evaluate the model (with the mapping's filter) as its
// owner, hash what the mapping sends, and let PostgreSQL diff that against
// the checkpoint with a hash join. The records the sync mode selects are
// then copied, with their values rendered as JSON by PostgreSQL, into an
// outbox that delivery reads in chunks across many short transactions.
//
// Work tables are temporary tables of the session: pg_temp.reverse_etl_*.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/mapping_plan.hpp"
#include "engine/run_record.hpp"

namespace reverse_etl::engine {

// Creates the work tables, fills the outbox and returns the counts. A dry
// run (preview) leaves the checkpoint and record errors alone; a real run
// checkpoints the changes its sync mode does not send and refreshes the
// mapping's invalid-record errors. `outbox_limit` caps the outbox (preview).
RunCounters extract_and_classify(const MappingPlan &plan, int64_t run_id, bool dry_run,
                                 std::optional<int64_t> outbox_limit = std::nullopt);

struct OutboxRow {
    std::string tid;                            // where it is in the outbox: "(block,offset)"
    std::string record_id;
    std::string change;                         // added | updated | deleted
    std::string version;                        // what it goes out as (see message_id)
    std::vector<std::optional<std::string>> values;  // JSON text per plan.value_columns entry
};

// The outbox is written once, in one statement, and never updated: its rows
// lie in block order, and delivery reads it by ranges of blocks (a TID range
// scan), with no index to build and no sequence column to number it.
int64_t outbox_blocks();
// The live outbox rows in blocks [first_block, first_block + block_count), in
// TID order: delivery numbers them in that order (see DeliveredRecord).
std::vector<OutboxRow> read_outbox(const MappingPlan &plan, int64_t first_block, int64_t block_count);

// The outbox, for statements that join delivered records back to it.
std::string outbox_table();

void drop_work_tables();

}  // namespace reverse_etl::engine
