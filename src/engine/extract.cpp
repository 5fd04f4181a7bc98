#include "engine/extract.hpp"

#include "catalog/live_capture.hpp"
#include "catalog/mapping_state.hpp"
#include "common/error.hpp"
#include "common/parse_number.hpp"
#include "engine/delivery_log.hpp"
#include "pg/guc.hpp"
#include "pg/key_uniqueness.hpp"
#include "pg/role_scope.hpp"
#include "pg/scoped_settings.hpp"
#include "pg/select_into_table.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

// Without the schema for pg::select_into_table: the fills that read only
// the model, whose SELECT may then be planned with parallel workers.
const char *const kCurrentName = "reverse_etl_current";
const char *const kOutboxName = "reverse_etl_outbox";
const std::string kCurrent = std::string("pg_temp.") + kCurrentName;
const char *const kChangesName = "reverse_etl_changes";
const std::string kChanges = std::string("pg_temp.") + kChangesName;
const std::string kOutbox = std::string("pg_temp.") + kOutboxName;

int64_t count_of(const pg::Result &result) { return number_from_sql<int64_t>(result.scalar()); }

// Errors of the model's own query name the model, as create_model's do.
template <typename Body>
auto with_model_name(const MappingPlan &plan, Body &&body) -> decltype(body()) {
    try {
        return body();
    } catch (const Error &error) {
        throw error.with_message("model " + quote_identifier(plan.model.name) + ": " + error.message());
    }
}

// Temporary tables get no autovacuum: without statistics the planner takes a
// million-row table for a small one and sorts instead of hashing.
void analyze(const std::string &table) { pg::execute_catalog("ANALYZE " + table); }

// The model's query runs as its owner, with the search_path it was written
// for, as a security-restricted operation.
template <typename Body>
auto as_model_owner(const MappingPlan &plan, Body &&body) -> decltype(body()) {
    const pg::RoleScope as_owner(plan.model.owner, plan.model.search_path);
    return with_model_name(plan, std::forward<Body>(body));
}

// Owned by the catalog owner, who later reads and writes them: the model's
// owner, whose code runs while they fill, gets INSERT (and SELECT on the
// changes, which the second pass joins), never ownership. An owner could
// alter its table (a trigger, a column default) and so run its code as the
// catalog owner at the next write; INSERT and SELECT give no such hold.
void create_work_tables(const MappingPlan &plan) {
    drop_work_tables();
    // chg: added | updated | deleted | invalid (an identifier seen more than
    // once, or NULL: `copies` says how many records it stands for).
    // ver: the version the record goes out as (see message_id).
    // dkey (changes, current): the destination key
    // (MappingPlan::destination_key_column): of a deleted record, as the
    // checkpoint keeps it; else the model's. In the outbox, a sent record's
    // is NULL where its rendered values hold it: outbox_destination_key_sql.
    // oid: the destination's id of the record, as the checkpoint keeps it.
    // held: a change the sync mode sends that waits, as its record failed
    // with these very values (see hold_failed_changes); never `selected`.
    pg::execute_catalog(std::string("CREATE TEMP TABLE pg_temp.reverse_etl_changes (rid text COLLATE \"C\", "
                                    "chg text, hash bigint, ver bigint, copies bigint, checkpointed boolean, "
                                    "selected boolean, dkey text, oid text, held boolean NOT NULL DEFAULT false)"));
    pg::execute_catalog(std::string("CREATE TEMP TABLE pg_temp.reverse_etl_current (rid text COLLATE \"C\", hash bigint, "
                                    "dkey text)"));
    pg::execute_catalog("CREATE TEMP TABLE pg_temp.reverse_etl_outbox "
                        "(rid text COLLATE \"C\", chg text, hash bigint, ver bigint, vals text, dkey text, oid text)");
    if (plan.changed_records_up_to) {
        pg::execute_catalog("CREATE TEMP TABLE " + changed_records_table() + " (rid text COLLATE \"C\")");
        catalog::fill_live_run_ids(plan.mapping.id, *plan.changed_records_up_to, changed_records_table());
        analyze(changed_records_table());
    }
    if (plan.model.owner == pg::catalog_owner_oid())
        return;
    const std::string owner = quote_identifier(pg::role_name(plan.model.owner));
    pg::execute_catalog(std::string("GRANT INSERT ON ") + kCurrent + ", " + kOutbox + " TO " + owner);
    pg::execute_catalog(std::string("GRANT INSERT, SELECT ON ") + kChanges + " TO " + owner);
    if (plan.changed_records_up_to)
        pg::execute_catalog("GRANT SELECT ON " + changed_records_table() + " TO " + owner);
}

// The checkpoint's rows the diff compares with: in an incremental live run,
// those of its records only.
std::string checkpoint_rows_sql(const MappingPlan &plan) {
    if (!plan.changed_records_up_to)
        return plan.checkpoint_table;
    return "(SELECT k.* FROM " + plan.checkpoint_table + " AS k WHERE k.record_id IN (SELECT c.rid FROM " +
           changed_records_table() + " AS c))";
}

// A record error's record (`e`) is among those the run evaluated: any in a
// full run.
std::string evaluated_record_sql(const MappingPlan &plan) {
    if (!plan.changed_records_up_to)
        return "true";
    return "e.record_id IN (SELECT c.rid FROM " + changed_records_table() + " AS c)";
}

std::string selected_sql(const MappingPlan &plan, const std::string &change) {
    std::string modes;
    if (plan.sends_added)
        modes += "'added',";
    if (plan.sends_updated)
        modes += "'updated',";
    if (plan.sends_deleted)
        modes += "'deleted',";
    if (modes.empty())
        return "false";
    modes.pop_back();
    return "(" + change + " IN (" + modes + "))";
}

// The selected records' values. With deletions possible (rows of the
// changes table `c`), the identifier of a deleted record comes from the
// change itself: its payload has every column NULL but its identifier.
std::string rendered_values(const MappingPlan &plan, bool may_be_deleted) {
    if (!may_be_deleted)
        return ", " + rendered_values_sql(plan);
    const std::string &type = plan.model.columns[plan.primary_key_column].type;
    return ", " + rendered_values_sql(plan, "CASE WHEN c.chg = 'deleted' THEN c.rid::" + type + " ELSE " +
                                                "m." + quote_identifier(plan.model.primary_key) + " END");
}

std::string limit_sql(std::optional<int64_t> limit) {
    return limit ? " LIMIT " + std::to_string(*limit) : "";
}

// How the diff names a difference between the model's record `c` and its
// checkpoint row `k`, given the condition saying the record is not in the
// model. A record whose last send was never acknowledged (k.unconfirmed)
// always differs: the destination may hold that version, an older one or
// nothing. One the destination may not have ('a', 'd') goes out as added.
std::string change_kind_sql(const std::string &absent) {
    return "WHEN " + absent + " THEN 'deleted' WHEN k.record_id IS NULL OR k.unconfirmed IN ('a', 'd') "
           "THEN 'added' ELSE 'updated' END";
}

// The version a change goes out as: this run's, unless it resends exactly
// what an unacknowledged send carried (the same values, or the same
// deletion), whose version it keeps so the receiver can drop the copy.
// `hash`: the record's hash in the model (NULL when absent).
std::string change_version_sql(const std::string &absent, int64_t run_id, const std::string &hash = "c.hash") {
    return "CASE WHEN (k.unconfirmed = 'd' AND " + absent + ") OR (k.unconfirmed IN ('a', 'u') AND " + hash +
           " = k.hash) THEN k.version ELSE " + std::to_string(run_id) + " END";
}

std::string differs_sql(const std::string &hash) {
    return "(" + hash + " IS DISTINCT FROM k.hash OR k.unconfirmed IS NOT NULL)";
}

const std::string kDiffers = differs_sql("c.hash");

// A change's destination key: the checkpoint's for a deletion (the value the
// record was last sent with), else the model's (`c.dkey`). NULL when the
// mapping keeps none, without reading either.
std::string change_destination_key_sql(const MappingPlan &plan, const std::string &absent) {
    if (!plan.destination_key_column)
        return "NULL::text";
    return "CASE WHEN " + absent + " THEN k.dest_key ELSE c.dkey END";
}

// A change's object id (MappingPlan::keeps_object_ids), from the checkpoint.
std::string change_object_id_sql(const MappingPlan &plan) {
    return plan.keeps_object_ids ? "k.object_id" : "NULL::text";
}

// The diff. First, as the model's owner, the model's records, one narrow
// row each: identifier and a hash of the values the mapping sends. Then, as
// the catalog owner (no user code runs in it), grouped by identifier (so
// duplicates and NULLs show) and full-joined with the checkpoint by
// PostgreSQL's hash join, only the differences come out: unchanged records
// are never materialised twice.
void classify_grouped(const MappingPlan &plan, int64_t run_id) {
    as_model_owner(plan, [&] {
        pg::select_into_table("pg_temp", kCurrentName, "SELECT " + record_id_sql(plan) + ", " + record_hash_sql(plan) + ", " +
                                                destination_key_sql(plan) + " FROM " + filtered_model_sql(plan, "m"));
    });
    analyze(kCurrent);
    {
        pg::execute_catalog(std::string("INSERT INTO ") + kChanges +
                    " (rid, chg, hash, ver, copies, checkpointed, selected, dkey, oid) "
                    "SELECT d.rid, d.chg, d.hash, d.ver, d.copies, d.checkpointed, " + selected_sql(plan, "d.chg") +
                    ", d.dkey, d.oid FROM (SELECT coalesce(c.rid, k.record_id) AS rid, coalesce(c.hash, k.hash) AS hash, "
                    "c.copies, k.record_id IS NOT NULL AS checkpointed, " + change_version_sql("c.copies IS NULL", run_id) +
                    " AS ver, CASE WHEN c.copies > 1 OR (c.copies IS NOT NULL AND c.rid IS NULL) THEN 'invalid' " +
                    change_kind_sql("c.copies IS NULL") + " AS chg, " +
                    change_destination_key_sql(plan, "c.copies IS NULL") + " AS dkey, " + change_object_id_sql(plan) +
                    " AS oid "
                    "FROM (SELECT rid, pg_catalog.count(*) AS copies, pg_catalog.min(hash) AS hash" +
                    (plan.destination_key_column ? ", pg_catalog.min(dkey) AS dkey" : "") + " FROM " + kCurrent +
                    " GROUP BY rid) AS c FULL JOIN " + checkpoint_rows_sql(plan) + " AS k ON k.record_id = c.rid "
                    "WHERE " + kDiffers + " OR c.copies > 1 OR (c.copies IS NOT NULL AND c.rid IS NULL)) AS d");
    }
}

// A diff returns the records that changed, mostly few, but the planner
// cannot know how many rows its condition (a hash differs) keeps, takes it
// for nearly all of them, and prices sending each out of a parallel worker
// (parallel_tuple_cost): at a million rows it then planned the whole
// diff in one process (1.2-1.4 s where parallel workers took 0.8 s). Here
// the tuples leaving the workers are priced as the few they usually are.
// When many records did change, the workers still share the scan, the
// hashes and the join, which outweigh sending the rows.
const std::vector<pg::ScopedSettings::Setting> kDiffPlanning = {{"parallel_tuple_cost", "0.001"}};

// When the identifier is a NOT NULL column with a unique index of the one
// table the model reads (pg::model_key_is_unique), there are no duplicates or
// NULLs to find, and the diff needs no work table and no grouping. It is
// not one FULL JOIN: PostgreSQL 15 plans neither a full join nor an
// INSERT ... SELECT with parallel workers, and the model's rows (scan,
// render, hash) are most of a resync's work. So, as the model's owner:
//  1. the model's records that differ from the checkpoint or are not in it,
//     a LEFT JOIN stored by pg::select_into_table (parallel workers scan,
//     hash and probe; unchanged records never leave them);
//  2. how many records the model has: with the records of step 1 that are
//     not checkpointed, it says how many checkpointed ones it still has, so
//     whether any went away (cheap: the model reads one table, and no
//     value is rendered or hashed);
//  3. only then, the deleted ones: checkpointed, not in the model, stored
//     in the order of their identifiers, whatever join found them (the
//     order they go out in still depends on how the outbox is filled).
// The extraction's one snapshot (REPEATABLE READ) makes the three agree
// (t/008). A preview in a READ COMMITTED session takes three: a deletion
// committed in between may show or not, and step 3 skips the records step 1
// found, so a record shows once, as one of its changes.
void classify_unique(const MappingPlan &plan, int64_t run_id, int64_t checkpointed) {
    const std::string model = filtered_model_sql(plan, "m");
    const std::string current = "SELECT " + record_id_sql(plan) + " AS rid, " + record_hash_sql(plan) + " AS hash" +
                                (plan.destination_key_column ? ", " + destination_key_sql(plan) + " AS dkey" : "") +
                                " FROM " + model;
    const std::string present =
        "SELECT d.rid, d.chg, d.hash, d.ver, 1::bigint, d.checkpointed, " + selected_sql(plan, "d.chg") +
        ", d.dkey, d.oid, false FROM (SELECT c.rid, c.hash, k.record_id IS NOT NULL AS checkpointed, " +
        change_version_sql("false", run_id) + " AS ver, CASE " + change_kind_sql("false") + " AS chg, " +
        change_destination_key_sql(plan, "false") + " AS dkey, " + change_object_id_sql(plan) + " AS oid FROM (" +
        current + ") AS c LEFT JOIN " + checkpoint_rows_sql(plan) + " AS k ON k.record_id = c.rid WHERE " + kDiffers +
        ") AS d";
    as_model_owner(plan, [&] {
        const pg::ScopedSettings planning(kDiffPlanning);
        pg::select_into_table("pg_temp", kChangesName, present);
    });
    if (checkpointed == 0)
        return;
    const int64_t in_model =
        as_model_owner(plan, [&] { return count_of(pg::execute("SELECT pg_catalog.count(*) FROM " + model)); });
    const int64_t not_checkpointed =
        count_of(pg::execute_catalog(std::string("SELECT count(*) FROM ") + kChanges + " WHERE NOT checkpointed"));
    if (in_model - not_checkpointed >= checkpointed)
        return;
    as_model_owner(plan, [&] {
        const pg::ScopedSettings planning(kDiffPlanning);
        pg::select_into_table(
            "pg_temp", kChangesName,
            "SELECT k.record_id, 'deleted'::text, k.hash, " + change_version_sql("true", run_id, "NULL::bigint") +
                ", NULL::bigint, true, " + selected_sql(plan, "'deleted'") + ", " +
                (plan.destination_key_column ? "k.dest_key" : "NULL::text") + ", " + change_object_id_sql(plan) +
                ", false FROM " +
                checkpoint_rows_sql(plan) + " AS k WHERE NOT EXISTS (SELECT 1 FROM " + model + " WHERE " +
                record_id_sql(plan) + " = k.record_id) AND NOT EXISTS (SELECT 1 FROM " + kChanges +
                " AS s WHERE s.rid = k.record_id) ORDER BY k.record_id");
    });
}

// Whether the model's identifier is provably unique and never NULL. Proven
// in the extraction's transaction, whose lock on the table keeps the unique
// index in place until the queries relying on it are done; proven again after
// the model was read, because a first inheritance child can appear in between
// (see pg::model_key_is_unique).
bool identifier_is_unique(const MappingPlan &plan) {
    if (plan.identifier_known_unique)
        return true;
    return as_model_owner(plan, [&] { return pg::model_key_is_unique(plan.model.query, plan.model.primary_key); });
}

// Retry policy. A failed or rejected record is resent by every run, unless
// the mapping says not to (retry_failed_records) or it has failed for longer
// than reverse_etl.give_up_after: then a run leaves it alone while it is the
// same change with the same values as the send that failed (its error's
// sent_hash): it is "held", neither sent nor checkpointed, and its error
// stays, marked given up. A change to its values, or retry_records(), which
// clears the error's hash, sends it again. Judged afresh at every run, so
// turning retries back on resends the held records.
bool may_hold_failed_records(const MappingPlan &plan) {
    return !plan.mapping.retry_failed_records || pg::give_up_after_seconds() > 0;
}

// Whether a record error `e` holds the change (rid, chg, hash) given;
// parameters: $1 the mapping, $2 whether it retries, $3 give_up_after (s).
std::string holds_change_sql(const std::string &rid, const std::string &chg, const std::string &hash) {
    return "e.mapping_id = $1::bigint AND e.record_id = " + rid + " AND e.kind IN ('failed', 'rejected') "
           "AND e.sent_hash = " + hash + " AND (e.change = 'deleted') = (" + chg + " = 'deleted') "
           "AND (NOT $2::boolean OR ($3::int > 0 AND e.first_failed_at <= pg_catalog.now() - "
           "$3::int * interval '1 second'))";
}

pg::Params hold_params(const MappingPlan &plan) {
    return {std::to_string(plan.mapping.id), plan.mapping.retry_failed_records ? "true" : "false",
            std::to_string(pg::give_up_after_seconds())};
}

// After the diff: selected changes that their record's error holds.
void hold_failed_changes(const MappingPlan &plan) {
    if (!may_hold_failed_records(plan))
        return;
    pg::execute_catalog(std::string("UPDATE ") + kChanges + " AS c SET selected = false, held = true "
                        "FROM reverse_etl.record_error_catalog AS e WHERE c.selected AND " +
                            holds_change_sql("c.rid", "c.chg", "c.hash"),
                        hold_params(plan));
}

// A first run's outbox loses the records held back; they are noted among
// the changes, as held additions. Returns how many.
int64_t hold_failed_in_outbox(const MappingPlan &plan) {
    if (!may_hold_failed_records(plan))
        return 0;
    return static_cast<int64_t>(
        pg::execute_catalog(std::string("WITH held AS (DELETE FROM ") + kOutbox +
                                " AS o USING reverse_etl.record_error_catalog AS e WHERE " +
                                holds_change_sql("o.rid", "o.chg", "o.hash") + " RETURNING o.rid, o.hash) "
                                "INSERT INTO " + kChanges + " (rid, chg, hash, copies, checkpointed, selected, held) "
                                "SELECT h.rid, 'added', h.hash, 1, false, false, true FROM held AS h",
                            hold_params(plan))
            .processed);
}

// Changes the sync mode does not send still move the checkpoint: a mapping of
// added records does not resend a record when it changes later. Held ones
// are not delivered: they stay as they are.
void checkpoint_unselected(const MappingPlan &plan) {
    // Their destination key too: a mapping that sends only deletions never
    // sends the records, yet deletes them by the key they have.
    pg::execute_catalog("INSERT INTO " + plan.checkpoint_table + " AS k (record_id, hash, dest_key) "
                        "SELECT c.rid, c.hash, c.dkey FROM " + kChanges + " c WHERE NOT c.selected AND NOT c.held "
                        "AND c.chg IN ('added', 'updated') ON CONFLICT (record_id) DO UPDATE SET hash = EXCLUDED.hash, "
                        "version = NULL, unconfirmed = NULL, dest_key = EXCLUDED.dest_key, "
                        "object_id = " + kept_object_id_sql());
    pg::execute_catalog("DELETE FROM " + plan.checkpoint_table + " k USING " + kChanges +
                        " c WHERE c.rid = k.record_id AND NOT c.selected AND NOT c.held AND c.chg = 'deleted'");
}

// What an outbox row of a record sent (not deleted) stores as its
// destination key: nothing when its rendered values hold the key (the
// outbox of a first sync to Amplitude was 8% larger for the copy, and
// its key column rendered twice), else the model row's `m`.
std::string sent_destination_key_sql(const MappingPlan &plan) {
    return destination_key_field(plan) ? "NULL::text" : destination_key_sql(plan);
}

// An outbox row's destination key, from the changes table `c`: what a
// deletion was last sent with, or what the record goes out with now (the
// model may have changed since the diff: the key kept must be the one sent).
std::string stored_destination_key_sql(const MappingPlan &plan) {
    if (!plan.destination_key_column)
        return "NULL::text";
    return "CASE WHEN c.chg = 'deleted' THEN c.dkey ELSE " + sent_destination_key_sql(plan) + " END";
}

// Pass 2, as the model's owner: the selected changes' current values. A
// record that vanished or left the filter since the diff is not sent now;
// the next run classifies it afresh. The hash checkpointed is the diff's: if
// the record changed in between, the next run sees it differ and sends it
// again (at least once, never lost).
// A record is found by its identifier's text (record_id_sql), which no
// index has: the model is read whole, for 1% of its records as for all.
// With a proven-unique identifier (a column with a unique index), each
// change's identifier is read back as the column's type instead, so the
// planner can look the changed records up in that index when they are few
// (S3 of bench/, 10,000 changes of 1,000,000 records: 0.33-0.43 s of hash
// join before). The identifier's text came from that type's output, so it
// reads back as the same value, and in a unique column one value is one
// record. A deletion's identifier (perhaps of an older model, of another
// type) is never read back: the CASE keeps it out.
std::string changed_record_matches_sql(const MappingPlan &plan, bool identifier_unique) {
    if (!identifier_unique)
        return "c.chg <> 'deleted' AND " + record_id_sql(plan) + " = c.rid";
    const std::string &type = plan.model.columns[plan.primary_key_column].type;
    return "m." + quote_identifier(plan.model.primary_key) + " = CASE WHEN c.chg <> 'deleted' THEN c.rid::" + type +
           " END";
}

int64_t fill_outbox_from_changes(const MappingPlan &plan, std::optional<int64_t> limit, bool identifier_unique) {
    // Nothing to send (a resync without changes): spare the model a second read.
    if (pg::execute_catalog(std::string("SELECT 1 FROM ") + kChanges + " WHERE selected LIMIT 1").empty())
        return 0;
    return as_model_owner(plan, [&] {
        return static_cast<int64_t>(
            pg::execute(std::string("INSERT INTO ") + kOutbox +
                        " (rid, chg, hash, ver, vals, dkey, oid) SELECT c.rid, c.chg, c.hash, c.ver" +
                        rendered_values(plan, true) + ", " + stored_destination_key_sql(plan) + ", c.oid FROM " + kChanges +
                        " c LEFT JOIN " +
                        filtered_model_sql(plan, "m") + " ON " + changed_record_matches_sql(plan, identifier_unique) +
                        " WHERE c.selected AND (c.chg = 'deleted' OR m.reverse_etl_present)" +
                        limit_sql(limit))
                .processed);
    });
}

// The first run of a mapping (or the first after a reset): every record is
// added, so one pass over the model fills the outbox directly.
int64_t fill_outbox_from_model(const MappingPlan &plan, int64_t run_id) {
    return as_model_owner(plan, [&] {
        return static_cast<int64_t>(pg::select_into_table(
            "pg_temp", kOutboxName, "SELECT " + record_id_sql(plan) + ", 'added'::text, " + record_hash_sql(plan) + ", " +
                             std::to_string(run_id) + "::bigint" + rendered_values(plan, false) + ", " +
                             sent_destination_key_sql(plan) + ", NULL::text FROM " + filtered_model_sql(plan, "m")));
    });
}

// Whether a first run's records can go to delivery as the model is read
// (pg/query_stream.hpp) rather than through the outbox. Not when the whole
// outbox must be known before the first request: duplicated identifiers
// are found over the whole model, records held back (may_hold_failed_records)
// are taken out of it, a grid destination reserves rows for it, an upsert
// looks its records up first; nor for a remote model, whose rows live in a
// table of the extraction's transaction.
bool streams_first_run(const MappingPlan &plan, bool proven_unique) {
    const auto operation = plan.action.operations.find(operation_of_change(plan, "added"));
    const bool looks_up = operation != plan.action.operations.end() && operation->second.lookup;
    return proven_unique && plan.model.source == "local" &&
           !may_hold_failed_records(plan) && !plan.action.row_index && !looks_up;
}

// The model's rows as the selection log stores them, followed by their
// values (pg::StreamedQuery), started in a model reader of their own.
std::unique_ptr<pg::QueryStream> start_model_stream(const MappingPlan &plan, int64_t run_id) {
    pg::StreamedQuery query;
    query.sql = "SELECT " + record_id_sql(plan) + ", 'added'::text, " + record_hash_sql(plan) + ", " +
                std::to_string(run_id) + "::bigint, " + sent_destination_key_sql(plan) + rendered_values(plan, false) +
                " FROM " + filtered_model_sql(plan, "m");
    // The key in the values is taken from them as the rows are stored, not rendered twice.
    query.dest_key_field = static_cast<int>(destination_key_field(plan).value_or(0));
    query.role = plan.model.owner;
    query.search_path = plan.model.search_path;
    query.model_query = plan.model.query;
    query.key_column = plan.model.primary_key;
    query.error_prefix = "model " + quote_identifier(plan.model.name) + ": ";
    return pg::QueryStream::start(query);
}

// On the first run the outbox is the model: take out NULL and duplicated
// identifiers, and note them as invalid changes.
// Returns how many outbox rows it took out.
int64_t set_aside_invalid_in_outbox() {
    const pg::Result invalid = pg::execute_catalog(
        std::string("INSERT INTO ") + kChanges + " (rid, chg, copies, checkpointed, selected) " +
        "SELECT rid, 'invalid', count(*), false, false FROM " + kOutbox + " GROUP BY rid HAVING rid IS NULL OR count(*) > 1");
    if (invalid.processed == 0)
        return 0;
    return static_cast<int64_t>(
        pg::execute_catalog(std::string("DELETE FROM ") + kOutbox + " o WHERE o.rid IS NULL OR o.rid IN (SELECT rid FROM " +
                            kChanges + " WHERE chg = 'invalid' AND rid IS NOT NULL)")
            .processed);
}

// Unchanged records never reach a table: they are the checkpointed ones that
// neither changed, went away, nor turned invalid. On a first run (`added` is
// then the outbox and the records held back) nothing was checkpointed.
void count_changes(RunCounters &counters, int64_t checkpointed_before, std::optional<int64_t> first_run_added,
                   int64_t first_run_held) {
    const pg::Result counts = pg::execute_catalog(
        std::string("SELECT count(*) FILTER (WHERE chg = 'added'), count(*) FILTER (WHERE chg = 'updated'), "
                    "count(*) FILTER (WHERE chg = 'deleted'), coalesce(sum(copies) FILTER (WHERE chg = 'invalid'), 0), "
                    "count(*) FILTER (WHERE checkpointed), count(*) FILTER (WHERE selected) "
                    "FROM ") + kChanges);
    const auto &row = counts.rows.at(0);
    counters.added = first_run_added.value_or(number_from_sql<int64_t>(*row[0]));
    counters.updated = number_from_sql<int64_t>(*row[1]);
    counters.deleted = number_from_sql<int64_t>(*row[2]);
    counters.invalid = number_from_sql<int64_t>(*row[3]);
    counters.selected = first_run_added ? *first_run_added - first_run_held : number_from_sql<int64_t>(*row[5]);
    // Every change of a checkpointed record (its row is also there when an
    // unacknowledged send makes it "added" again) is one fewer unchanged.
    const int64_t changed_checkpointed = number_from_sql<int64_t>(*row[4]);
    counters.unchanged = checkpointed_before - changed_checkpointed;
    counters.extracted = counters.added + counters.updated + counters.unchanged + counters.invalid;
}

// Invalid-record errors follow the records: kept (with when first seen)
// while still invalid, gone once fixed; failed and rejected ones stay while
// their record still needs delivery (selected now, or held back), and say
// whether runs gave up on it (given_up_at).
// The records this run sends: on a first run the outbox, else the selected
// changes.
void refresh_record_errors(const MappingPlan &plan, int64_t run_id, bool first_run) {
    const std::string mapping_id = std::to_string(plan.mapping.id);
    const std::string not_in_outbox =
        !first_run ? ""
        : plan.records_in_log
            ? "NOT EXISTS (SELECT 1 FROM " + catalog::sending_table(plan.mapping.id) +
                  " s WHERE s.record_id = e.record_id) AND "
            : std::string("NOT EXISTS (SELECT 1 FROM ") + kOutbox + " s WHERE s.rid = e.record_id) AND ";
    // An incremental live run knows only of the records it evaluated.
    const std::string evaluated = evaluated_record_sql(plan);
    pg::execute_catalog("DELETE FROM reverse_etl.record_error_catalog e WHERE e.mapping_id = $1::bigint "
                        "AND e.record_id IS NOT NULL AND " + evaluated + " AND " + not_in_outbox +
                        "NOT EXISTS (SELECT 1 FROM " + kChanges +
                        " s WHERE s.rid = e.record_id AND (s.selected OR s.held OR s.chg = 'invalid'))",
                        {mapping_id});
    if (may_hold_failed_records(plan))
        pg::execute_catalog("UPDATE reverse_etl.record_error_catalog e SET given_up_at = pg_catalog.now() FROM " +
                                std::string(kChanges) + " h WHERE h.held AND h.rid = e.record_id "
                                "AND e.mapping_id = $1::bigint AND e.given_up_at IS NULL",
                            {mapping_id});
    // Records sent again (retries turned back on, retry_records) are no
    // longer given up.
    pg::execute_catalog("UPDATE reverse_etl.record_error_catalog e SET given_up_at = NULL "
                        "WHERE e.mapping_id = $1::bigint AND e.given_up_at IS NOT NULL AND " + evaluated +
                        " AND NOT EXISTS (SELECT 1 FROM " + std::string(kChanges) +
                        " h WHERE h.rid = e.record_id AND h.held)",
                        {mapping_id});
    // Records with a NULL identifier are seen only by a full diff.
    if (!plan.changed_records_up_to)
        pg::execute_catalog("DELETE FROM reverse_etl.record_error_catalog e WHERE e.mapping_id = $1::bigint "
                            "AND e.record_id IS NULL AND NOT EXISTS (SELECT 1 FROM " + std::string(kChanges) +
                            " i WHERE i.rid IS NULL AND i.chg = 'invalid')",
                            {mapping_id});
    pg::execute_catalog(
        "INSERT INTO reverse_etl.record_error_catalog AS e (mapping_id, record_id, run_id, kind, error) "
        "SELECT $1::bigint, c.rid, $2::bigint, 'invalid', CASE WHEN c.rid IS NULL "
        "THEN c.copies || ' record(s) have a NULL identifier (column \"' || $3 || '\")' "
        "ELSE 'identifier appears ' || c.copies || ' times in the model''s result' END "
        "FROM " + std::string(kChanges) + " c WHERE c.chg = 'invalid' "
        "ON CONFLICT (mapping_id, record_id) DO UPDATE SET run_id = EXCLUDED.run_id, kind = 'invalid', "
        "change = NULL, error = EXCLUDED.error, http_status = NULL, payload = NULL, "
        "attempts = e.attempts + 1, last_failed_at = pg_catalog.now()",
        {mapping_id, std::to_string(run_id), plan.model.primary_key});
}


// A preview's records in the model: the model's rows that differ from the
// checkpoint and that the sync mode sends, at most `limit` of them, with
// their values, in one statement. The LIMIT stops the scan of the model as
// soon as that many are found (a left join can probe the checkpoint's key
// row by row); only the rows it returns have their values rendered.
int64_t fill_preview_present(const MappingPlan &plan, int64_t limit) {
    const std::string rid = record_id_sql(plan);
    const std::string hash = record_hash_sql(plan);
    const std::string kind = "CASE " + change_kind_sql("false");
    return as_model_owner(plan, [&] {
        return static_cast<int64_t>(
            pg::execute(std::string("INSERT INTO ") + kOutbox + " (rid, chg, hash, ver, vals, dkey, oid) SELECT " +
                        rid + ", " + kind + ", " + hash + ", " + change_version_sql("false", 0, hash) + ", " +
                        rendered_values_sql(plan) + ", " + sent_destination_key_sql(plan) + ", " +
                        change_object_id_sql(plan) + " FROM " + filtered_model_sql(plan, "m") + " LEFT JOIN " +
                        plan.checkpoint_table + " AS k ON k.record_id = " + rid + " WHERE " + differs_sql(hash) +
                        " AND " + selected_sql(plan, kind) + limit_sql(limit))
                .processed);
    });
}

// A preview's deleted records: checkpointed ones the model no longer has, at
// most `limit` of them. Their values are NULL (the left join on false
// matches no row of the model) but for the identifier, as a run sends them.
void fill_preview_deleted(const MappingPlan &plan, int64_t limit) {
    const std::string &type = plan.model.columns[plan.primary_key_column].type;
    as_model_owner(plan, [&] {
        pg::execute(std::string("INSERT INTO ") + kOutbox + " (rid, chg, hash, ver, vals, dkey, oid) SELECT k.record_id, " +
                    "'deleted', k.hash, " + change_version_sql("true", 0, "NULL::bigint") + ", " +
                    rendered_values_sql(plan, "k.record_id::" + type) + ", k.dest_key, k.object_id FROM " + plan.checkpoint_table +
                    " AS k LEFT JOIN " + filtered_model_sql(plan, "m") + " ON false WHERE NOT EXISTS (SELECT 1 FROM " +
                    filtered_model_sql(plan, "m") + " WHERE " + record_id_sql(plan) + " = k.record_id)" +
                    limit_sql(limit));
    });
}

}  // namespace

void extract_preview(const MappingPlan &plan, int64_t limit) {
    // With a proven unique identifier no record is invalid: each row of the
    // model is a record, and the first changes found are changes. Otherwise
    // only the whole model, grouped, tells the duplicates apart: the full diff.
    // So does a mapping that may hold failed records back: the first changes
    // found may be held ones, which the full diff takes out before the limit.
    if (!may_hold_failed_records(plan) && identifier_is_unique(plan)) {
        create_work_tables(plan);
        int64_t found = 0;
        if (plan.sends_added || plan.sends_updated)
            found = fill_preview_present(plan, limit);
        if (plan.sends_deleted && found < limit)
            fill_preview_deleted(plan, limit - found);
        if (identifier_is_unique(plan))  // still (see identifier_is_unique)
            return;
    }
    extract_and_classify(plan, 0, true, limit);
}

RunCounters extract_and_classify(const MappingPlan &plan, int64_t run_id, bool dry_run,
                                 std::optional<int64_t> outbox_limit, std::unique_ptr<pg::QueryStream> *stream) {
    RunCounters counters;
    create_work_tables(plan);
    // Before counting: a repair may take out repeated rows.
    if (!dry_run) {
        catalog::ensure_checkpoint_key(plan.mapping.id, catalog::KeyRepair::RemoveDuplicates);
        // A run that crashed left what it may have sent in the log.
        if (selection_pending(plan))
            settle_selection(plan);
    }
    // In an incremental live run, the checkpointed records among those it
    // evaluates (the rest are unchanged and not counted); the live run's
    // start made sure the checkpoint is not empty.
    const int64_t checkpointed =
        count_of(pg::execute_catalog("SELECT count(*) FROM " + checkpoint_rows_sql(plan) + " AS k"));
    // Nothing checkpointed: every record is added. When the sync mode sends
    // added records, skip the diff and read the model once; the checkpoint's
    // key is built after delivery (see catalog::drop_checkpoint_key). Not in
    // a dry run: it shows `outbox_limit` records, and whether one of them is
    // duplicated further on only the diff, which groups the whole model, tells.
    const bool first_run = checkpointed == 0 && plan.sends_added && !dry_run && !plan.changed_records_up_to;
    if (!dry_run && first_run)
        catalog::drop_checkpoint_key(plan.mapping.id);
    const bool proven_unique = identifier_is_unique(plan);
    std::optional<int64_t> first_run_added;
    int64_t first_run_held = 0;
    if (first_run && stream != nullptr && streams_first_run(plan, proven_unique)) {
        // Counted as delivery takes the rows; the log is written as it goes.
        *stream = start_model_stream(plan, run_id);
        if (*stream) {
            counters.first_run = true;
            return counters;
        }
    }
    if (first_run) {
        const int64_t filled = fill_outbox_from_model(plan, run_id);
        const bool unique = proven_unique && identifier_is_unique(plan);
        first_run_added = unique ? filled : filled - set_aside_invalid_in_outbox();
        first_run_held = hold_failed_in_outbox(plan);
        counters.outbox = *first_run_added - first_run_held;
        counters.first_run = true;
    } else {
        bool unique = proven_unique;
        if (unique) {
            classify_unique(plan, run_id, checkpointed);
            unique = identifier_is_unique(plan);
            if (!unique)  // the proof no longer holds: diff again, the long way
                pg::execute_catalog(std::string("DELETE FROM ") + kChanges);
        }
        if (!unique)
            classify_grouped(plan, run_id);
        hold_failed_changes(plan);
        analyze(kChanges);
        counters.outbox = fill_outbox_from_changes(plan, outbox_limit, unique);
    }
    count_changes(counters, checkpointed, first_run_added, first_run_held);
    if (!dry_run) {
        if (!first_run)  // a first run sends every change
            checkpoint_unselected(plan);
        refresh_record_errors(plan, run_id, first_run);
        log_selection(plan);
    }
    return counters;
}

void finish_streamed_extraction(const MappingPlan &plan, int64_t run_id) {
    refresh_record_errors(plan, run_id, true);
}

bool read_outbox(const MappingPlan &plan, const std::string &after_tid,
                 const std::function<bool(const OutboxRow &row)> &visit) {
    // A fetch holds at most this many rows: a few MB, as a row stored inline
    // is under 2 kB (larger values are toasted, and detoasted one row at a time).
    constexpr size_t kFetchRows = 1000;
    // The upper bound, which no row reaches, makes the planner estimate a
    // narrow range: it picks a TID range scan for any outbox of more than a
    // few blocks, where a sequential scan would start at block 0 each chunk.
    pg::Cursor cursor("SELECT o.ctid::text, o.rid, o.chg, o.ver::text, o.vals, o.dkey, o.oid FROM " + std::string(kOutbox) +
                          " AS o WHERE o.ctid > $1::tid AND o.ctid < '(4294967295,0)'::tid",
                      {after_tid}, pg::Cursor::As::CatalogOwner);
    std::vector<std::optional<std::string_view>> values;
    values.reserve(plan.value_columns.size());
    for (size_t fetched = cursor.fetch(kFetchRows); fetched > 0; fetched = cursor.fetch(kFetchRows)) {
        for (size_t i = 0; i < fetched; i++) {
            const pg::Cursor::Row &row = cursor.row(i);
            if (!row[0] || !row[1] || !row[2] || !row[3])
                throw Error(sqlstate::kInternalError, "outbox row has a NULL identifier, change or version");
            const std::string_view vals = row[4].value_or(std::string_view());
            split_rendered_values(vals, plan.value_columns.size(), values);
            if (!visit(OutboxRow{*row[0], *row[1], *row[2], *row[3], &values, row[5], row[6]}))
                return false;
        }
    }
    return true;
}

void view_record_values(const MappingPlan &plan, const OutboxRow &row, RecordValues &values) {
    values.record_id = row.record_id;
    values.change = row.change;
    for (size_t i = 0; i < plan.value_columns.size(); i++)
        values.json_values[plan.value_columns[i]] = (*row.values)[i];
    if (plan.destination_key_column && row.change == "deleted")
        values.json_values[*plan.destination_key_column] = row.destination_key;
}

std::string kept_object_id_sql() {
    return "CASE WHEN k.dest_key IS NOT DISTINCT FROM EXCLUDED.dest_key THEN k.object_id END";
}

std::string outbox_table() { return kOutbox; }

std::string record_table(const MappingPlan &plan) {
    return plan.records_in_log ? catalog::sending_table(plan.mapping.id) : outbox_table();
}

std::string sent_rows_sql(const MappingPlan &plan) {
    if (plan.records_in_log)
        return "SELECT o.ctid AS tid, o.record_id AS rid, o.chg, o.hash, o.dest_key AS dkey FROM " +
               catalog::sending_table(plan.mapping.id) + " AS o";
    return "SELECT o.ctid AS tid, o.rid, o.chg, o.hash, " + outbox_destination_key_sql(plan, "o") +
           " AS dkey FROM " + outbox_table() + " AS o";
}

std::string outbox_destination_key_sql(const MappingPlan &plan, const std::string &alias) {
    const std::optional<size_t> field = destination_key_field(plan);
    if (!field)
        return plan.destination_key_column ? alias + ".dkey" : "NULL::text";
    return "CASE WHEN " + alias + ".chg = 'deleted' THEN " + alias + ".dkey ELSE NULLIF(pg_catalog.split_part(" +
           alias + ".vals, E'\\x1f', " + std::to_string(*field) + "), '') END";
}

void drop_work_tables() {
    drop_own_temp_tables("'reverse_etl_current', 'reverse_etl_changes', 'reverse_etl_outbox', 'reverse_etl_live_ids'");
}

void drop_own_temp_tables(const std::string &quoted_names) {
    // Only those that exist (DROP ... IF EXISTS would NOTICE about each
    // missing one), and only our own: a session's user may have made
    // relations of these names before calling preview_mapping, and the
    // catalog owner touches nothing another role owns. CREATE then fails
    // on the name, which the message below explains first.
    const pg::Result existing = pg::execute_catalog(
        "SELECT c.relname::text, c.relkind = 'r' AND c.relowner = $1::oid FROM pg_catalog.pg_class c "
        "WHERE c.relnamespace = pg_catalog.pg_my_temp_schema() AND c.relname IN (" + quoted_names + ")",
        {std::to_string(pg::catalog_owner_oid())});
    std::string ours;
    for (const auto &row : existing.rows) {
        if (*row[1] != "t")
            throw Error(sqlstate::kDuplicateTable,
                        "relation \"pg_temp." + *row[0] + "\" already exists in this session",
                        "reverse_etl uses that name for a work table of its own.",
                        "Drop the temporary relation, or call the function from another session.");
        ours += (ours.empty() ? "pg_temp." : ", pg_temp.") + *row[0];
    }
    if (!ours.empty())
        pg::execute_catalog("DROP TABLE " + ours);
}

}  // namespace reverse_etl::engine
