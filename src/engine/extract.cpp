#include "engine/extract.hpp"

#include "common/error.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

const char *const kCurrent = "pg_temp.reverse_etl_current";
const char *const kDuplicates = "pg_temp.reverse_etl_duplicates";
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

std::string outbox_value_columns(const MappingPlan &plan) {
    std::string columns;
    for (size_t i = 0; i < plan.value_columns.size(); i++)
        columns += ", v" + std::to_string(i) + " text";
    return columns;
}

// As the model's owner, so the tables are theirs: the model's query (run as
// that role) writes into them, and the catalog owner can read any table.
void create_work_tables(const MappingPlan &plan) {
    const pg::RoleScope as_owner(plan.model.owner, "pg_catalog", pg::RoleScope::Restriction::None);
    drop_work_tables();
    pg::execute(std::string("CREATE TEMP TABLE reverse_etl_current (record_id text, hash bigint)"));
    pg::execute(std::string("CREATE TEMP TABLE reverse_etl_duplicates (record_id text, copies bigint)"));
    pg::execute(std::string("CREATE TEMP TABLE reverse_etl_changes (rid text, chg text, hash bigint, selected boolean)"));
    pg::execute("CREATE TEMP TABLE reverse_etl_outbox (seq bigint, rid text, chg text, hash bigint" +
                outbox_value_columns(plan) + ")");
}

// Pass 1, as the model's owner with the model's search_path: one row per
// record, its identifier and the hash of the values the mapping sends.
void hash_model(const MappingPlan &plan) {
    const pg::RoleScope as_owner(plan.model.owner, plan.model.search_path);
    with_model_name(plan, [&] {
        pg::execute(std::string("INSERT INTO ") + kCurrent + " (record_id, hash) SELECT " + record_id_sql(plan) +
                    ", " + record_hash_sql(plan) + " FROM " + filtered_model_sql(plan, "m"));
    });
}

// NULL identifiers and identifiers seen more than once are invalid records:
// they are neither sent nor taken as deletions.
// Returns how many records had a NULL identifier.
int64_t set_aside_invalid(RunCounters &counters) {
    counters.extracted = count_of(pg::execute_catalog(std::string("SELECT count(*) FROM ") + kCurrent));
    const int64_t null_ids =
        count_of(pg::execute_catalog(std::string("SELECT count(*) FROM ") + kCurrent + " WHERE record_id IS NULL"));
    pg::execute_catalog(std::string("INSERT INTO ") + kDuplicates + " SELECT record_id, count(*) FROM " + kCurrent +
                        " WHERE record_id IS NOT NULL GROUP BY record_id HAVING count(*) > 1");
    const int64_t duplicated = count_of(
        pg::execute_catalog(std::string("SELECT coalesce(sum(copies), 0)::bigint FROM ") + kDuplicates));
    if (null_ids + duplicated > 0)
        pg::execute_catalog(std::string("DELETE FROM ") + kCurrent + " c WHERE c.record_id IS NULL OR c.record_id IN " +
                            "(SELECT record_id FROM " + kDuplicates + ")");
    counters.invalid = null_ids + duplicated;
    return null_ids;
}

std::string selected_sql(const MappingPlan &plan) {
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
    return "chg IN (" + modes + ")";
}

// The diff, done by PostgreSQL: a full hash join of the model's hashes and the
// checkpoint. Identifiers set aside as duplicates are not taken as deletions.
void classify(const MappingPlan &plan, RunCounters &counters) {
    pg::execute_catalog(std::string("INSERT INTO ") + kChanges + " (rid, chg, hash, selected) " +
                        "SELECT d.rid, d.chg, d.hash, " + selected_sql(plan) + " FROM (SELECT coalesce(c.record_id, k.record_id) AS rid, c.hash, "
                        "CASE WHEN k.record_id IS NULL THEN 'added' WHEN c.record_id IS NULL THEN 'deleted' "
                        "ELSE 'updated' END AS chg FROM " + kCurrent + " c FULL JOIN " + plan.checkpoint_table +
                        " k ON k.record_id = c.record_id WHERE c.hash IS DISTINCT FROM k.hash AND "
                        "(c.record_id IS NOT NULL OR k.record_id NOT IN (SELECT record_id FROM " + kDuplicates +
                        "))) AS d");
    const pg::Result counts = pg::execute_catalog(
        std::string("SELECT count(*) FILTER (WHERE chg = 'added'), count(*) FILTER (WHERE chg = 'updated'), "
                    "count(*) FILTER (WHERE chg = 'deleted'), count(*) FILTER (WHERE selected) FROM ") + kChanges);
    counters.added = std::stoll(*counts.rows[0][0]);
    counters.updated = std::stoll(*counts.rows[0][1]);
    counters.deleted = std::stoll(*counts.rows[0][2]);
    counters.selected = std::stoll(*counts.rows[0][3]);
    counters.unchanged = counters.extracted - counters.invalid - counters.added - counters.updated;
}

// Changes the sync mode does not send still move the checkpoint: a mapping of
// added records does not resend a record when it changes later.
void checkpoint_unselected(const MappingPlan &plan) {
    pg::execute_catalog("INSERT INTO " + plan.checkpoint_table + " (record_id, hash) SELECT c.rid, c.hash FROM " +
                        kChanges + " c WHERE NOT c.selected AND c.chg <> 'deleted' "
                        "ON CONFLICT (record_id) DO UPDATE SET hash = EXCLUDED.hash");
    pg::execute_catalog("DELETE FROM " + plan.checkpoint_table + " k USING " + kChanges +
                        " c WHERE c.rid = k.record_id AND NOT c.selected AND c.chg = 'deleted'");
}

// Invalid-record errors are recomputed by every run; failed and rejected ones
// stay while their record still needs delivery.
void refresh_record_errors(const MappingPlan &plan, int64_t run_id, int64_t null_ids) {
    const std::string mapping_id = std::to_string(plan.mapping.id);
    // Rows whose record no longer needs delivery: neither selected now nor
    // invalid now. (NULL identifiers: the shared row goes when none is left.)
    pg::execute_catalog("DELETE FROM reverse_etl.record_error_catalog e WHERE e.mapping_id = $1::bigint AND "
                        "CASE WHEN e.record_id IS NULL THEN $2::bigint = 0 "
                        "ELSE e.record_id NOT IN (SELECT rid FROM " + std::string(kChanges) + " WHERE selected) "
                        "AND e.record_id NOT IN (SELECT record_id FROM " + std::string(kDuplicates) + ") END",
                        {mapping_id, std::to_string(null_ids)});
    // Still invalid: keep when it was first seen, count this run.
    const char *const upsert =
        "INSERT INTO reverse_etl.record_error_catalog AS e (mapping_id, record_id, run_id, kind, error) "
        "SELECT $1::bigint, i.record_id, $2::bigint, 'invalid', i.error FROM (%s) AS i(record_id, error) "
        "ON CONFLICT (mapping_id, record_id) DO UPDATE SET run_id = EXCLUDED.run_id, kind = 'invalid', "
        "change = NULL, error = EXCLUDED.error, http_status = NULL, payload = NULL, "
        "attempts = e.attempts + 1, last_failed_at = pg_catalog.now()";
    const std::string null_rows = "SELECT NULL::text, $3::text WHERE $4::bigint > 0";
    const std::string duplicate_rows = "SELECT record_id, 'identifier appears ' || copies || "
                                       "' times in the model''s result' FROM " + std::string(kDuplicates);
    for (const std::string &rows : {null_rows, duplicate_rows}) {
        std::string sql = upsert;
        sql.replace(sql.find("%s"), 2, rows);
        pg::execute_catalog(sql, {mapping_id, std::to_string(run_id),
                                  std::to_string(null_ids) + " record(s) have a NULL identifier (column \"" +
                                      plan.model.primary_key + "\")",
                                  std::to_string(null_ids)});
    }
}

// Pass 2, as the model's owner: the selected records' values, rendered by
// to_json(). A record that vanished or left the filter since pass 1 is not
// sent now; the next run classifies it afresh. The hash checkpointed is pass
// 1's: if the record changed in between, the next run sees the new hash
// differ and sends it again (at least once, never lost).
int64_t fill_outbox(const MappingPlan &plan, std::optional<int64_t> limit) {
    const pg::RoleScope as_owner(plan.model.owner, plan.model.search_path);
    std::string values;
    std::string columns;
    for (size_t i = 0; i < plan.value_columns.size(); i++) {
        columns += ", v" + std::to_string(i);
        std::string expression = value_json_sql(plan, i);
        if (plan.value_columns[i] == plan.primary_key_column) {
            // A deleted record's payload has every column NULL but its identifier.
            const std::string &type = plan.model.columns[plan.primary_key_column].type;
            expression = "CASE WHEN c.chg = 'deleted' THEN pg_catalog.to_json(c.rid::" + type + ")::text ELSE " +
                         expression + " END";
        }
        values += ", " + expression;
    }
    std::string sql = std::string("INSERT INTO ") + kOutbox + " (seq, rid, chg, hash" + columns + ") " +
                      "SELECT pg_catalog.row_number() OVER (), c.rid, c.chg, c.hash" + values + " FROM " + kChanges +
                      " c LEFT JOIN " +
                      filtered_model_sql(plan, "m") + " ON c.chg <> 'deleted' AND " + record_id_sql(plan) +
                      " = c.rid WHERE c.selected AND (c.chg = 'deleted' OR m.reverse_etl_present)";
    if (limit)
        sql += " LIMIT " + std::to_string(*limit);
    return with_model_name(plan, [&] { return static_cast<int64_t>(pg::execute(sql).processed); });
}

}  // namespace

RunCounters extract_and_classify(const MappingPlan &plan, int64_t run_id, bool dry_run,
                                 std::optional<int64_t> outbox_limit) {
    RunCounters counters;
    create_work_tables(plan);
    hash_model(plan);
    // Temporary tables get no autovacuum: without statistics the planner
    // takes a million-row table for a small one and sorts instead of hashing.
    pg::execute_catalog(std::string("ANALYZE ") + kCurrent);
    const int64_t null_ids = set_aside_invalid(counters);
    classify(plan, counters);
    pg::execute_catalog(std::string("ANALYZE ") + kChanges);
    if (!dry_run) {
        checkpoint_unselected(plan);
        refresh_record_errors(plan, run_id, null_ids);
    }
    counters.outbox = fill_outbox(plan, outbox_limit);
    {
        const pg::RoleScope as_owner(plan.model.owner, "pg_catalog", pg::RoleScope::Restriction::None);
        pg::execute(std::string("CREATE INDEX ON ") + kOutbox + " (seq)");
        pg::execute(std::string("ANALYZE ") + kOutbox);
    }
    return counters;
}

std::vector<OutboxRow> read_outbox(const MappingPlan &plan, int64_t after_seq, int64_t limit) {
    std::string columns;
    for (size_t i = 0; i < plan.value_columns.size(); i++)
        columns += ", v" + std::to_string(i);
    const pg::Result result = pg::execute_catalog(
        // Qualified: a bare "seq" in ORDER BY would mean the text output column.
        "SELECT o.seq::text, rid, chg, hash::text" + columns + " FROM " + kOutbox +
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
        "('reverse_etl_current', 'reverse_etl_duplicates', 'reverse_etl_changes', 'reverse_etl_outbox')");
    if (!existing.empty() && existing.rows[0][0])
        pg::execute_catalog("DROP TABLE " + *existing.rows[0][0]);
}

}  // namespace reverse_etl::engine
