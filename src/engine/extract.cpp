#include "engine/extract.hpp"

#include "common/error.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

const char *const kCurrent = "pg_temp.reverse_etl_current";
const char *const kChanges = "pg_temp.reverse_etl_changes";
const char *const kOutbox = "pg_temp.reverse_etl_outbox";

int64_t count_of(const pg::Result &result) { return std::stoll(result.scalar()); }

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
void analyze(const char *table) { pg::execute_catalog(std::string("ANALYZE ") + table); }

// The model's query runs as its owner, with the search_path it was written
// for, as a security-restricted operation.
template <typename Body>
auto as_model_owner(const MappingPlan &plan, Body &&body) -> decltype(body()) {
    const pg::RoleScope as_owner(plan.model.owner, plan.model.search_path);
    return with_model_name(plan, std::forward<Body>(body));
}

std::string value_columns(const MappingPlan &plan, bool with_types) {
    std::string columns;
    for (size_t i = 0; i < plan.value_columns.size(); i++)
        columns += ", v" + std::to_string(i) + (with_types ? " text" : "");
    return columns;
}

// Created as the model's owner, so that the model's query, run as that role,
// can fill them; the catalog owner can read any table.
void create_work_tables(const MappingPlan &plan) {
    const pg::RoleScope as_owner(plan.model.owner, "pg_catalog", pg::RoleScope::Restriction::None);
    drop_work_tables();
    // chg: added | updated | deleted | invalid (an identifier seen more than
    // once, or NULL: `copies` says how many records it stands for).
    pg::execute(std::string("CREATE TEMP TABLE reverse_etl_changes "
                            "(rid text COLLATE \"C\", chg text, hash bigint, copies bigint, checkpointed boolean, selected boolean)"));
    pg::execute(std::string("CREATE TEMP TABLE reverse_etl_current (rid text COLLATE \"C\", hash bigint)"));
    pg::execute("CREATE TEMP TABLE reverse_etl_outbox (seq bigint, rid text COLLATE \"C\", chg text, hash bigint" +
                value_columns(plan, true) + ")");
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

// The selected records' values, rendered by to_json(): what payloads are
// built from. With deletions possible (rows of the changes table `c`), the
// identifier of a deleted record comes from the change itself.
std::string rendered_values(const MappingPlan &plan, bool may_be_deleted) {
    std::string values;
    for (size_t i = 0; i < plan.value_columns.size(); i++) {
        std::string expression = value_json_sql(plan, i);
        if (may_be_deleted && plan.value_columns[i] == plan.primary_key_column) {
            // A deleted record's payload has every column NULL but its identifier.
            const std::string &type = plan.model.columns[plan.primary_key_column].type;
            expression = "CASE WHEN c.chg = 'deleted' THEN pg_catalog.to_json(c.rid::" + type +
                         ")::text ELSE " + expression + " END";
        }
        values += ", " + expression;
    }
    return values;
}

std::string limit_sql(std::optional<int64_t> limit) {
    return limit ? " LIMIT " + std::to_string(*limit) : "";
}

// The diff, run as the model's owner (who may read, not write, the mapping's
// checkpoint). First the model's records, one narrow row each: identifier and
// a hash of the values the mapping sends. Then, grouped by identifier (so
// duplicates and NULLs show) and full-joined with the checkpoint by
// PostgreSQL's hash join, only the differences come out: unchanged records
// are never materialised twice.
void classify(const MappingPlan &plan) {
    as_model_owner(plan, [&] {
        pg::execute(std::string("INSERT INTO ") + kCurrent + " (rid, hash) SELECT " + record_id_sql(plan) + ", " +
                    record_hash_sql(plan) + " FROM " + filtered_model_sql(plan, "m"));
    });
    analyze(kCurrent);
    as_model_owner(plan, [&] {
        pg::execute(std::string("INSERT INTO ") + kChanges + " (rid, chg, hash, copies, checkpointed, selected) " +
                    "SELECT d.rid, d.chg, d.hash, d.copies, d.checkpointed, " + selected_sql(plan, "d.chg") + " FROM ("
                    "SELECT coalesce(c.rid, k.record_id) AS rid, c.hash, c.copies, k.record_id IS NOT NULL AS checkpointed, CASE "
                    "WHEN c.copies > 1 OR (c.copies IS NOT NULL AND c.rid IS NULL) THEN 'invalid' "
                    "WHEN k.record_id IS NULL THEN 'added' WHEN c.copies IS NULL THEN 'deleted' "
                    "ELSE 'updated' END AS chg "
                    "FROM (SELECT rid, pg_catalog.count(*) AS copies, pg_catalog.min(hash) AS hash FROM " + kCurrent +
                    " GROUP BY rid) AS c FULL JOIN " + plan.checkpoint_table + " AS k ON k.record_id = c.rid "
                    "WHERE c.hash IS DISTINCT FROM k.hash OR c.copies > 1 OR (c.copies IS NOT NULL AND c.rid IS NULL)"
                    ") AS d");
    });
}

// Changes the sync mode does not send still move the checkpoint: a mapping of
// added records does not resend a record when it changes later.
void checkpoint_unselected(const MappingPlan &plan) {
    pg::execute_catalog("INSERT INTO " + plan.checkpoint_table + " (record_id, hash) SELECT c.rid, c.hash FROM " +
                        kChanges + " c WHERE NOT c.selected AND c.chg IN ('added', 'updated') "
                        "ON CONFLICT (record_id) DO UPDATE SET hash = EXCLUDED.hash");
    pg::execute_catalog("DELETE FROM " + plan.checkpoint_table + " k USING " + kChanges +
                        " c WHERE c.rid = k.record_id AND NOT c.selected AND c.chg = 'deleted'");
}

// Pass 2, as the model's owner: the selected changes' current values. A
// record that vanished or left the filter since the diff is not sent now;
// the next run classifies it afresh. The hash checkpointed is the diff's: if
// the record changed in between, the next run sees it differ and sends it
// again (at least once, never lost).
int64_t fill_outbox_from_changes(const MappingPlan &plan, std::optional<int64_t> limit) {
    return as_model_owner(plan, [&] {
        return static_cast<int64_t>(
            pg::execute(std::string("INSERT INTO ") + kOutbox + " (seq, rid, chg, hash" + value_columns(plan, false) +
                        ") SELECT pg_catalog.row_number() OVER (), c.rid, c.chg, c.hash" +
                        rendered_values(plan, true) + " FROM " + kChanges + " c LEFT JOIN " +
                        filtered_model_sql(plan, "m") + " ON c.chg <> 'deleted' AND " + record_id_sql(plan) +
                        " = c.rid WHERE c.selected AND (c.chg = 'deleted' OR m.reverse_etl_present)" +
                        limit_sql(limit))
                .processed);
    });
}

// The first run of a mapping (or the first after a reset): every record is
// added, so one pass over the model fills the outbox directly.
int64_t fill_outbox_from_model(const MappingPlan &plan, std::optional<int64_t> limit) {
    return as_model_owner(plan, [&] {
        return static_cast<int64_t>(
            pg::execute(std::string("INSERT INTO ") + kOutbox + " (seq, rid, chg, hash" + value_columns(plan, false) +
                        ") SELECT pg_catalog.row_number() OVER (), " + record_id_sql(plan) + ", 'added', " +
                        record_hash_sql(plan) + rendered_values(plan, false) + " FROM " +
                        filtered_model_sql(plan, "m") + limit_sql(limit))
                .processed);
    });
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
// then the outbox) nothing was checkpointed.
void count_changes(RunCounters &counters, int64_t checkpointed_before, std::optional<int64_t> first_run_added) {
    const pg::Result counts = pg::execute_catalog(
        std::string("SELECT count(*) FILTER (WHERE chg = 'added'), count(*) FILTER (WHERE chg = 'updated'), "
                    "count(*) FILTER (WHERE chg = 'deleted'), coalesce(sum(copies) FILTER (WHERE chg = 'invalid'), 0), "
                    "count(*) FILTER (WHERE chg = 'invalid' AND checkpointed), count(*) FILTER (WHERE selected) "
                    "FROM ") + kChanges);
    const auto &row = counts.rows.at(0);
    counters.added = first_run_added.value_or(std::stoll(*row[0]));
    counters.updated = std::stoll(*row[1]);
    counters.deleted = std::stoll(*row[2]);
    counters.invalid = std::stoll(*row[3]);
    counters.selected = first_run_added.value_or(std::stoll(*row[5]));
    const int64_t invalid_checkpointed = std::stoll(*row[4]);
    counters.unchanged = checkpointed_before - counters.updated - counters.deleted - invalid_checkpointed;
    counters.extracted = counters.added + counters.updated + counters.unchanged + counters.invalid;
}

// Invalid-record errors follow the records: kept (with when first seen)
// while still invalid, gone once fixed; failed and rejected ones stay while
// their record still needs delivery.
// `selected`: the table of records this run sends (the outbox on a first
// run, else the selected changes).
void refresh_record_errors(const MappingPlan &plan, int64_t run_id, bool first_run) {
    const std::string mapping_id = std::to_string(plan.mapping.id);
    const std::string still_selected = first_run ? std::string("SELECT 1 FROM ") + kOutbox + " s WHERE s.rid = e.record_id"
                                                 : std::string("SELECT 1 FROM ") + kChanges +
                                                       " s WHERE s.rid = e.record_id AND s.selected";
    pg::execute_catalog("DELETE FROM reverse_etl.record_error_catalog e WHERE e.mapping_id = $1::bigint "
                        "AND e.record_id IS NOT NULL AND NOT EXISTS (" + still_selected + ") AND NOT EXISTS "
                        "(SELECT 1 FROM " + std::string(kChanges) + " i WHERE i.rid = e.record_id AND i.chg = 'invalid')",
                        {mapping_id});
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


}  // namespace

RunCounters extract_and_classify(const MappingPlan &plan, int64_t run_id, bool dry_run,
                                 std::optional<int64_t> outbox_limit) {
    RunCounters counters;
    create_work_tables(plan);
    const int64_t checkpointed = count_of(pg::execute_catalog("SELECT count(*) FROM " + plan.checkpoint_table));
    // Nothing checkpointed: every record is added. When the sync mode sends
    // added records, skip the diff and read the model once.
    const bool first_run = checkpointed == 0 && plan.sends_added;
    std::optional<int64_t> first_run_added;
    if (first_run) {
        const int64_t filled = fill_outbox_from_model(plan, outbox_limit);
        first_run_added = filled - set_aside_invalid_in_outbox();
        counters.outbox = *first_run_added;
    } else {
        classify(plan);
        analyze(kChanges);
        counters.outbox = fill_outbox_from_changes(plan, outbox_limit);
    }
    count_changes(counters, checkpointed, first_run_added);
    if (!dry_run) {
        checkpoint_unselected(plan);
        refresh_record_errors(plan, run_id, first_run);
    }
    {
        const pg::RoleScope as_owner(plan.model.owner, "pg_catalog", pg::RoleScope::Restriction::None);
        pg::execute(std::string("CREATE INDEX ON ") + kOutbox + " (seq)");
    }
    // No ANALYZE: the outbox is only read by ranges of its index, which the
    // planner picks from the table's real size.
    return counters;
}

std::vector<OutboxRow> read_outbox(const MappingPlan &plan, int64_t after_seq, int64_t limit) {
    const pg::Result result = pg::execute_catalog(
        // Qualified: a bare "seq" in ORDER BY would mean the text output column.
        "SELECT o.seq::text, rid, chg, hash::text" + value_columns(plan, false) + " FROM " + kOutbox +
            " AS o WHERE o.seq > $1::bigint ORDER BY o.seq LIMIT $2::bigint",
        {std::to_string(after_seq), std::to_string(limit)});
    std::vector<OutboxRow> rows;
    rows.reserve(result.rows.size());
    for (const auto &row : result.rows) {
        OutboxRow outbox_row;
        outbox_row.seq = std::stoll(*row[0]);
        outbox_row.record_id = *row[1];
        outbox_row.change = *row[2];
        if (row[3])
            outbox_row.hash = std::stoll(*row[3]);
        outbox_row.values.assign(row.begin() + 4, row.end());
        rows.push_back(std::move(outbox_row));
    }
    return rows;
}

void drop_work_tables() {
    // As the catalog owner, who may drop them whoever created them. Only those
    // that exist: DROP ... IF EXISTS would NOTICE about each missing one.
    const pg::Result existing = pg::execute_catalog(
        "SELECT string_agg('pg_temp.' || quote_ident(relname), ', ') FROM pg_class "
        "WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r' AND relname IN "
        "('reverse_etl_current', 'reverse_etl_changes', 'reverse_etl_outbox')");
    if (!existing.empty() && existing.rows[0][0])
        pg::execute_catalog("DROP TABLE " + *existing.rows[0][0]);
}

}  // namespace reverse_etl::engine
