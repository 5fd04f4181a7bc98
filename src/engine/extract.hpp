// Extract and classify: evaluate the model (with the mapping's filter) as its
// owner, hash what the mapping sends, and let PostgreSQL diff that against
// the checkpoint with a hash join. The records the sync mode selects are
// then copied, with their values rendered as JSON by PostgreSQL, into an
// outbox that delivery reads in chunks across many short transactions.
//
// Work tables are temporary tables of the session: pg_temp.reverse_etl_*.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/mapping_plan.hpp"
#include "engine/payload_builder.hpp"
#include "engine/run_record.hpp"
#include "pg/query_stream.hpp"

namespace reverse_etl::engine {

// Creates the work tables, fills the outbox and returns the counts. A dry
// run (preview) leaves the checkpoint and record errors alone; a real run
// checkpoints the changes its sync mode does not send and refreshes the
// mapping's invalid-record errors. `outbox_limit` caps the outbox (preview).
//
// A first run given `stream` may instead start a model reader and return at
// once, with only `first_run` counted: the reader streams the model's records
// to delivery (deliver() takes *stream), which logs them as it receives them,
// and finish_streamed_extraction() does the rest once they are delivered.
// *stream stays null when the run reads the model itself (see
// streams_first_run in extract.cpp, and no worker slot free).
RunCounters extract_and_classify(const MappingPlan &plan, int64_t run_id, bool dry_run,
                                 std::optional<int64_t> outbox_limit = std::nullopt,
                                 std::unique_ptr<pg::QueryStream> *stream = nullptr);

// After a streamed first run's delivery (plan.records_in_log), when the
// reader read the whole model: refreshes the mapping's record errors, as
// extraction does for the outbox (errors of records not in the log go).
// Before the log is emptied.
void finish_streamed_extraction(const MappingPlan &plan, int64_t run_id);

// preview_mapping's dry run: fills the outbox with up to `limit` of the
// records the next run would send, with the change and version it would
// send them as, and changes nothing else. With a proven unique identifier it
// stops reading the model once it has found them, rather than diffing the
// whole model; otherwise it runs the full diff (extract_and_classify).
// Statements run with the caller's settings, work_mem included: they are
// the caller's queries, in the caller's session.
void extract_preview(const MappingPlan &plan, int64_t limit);

// One outbox row as read_outbox hands it over: views into the fetched row,
// valid only during the call they are passed to.
struct OutboxRow {
    std::string_view tid;                      // where it is in the outbox: "(block,offset)"
    std::string_view record_id;
    std::string_view change;                   // added | updated | deleted
    std::string_view version;                  // what it goes out as (see message_id)
    // JSON text per plan.value_columns entry
    const std::vector<std::optional<std::string_view>> *values = nullptr;
    // A deletion's destination key as the checkpoint keeps it (JSON text of
    // the MappingPlan::destination_key_column value last sent); for other
    // changes, the value going out (already among `values`).
    std::optional<std::string_view> destination_key;
    // The destination's id of the record, as the checkpoint keeps it
    // (MappingPlan::keeps_object_ids).
    std::optional<std::string_view> object_id;
};

// The outbox is written once, in one statement, and never updated: its rows
// lie in TID order, and delivery reads it in that order through a cursor
// over a TID range scan, with no index to build and no sequence column to
// number it. Hands `visit` the live rows after the one at `after_tid`
// ("(0,0)": from the start), in TID order, until it returns false or the
// outbox ends; returns true when it ended. Delivery numbers the rows in this
// order (see DeliveredRecord). Only one fetch of rows is held at a time.
bool read_outbox(const MappingPlan &plan, const std::string &after_tid,
                 const std::function<bool(const OutboxRow &row)> &visit);

// Points `values` (sized to the model's columns) at the row's values, as
// the payload builder takes them: a deletion's columns are NULL but its
// identifier and its destination key, the value the checkpoint kept from
// the record's last send.
void view_record_values(const MappingPlan &plan, const OutboxRow &row, RecordValues &values);

// The checkpoint's object_id when a row of it (`k`) is upserted with a new
// destination key: the record's id at the destination is kept while the key
// stays, and forgotten when it changes (the destination may hold the record
// under the new key as another object).
std::string kept_object_id_sql();

// The outbox, for statements that join delivered records back to it.
std::string outbox_table();
// Where the run's records are (by TID): the outbox, or in a streamed first
// run the selection log (MappingPlan::records_in_log).
std::string record_table(const MappingPlan &plan);
// Those rows, as a SELECT of (tid, rid, chg, hash, dkey) from `o`, which a
// caller may follow with WHERE.
std::string sent_rows_sql(const MappingPlan &plan);

// The destination key an outbox row `alias` goes out with (NULL::text when
// the mapping keeps none): a deletion's is the checkpoint's, kept in the row;
// a sent record's is taken from its rendered values when they hold it (see
// destination_key_field), which the row then does not store a second time.
std::string outbox_destination_key_sql(const MappingPlan &plan, const std::string &alias);

void drop_work_tables();
// Drops those of the named temporary tables ('a', 'b': quoted SQL literals)
// that exist and the catalog owner owns; 42P07 when another role owns one.
void drop_own_temp_tables(const std::string &quoted_names);

}  // namespace reverse_etl::engine
