// The row index of a mapping whose action writes rows of a grid
// (catalog::ActionDef::row_index: Google Sheets): one row number per record
// id, in reverse_etl_state.sheet_rows_<mapping id> (catalog::sheet_rows_table).
// Row 1 is left to a header; records take rows 2, 3, ... in the order they
// are first sent. A row, once given, stays the record's for the mapping's
// life: an update rewrites it, a delete clears it and keeps it (a record that
// comes back gets its old row again), and a resend after a crash finds it.
//
// Crash safety: rows are reserved and committed before any request carries
// them (reserve_sheet_rows), and every request names its rows explicitly, so
// a request sent twice (a retry, a run after a crash between the send and
// the checkpoint) writes the same cells twice and never adds a row.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "destinations/request_builder.hpp"
#include "engine/mapping_plan.hpp"

namespace reverse_etl::engine {

// Gives each record its row as its object_id ({{object_id}} in the
// definition's templates), reserving rows for record ids without one. Runs
// and commits its own transaction (a sync's delivery, between outbox chunks),
// or, with `own_transaction` false, in the caller's (send_test_record).
void assign_sheet_rows(const MappingPlan &plan, std::vector<destinations::OutgoingRecord> &records,
                       bool own_transaction = true);

// What preview_mapping shows: a record's row, or for one without a row the
// row it would get (the next free ones, in the order asked). Writes nothing.
class SheetRowPreview {
  public:
    explicit SheetRowPreview(const MappingPlan &plan);
    std::string row_of(const std::string &record_id);

  private:
    std::string table_;
    bool exists_ = false;
    int64_t next_ = 2;
    std::unordered_map<std::string, std::string> assumed_;
};

}  // namespace reverse_etl::engine
