// Everything a run needs to know about one mapping, loaded once at its start:
// the catalog rows, the destination type and action, and the SQL pieces the
// extract and delivery phases are built from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/catalog_store.hpp"
#include "catalog/destination_type.hpp"
#include "common/json.hpp"
#include "common/sql_text.hpp"

namespace reverse_etl::engine {

struct MappingPlan {
    catalog::MappingRow mapping;
    catalog::ModelRow model;
    catalog::DestinationRow destination;
    catalog::DestinationType type;
    catalog::ActionDef action;
    JsonPtr fields;                         // the mapping's fields JSON
    JsonPtr settings;                       // the destination's settings, secrets included
    JsonPtr action_settings;                // the mapping's action settings, already in `action`

    // Model columns the mapping sends (in model order), and the identifier's position.
    std::vector<size_t> sent_columns;
    size_t primary_key_column = 0;
    // Columns whose values the payload builder receives: the sent ones plus the key.
    std::vector<size_t> value_columns;
    // The column whose value (as sent) identifies the record at the
    // destination and is kept in the checkpoint's dest_key, for deletions
    // (catalog::destination_key_column); none when the action deletes by no
    // key or the key is the model's identifier, which the checkpoint holds.
    std::optional<size_t> destination_key_column;
    // Whether an answer of the action's gives the destination's id of each
    // record (RecordOutcomeSpec::object_id): the checkpoint keeps it as
    // object_id, and the record's later changes carry it ({{object_id}}).
    bool keeps_object_ids = false;
    // Seeds the record hash with the field mapping itself, so records whose
    // payload changes because the fields changed count as updated.
    int64_t hash_seed = 0;

    // Which changes this mapping's sync mode sends.
    bool sends_added = false;
    bool sends_updated = false;
    bool sends_deleted = false;

    std::string checkpoint_table;           // schema-qualified
    // An incremental live run's: the model is evaluated, and diffed against
    // the checkpoint, only for the records of the temporary table
    // changed_records_table() (catalog::fill_live_run_ids): those changed in
    // the live batches up to this one, and those with a record error.
    std::optional<int64_t> changed_records_up_to;
    // Model columns of type jsonb that the model's query gives as json (a
    // remote model's rows, engine/remote_model): the filter still sees them
    // as jsonb (filtered_model_sql).
    std::vector<size_t> columns_read_as_json;
    // The run-scoped table a remote model's rows were read into, while it
    // exists (engine/remote_model).
    std::string remote_rows_table;
    // Whether the identifier of the rows the model's query reads is known
    // unique and never NULL: a remote model's rows, checked as they were
    // stored (engine/remote_model). Else it is proven from the catalog
    // (pg::model_key_is_unique) or not at all.
    bool identifier_known_unique = false;
    // A streamed first run's (extract_and_classify): its records are in the
    // selection log, sending_<id>, which delivery writes as the model reader
    // sends them, and not in the outbox.
    bool records_in_log = false;
    // The destination's own request timeout setting, when it has one.
    std::optional<long> destination_timeout_ms;
    // How long a run waits for the destination's asynchronous jobs
    // (catalog::JobSpec::wait), when its requests start any.
    std::optional<int64_t> job_wait_usec;
};

// Loads the mapping by id (as stored; visibility is the caller's business).
// Runs inside a transaction (it reads the catalog and parses intervals).
MappingPlan load_mapping_plan(int64_t mapping_id);

// SQL expressions over the model row aliased `m`.
std::string record_id_sql(const MappingPlan &plan);
std::string record_hash_sql(const MappingPlan &plan);
// The values the mapping sends of the model row `m`, as one text: every
// value column rendered as to_json() renders it (bytea as base64 text, as
// the SPEC wants) by reverse_etl_state.render_values, which joins them with
// U+001F (JSON text never holds it unescaped); an empty field is SQL NULL.
// `identifier`, when given, is an expression used instead of the identifier
// column (of the identifier's type).
std::string rendered_values_sql(const MappingPlan &plan, const std::optional<std::string> &identifier = std::nullopt);
// The destination key of the model row `m` (see destination_key_column),
// rendered as a value of rendered_values_sql; NULL::text when none is kept.
std::string destination_key_sql(const MappingPlan &plan);
// Where the destination key is among a record's rendered values (1-based, as
// split_part counts): the key column is one of plan.value_columns, so its
// rendered value is the destination key itself. nullopt when none is kept or
// the key column is not sent.
std::optional<size_t> destination_key_field(const MappingPlan &plan);
// The values of one such text, one per plan.value_columns entry.
std::vector<std::optional<std::string>> split_rendered_values(std::string_view text, size_t expected);
// The same as views of `text`, into `values` (cleared first): no copy.
void split_rendered_values(std::string_view text, size_t expected, std::vector<std::optional<std::string_view>> &values);
// The model's query with the mapping's filter, as a subquery aliased `alias`;
// in an incremental live run, only its changed records.
std::string filtered_model_sql(const MappingPlan &plan, const std::string &alias);
// The temporary table of an incremental live run's records (rid text).
std::string changed_records_table();

using reverse_etl::quote_identifier;   // common/sql_text.hpp

// Unique per (mapping, record, version) and the same every time that version
// is sent: on retries, and when a later run resends it after a crash or an
// unanswered request (engine/delivery_log.hpp), so receivers can drop the
// copies. A version is named by the run that first selected it, so a record
// that changes back to earlier values, is deleted and added again, or is
// resent after reset_mapping gets a new id.
// The destination operation a change is sent with, when the action declares
// that operation (its own request and element); "" for the action's own.
std::string operation_of_change(const MappingPlan &plan, const std::string &change);
// The operation whose request a record is shown or tested with when nothing
// is looked up first: operation_of_change's, or "add" for a record with no
// kept id whose upsert looks it up and creates it when not found
// (catalog::LookupDef::Missing::Add), as the first sync sends new records.
std::string operation_without_lookup(const MappingPlan &plan, const std::string &change, bool has_object_id);

std::string message_id(const MappingPlan &plan, std::string_view record_id, std::string_view version);

// 64-bit FNV-1a: stable across processes and versions (it is stored in checkpoints).
uint64_t stable_hash(std::string_view text, uint64_t seed = 0xcbf29ce484222325ULL);

}  // namespace reverse_etl::engine
