#include "catalog/live_capture.hpp"

#include <algorithm>
#include <string>

#include "catalog/schedule.hpp"
#include "common/error.hpp"
#include "common/parse_number.hpp"
#include "common/sql_text.hpp"
#include "pg/guc.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::catalog {

namespace {

// The advisory lock (with the table's oid) that serializes setting up a
// table's capture: "RETL".
constexpr int32_t kLiveCaptureLockClass = 1380275276;

constexpr const char *kNotCapturableHint =
    "Use another schedule, such as an interval, for this model.";

// The key capture triggers of a key table, one per event: transition
// tables can be given to a trigger of one event only.
struct KeyTrigger {
    const char *name;
    const char *event;
    const char *transition_tables;
};
constexpr KeyTrigger kKeyTriggers[] = {
    {"reverse_etl_live_keys_insert", "INSERT", "NEW TABLE AS reverse_etl_new"},
    {"reverse_etl_live_keys_update", "UPDATE", "OLD TABLE AS reverse_etl_old NEW TABLE AS reverse_etl_new"},
    {"reverse_etl_live_keys_delete", "DELETE", "OLD TABLE AS reverse_etl_old"},
};

// Ours: the name and the function (a user's own trigger of that name would
// make CREATE TRIGGER fail, which says so).
bool has_capture_trigger(unsigned int relid) {
    return !pg::execute_catalog("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid AND tgname = $2 "
                                "AND tgfoid = 'reverse_etl_state.capture_change()'::pg_catalog.regprocedure",
                                {std::to_string(relid), kLiveTrigger})
                .empty();
}

// The column a key table's key capture records ("" when it has none).
std::string captured_key_column(unsigned int relid) {
    const pg::Result column = pg::execute_catalog(
        "SELECT pg_catalog.convert_from(pg_catalog.substr(t.tgargs, 1, pg_catalog.length(t.tgargs) - 1), "
        "pg_catalog.getdatabaseencoding()) FROM pg_catalog.pg_trigger t "
        "WHERE t.tgrelid = $1::oid AND t.tgname = $2 AND t.tgnargs = 1 "
        "AND t.tgfoid = 'reverse_etl_state.capture_keys()'::pg_catalog.regprocedure",
        {std::to_string(relid), kKeyTriggers[1].name});
    return column.empty() ? "" : column.scalar();
}

// Whether the statement trigger of the key table still fires for INSERT,
// UPDATE or DELETE (set up before the table was a key table): the key
// triggers record those, with the keys.
bool statement_trigger_records_rows(unsigned int relid) {
    return !pg::execute_catalog("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid AND tgname = $2 "
                                "AND (tgtype::int & 28) <> 0",  // TRIGGER_TYPE_INSERT | DELETE | UPDATE
                                {std::to_string(relid), kLiveTrigger})
                .empty();
}

std::string create_statement_trigger_sql(const pg::ReadRelation &table, bool key_table) {
    return std::string(key_table ? "CREATE OR REPLACE TRIGGER " : "CREATE TRIGGER ") + kLiveTrigger + " AFTER " +
           (key_table ? "TRUNCATE" : "INSERT OR UPDATE OR DELETE OR TRUNCATE") + " ON " + table.qualified_name +
           " FOR EACH STATEMENT EXECUTE FUNCTION reverse_etl_state.capture_change()";
}

// Sets up the key table's triggers as needed; false when the table's key
// capture records another column (another mapping's key), which stays.
bool set_up_key_capture(const pg::ReadRelation &table, const std::string &column) {
    const std::string recorded = captured_key_column(table.oid);
    // A column renamed or dropped since: its triggers record nothing of use
    // (they record that any row may have changed), and are made again.
    const bool recorded_is_gone =
        !recorded.empty() &&
        pg::execute_catalog("SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = $1::oid AND attname = $2 "
                            "AND attnum > 0 AND NOT attisdropped",
                            {std::to_string(table.oid), recorded})
            .empty();
    if (!recorded.empty() && recorded != column && !recorded_is_gone)
        return false;
    if (recorded != column)
        for (const KeyTrigger &trigger : kKeyTriggers)
            pg::execute(std::string("CREATE OR REPLACE TRIGGER ") + trigger.name + " AFTER " + trigger.event + " ON " +
                        table.qualified_name + " REFERENCING " + trigger.transition_tables +
                        " FOR EACH STATEMENT EXECUTE FUNCTION reverse_etl_state.capture_keys(" +
                        quote_literal(column) + ")");
    if (!has_capture_trigger(table.oid) || statement_trigger_records_rows(table.oid))
        pg::execute(create_statement_trigger_sql(table, true));
    return true;
}

void require_capturable(const pg::ReadRelation &relation) {
    if (relation.kind == 'm')
        throw Error(sqlstate::kFeatureNotSupported,
                    "a live mapping cannot capture changes to materialized view " + relation.qualified_name,
                    "REFRESH MATERIALIZED VIEW fires no trigger.", kNotCapturableHint);
    if (relation.kind == 'f')
        throw Error(sqlstate::kFeatureNotSupported,
                    "a live mapping cannot capture changes to foreign table " + relation.qualified_name,
                    "Its rows change in another server, where no trigger of this database sees them.",
                    kNotCapturableHint);
}

}  // namespace

std::string live_schedule_sql(const std::string &alias) {
    return "pg_catalog.lower(pg_catalog.btrim(" + alias + ".schedule)) = 'live'";
}

std::vector<pg::ReadRelation> live_tables(const ModelRow &model) {
    if (model.source != "local")
        throw Error(sqlstate::kFeatureNotSupported,
                    "a live mapping cannot capture changes to model " + quoted(model.name),
                    "The model runs on remote source " + quoted(model.source) +
                        ", where no trigger of this database sees its changes.",
                    kNotCapturableHint);
    std::vector<pg::ReadRelation> tables;
    for (const pg::ReadRelation &relation : pg::relations_read_by(model.query)) {
        require_capturable(relation);
        if (relation.kind == 'r' || relation.kind == 'p')
            tables.push_back(relation);
    }
    // A statement fires the statement triggers of the table it names only:
    // rows of a table read changed through its partitioned parent or its
    // inheritance parent fire the parent's.
    std::vector<std::optional<std::string>> relids;
    for (const pg::ReadRelation &table : tables)
        relids.emplace_back(std::to_string(table.oid));
    const pg::Result ancestors = pg::execute(
        "WITH RECURSIVE up (relid) AS (SELECT i.inhparent FROM pg_catalog.pg_inherits i "
        "WHERE i.inhrelid = ANY ($1::oid[]) UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i "
        "JOIN up ON i.inhrelid = up.relid) "
        "SELECT c.oid::text, c.relkind::text, pg_catalog.format('%I.%I', n.nspname, c.relname) FROM up "
        "JOIN pg_catalog.pg_class c ON c.oid = up.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid <> ALL ($1::oid[]) ORDER BY c.oid",
        {text_array_literal(relids)});
    for (const auto &row : ancestors.rows)
        tables.push_back({number_from_sql<unsigned int>(*row[0]), (*row[1])[0], *row[2]});
    if (tables.empty())
        throw Error(sqlstate::kFeatureNotSupported,
                    "a live mapping cannot capture changes to model " + quoted(model.name),
                    "The model's query reads no table.", kNotCapturableHint);
    return tables;
}

LiveCapture live_capture_of(const ModelRow &model, const std::optional<std::string> &filter) {
    const pg::RoleScope as_owner(model.owner, model.search_path);
    LiveCapture capture;
    capture.tables = live_tables(model);
    // With the mapping's filter: a filter on now(), or one reading the key
    // table again, decides which records there are as the query would.
    const std::string query =
        filter ? "SELECT * FROM " + pg::wrap_model_query(model.query, "q") + " WHERE (" + *filter + "\n)" : model.query;
    capture.key = pg::incremental_key(query, model.primary_key);
    return capture;
}

LiveCapture check_live_model(const ModelRow &model, const std::optional<std::string> &filter) {
    const LiveCapture capture = live_capture_of(model, filter);
    // The first run creates the missing triggers as the model's owner: say
    // now, not then, that it may not.
    for (const pg::ReadRelation &table : capture.tables) {
        if (has_capture_trigger(table.oid))
            continue;
        const pg::Result allowed = pg::execute_catalog(
            "SELECT pg_catalog.has_table_privilege($1::oid, $2::oid, 'TRIGGER')::text",
            {std::to_string(model.owner), std::to_string(table.oid)});
        if (allowed.scalar() != "true")
            throw Error(sqlstate::kInsufficientPrivilege,
                        "the owner of model " + quoted(model.name) + " may not create triggers on table " +
                            table.qualified_name,
                        "A live mapping captures the changes to each table its model reads with a trigger, "
                        "which its first run creates as the model's owner.",
                        "Grant TRIGGER on the table to the model's owner, or use another schedule.");
    }
    return capture;
}

bool set_up_live_capture(int64_t mapping_id, LiveCapture &capture) {
    std::vector<const pg::ReadRelation *> missing;
    const pg::ReadRelation *key_table = nullptr;
    for (const pg::ReadRelation &table : capture.tables) {
        // Two live mappings' first runs on one table: the second waits for
        // the first to commit its trigger, then finds it, rather than fail
        // on the name.
        pg::execute("SELECT pg_catalog.pg_advisory_xact_lock(" + std::to_string(kLiveCaptureLockClass) + ", " +
                    std::to_string(static_cast<int32_t>(table.oid)) + ")");
        if (capture.key.relid && table.oid == *capture.key.relid)
            key_table = &table;
        else if (!has_capture_trigger(table.oid))
            missing.push_back(&table);
    }
    // CREATE TRIGGER waits for the table's writers and makes new ones wait
    // behind it: bounded, so that a long writer fails the run (which is
    // tried again) rather than stalling the application.
    pg::execute("SET LOCAL lock_timeout = '5s'");
    for (const pg::ReadRelation *table : missing)
        pg::execute(create_statement_trigger_sql(*table, false));
    if (key_table && !set_up_key_capture(*key_table, capture.key.column)) {
        capture.key.mode = "full: the key capture on " + key_table->qualified_name + " records column " +
                           quote_identifier(captured_key_column(key_table->oid)) + ", another mapping's key";
        capture.key.relid.reset();
        if (!has_capture_trigger(key_table->oid))
            pg::execute(create_statement_trigger_sql(*key_table, false));
    }
    const std::string id = std::to_string(mapping_id);
    pg::execute_catalog("DELETE FROM reverse_etl_state.live_capture WHERE mapping_id = $1::bigint", {id});
    std::vector<std::optional<std::string>> relids;
    for (const pg::ReadRelation &table : capture.tables)
        relids.emplace_back(std::to_string(table.oid));
    pg::execute_catalog("INSERT INTO reverse_etl_state.live_capture (mapping_id, relid) "
                        "SELECT $1::bigint, r FROM pg_catalog.unnest($2::oid[]) AS r ON CONFLICT DO NOTHING",
                        {id, text_array_literal(relids)});
    return store_live_mode(mapping_id, capture.key);
}

bool store_live_mode(int64_t mapping_id, const pg::IncrementalKey &key) {
    const pg::Params params{
        std::to_string(mapping_id), key.relid ? std::optional<std::string>(std::to_string(*key.relid)) : std::nullopt,
        key.relid ? std::optional<std::string>(key.column) : std::nullopt,
        key.relid ? std::optional<std::string>(std::to_string(key.type)) : std::nullopt, key.mode};
    const bool changed =
        pg::execute_catalog("SELECT 1 FROM reverse_etl_state.live_mode WHERE mapping_id = $1::bigint "
                            "AND key_relid IS NOT DISTINCT FROM $2::oid AND key_column IS NOT DISTINCT FROM $3::name "
                            "AND key_type IS NOT DISTINCT FROM $4::oid",
                            params)
            .empty();
    pg::execute_catalog(
        "INSERT INTO reverse_etl_state.live_mode AS l (mapping_id, key_relid, key_column, key_type, mode) "
        "VALUES ($1::bigint, $2::oid, $3, $4::oid, $5) ON CONFLICT (mapping_id) DO UPDATE SET "
        "key_relid = EXCLUDED.key_relid, key_column = EXCLUDED.key_column, key_type = EXCLUDED.key_type, "
        "mode = EXCLUDED.mode",
        params);
    return changed;
}

void record_live_change(unsigned int relid) {
    pg::execute_catalog("INSERT INTO reverse_etl_state.live_change_queue (relid) VALUES ($1::oid)",
                        {std::to_string(relid)});
}

void record_live_keys(unsigned int relid, const pg::TextArrayBuilder &keys) {
    pg::execute_catalog_with_array(
        "INSERT INTO reverse_etl_state.live_change_queue (relid, ids) VALUES ($1::oid, $2)", {std::to_string(relid)},
        keys);
}

namespace {

// Gives the mapping a batch that needs a full diff, for `reason` ($2).
const char *const kRequestFullRunSql =
    "INSERT INTO reverse_etl_state.live_pending AS p (mapping_id, full_batch, full_reason) "
    "VALUES ($1::bigint, 1, $2) ON CONFLICT (mapping_id) DO UPDATE SET changes = p.changes + 1, "
    "full_batch = p.changes + 1, full_reason = EXCLUDED.full_reason, "
    "since_next = COALESCE(p.since_next, pg_catalog.now())";

}  // namespace

void request_live_run(int64_t mapping_id, const std::string &reason) {
    pg::execute_catalog(kRequestFullRunSql, {std::to_string(mapping_id), reason});
    pg::wake_launcher_at_commit();
}

void forget_live_capture(int64_t mapping_id) {
    const std::string id = std::to_string(mapping_id);
    for (const char *table : {"live_capture", "live_mode", "live_pending", "live_pending_ids"})
        pg::execute_catalog(std::string("DELETE FROM reverse_etl_state.") + table + " WHERE mapping_id = $1::bigint",
                            {id});
}

void renew_live_capture(int64_t mapping_id, const pg::IncrementalKey &key) {
    pg::execute_catalog("DELETE FROM reverse_etl_state.live_capture WHERE mapping_id = $1::bigint",
                        {std::to_string(mapping_id)});
    store_live_mode(mapping_id, key);
    request_live_run(mapping_id, "its model changed");
}

std::optional<LiveRunScope> start_live_changes(int64_t mapping_id, bool incremental_possible,
                                               const std::string &not_possible_reason) {
    const std::string id = std::to_string(mapping_id);
    const pg::Result pending = pg::execute_catalog(
        "SELECT changes::text, CASE WHEN full_batch IS NOT NULL THEN full_reason END "
        "FROM reverse_etl_state.live_pending WHERE mapping_id = $1::bigint",
        {id});
    if (pending.empty())
        return std::nullopt;
    LiveRunScope scope;
    scope.seen = number_from_sql<int64_t>(*pending.rows[0][0]);
    const std::optional<std::string> &full_reason = pending.rows[0][1];
    scope.incremental = incremental_possible && !full_reason;
    scope.full_reason = full_reason ? *full_reason : not_possible_reason;
    // Changes seen from now on are the next run's: when they came, and,
    // after a full diff starts, which records (dropped past the cap before).
    pg::execute_catalog(std::string("UPDATE reverse_etl_state.live_pending SET since_next = NULL") +
                            (scope.incremental ? "" : ", dropping = false") + " WHERE mapping_id = $1::bigint",
                        {id});
    return scope;
}

int64_t fill_live_run_ids(int64_t mapping_id, int64_t seen, const std::string &table) {
    return static_cast<int64_t>(
        pg::execute_catalog("INSERT INTO " + table + " (rid) SELECT i.record_id FROM reverse_etl_state.live_pending_ids i "
                            "WHERE i.mapping_id = $1::bigint AND i.batch <= $2::bigint UNION "
                            "SELECT e.record_id FROM reverse_etl.record_error_catalog e "
                            "WHERE e.mapping_id = $1::bigint AND e.record_id IS NOT NULL",
                            {std::to_string(mapping_id), std::to_string(seen)})
            .processed);
}

void settle_live_changes(int64_t mapping_id, const LiveRunScope &scope) {
    const pg::Params params{std::to_string(mapping_id), std::to_string(scope.seen)};
    const pg::Result forgotten = pg::execute_catalog(
        "DELETE FROM reverse_etl_state.live_pending_ids WHERE mapping_id = $1::bigint AND batch <= $2::bigint", params);
    // A full diff found every change of the batches it took on, those that
    // asked for one included; a batch that asked after it started still asks.
    const std::string full_done = scope.incremental ? "false" : "full_batch <= $2::bigint";
    pg::execute_catalog("UPDATE reverse_etl_state.live_pending SET since = COALESCE(since_next, pg_catalog.now()), "
                        "since_next = NULL, backlog = GREATEST(backlog - " + std::to_string(forgotten.processed) +
                            ", 0), full_reason = CASE WHEN " + full_done + " THEN NULL ELSE full_reason END, "
                            "full_batch = CASE WHEN " + full_done + " THEN NULL ELSE full_batch END "
                            "WHERE mapping_id = $1::bigint",
                        params);
    pg::execute_catalog(
        "DELETE FROM reverse_etl_state.live_pending WHERE mapping_id = $1::bigint AND changes = $2::bigint", params);
}

void collect_live_changes() {
    // The rows this statement's snapshot sees are the ones it deletes: a
    // change committed meanwhile stays queued for the next pass. Each
    // mapping they touch gets a batch (changes + 1); one that needs a full
    // diff says so (full_batch, full_reason): a table other than its key
    // table changed, rows changed whose keys are unknown (TRUNCATE), or its
    // changed records would pass the cap, past which they are dropped
    // (`dropping`) until a full diff starts. Every other changed record is
    // kept, with the batch it last changed in.
    const pg::Result added = pg::execute_catalog(
        "WITH seen AS (DELETE FROM reverse_etl_state.live_change_queue RETURNING relid, ids), "
        "touched AS (SELECT c.mapping_id, l.key_relid, "
        "  pg_catalog.min(s.relid::pg_catalog.regclass::text) FILTER (WHERE s.relid IS DISTINCT FROM l.key_relid) "
        "    AS other_table, "
        "  pg_catalog.min(s.relid::pg_catalog.regclass::text) FILTER (WHERE s.relid = l.key_relid AND s.ids IS NULL) "
        "    AS unknown_keys, "
        "  COALESCE(pg_catalog.sum(pg_catalog.cardinality(s.ids)) FILTER (WHERE s.relid = l.key_relid), 0) AS keys "
        "  FROM seen s JOIN reverse_etl_state.live_capture c USING (relid) "
        "  LEFT JOIN reverse_etl_state.live_mode l USING (mapping_id) GROUP BY c.mapping_id, l.key_relid), "
        "judged AS (SELECT t.mapping_id, t.key_relid IS NOT NULL AND NOT COALESCE(p.dropping, false) "
        "  AND COALESCE(p.backlog, 0) + t.keys > $1::bigint AS over, "
        "  CASE WHEN t.key_relid IS NULL THEN NULL "
        "       WHEN t.other_table IS NOT NULL THEN t.other_table || ' changed' "
        "       WHEN t.unknown_keys IS NOT NULL THEN 'which rows of ' || t.unknown_keys || ' changed is not known "
        "(TRUNCATE, or a statement changing more rows than reverse_etl.live_max_backlog)' "
        "       WHEN COALESCE(p.backlog, 0) + t.keys > $1::bigint THEN 'more than ' || $1 || "
        "         ' changed records waited (reverse_etl.live_max_backlog)' END AS reason "
        "  FROM touched t LEFT JOIN reverse_etl_state.live_pending p USING (mapping_id)), "
        "bumped AS (INSERT INTO reverse_etl_state.live_pending AS p (mapping_id, full_batch, full_reason, dropping) "
        "  SELECT j.mapping_id, CASE WHEN j.reason IS NOT NULL THEN 1 END, j.reason, j.over FROM judged j "
        "  ON CONFLICT (mapping_id) DO UPDATE SET changes = p.changes + 1, "
        "  full_batch = CASE WHEN EXCLUDED.full_reason IS NOT NULL THEN p.changes + 1 ELSE p.full_batch END, "
        "  full_reason = COALESCE(EXCLUDED.full_reason, p.full_reason), "
        "  dropping = p.dropping OR EXCLUDED.dropping, since_next = COALESCE(p.since_next, pg_catalog.now()) "
        "  RETURNING p.mapping_id, p.changes, p.dropping), "
        "kept AS (INSERT INTO reverse_etl_state.live_pending_ids AS i (mapping_id, record_id, batch) "
        "  SELECT DISTINCT b.mapping_id, k.id, b.changes FROM bumped b "
        "  JOIN reverse_etl_state.live_mode l ON l.mapping_id = b.mapping_id "
        "  JOIN seen s ON s.relid = l.key_relid AND s.ids IS NOT NULL, pg_catalog.unnest(s.ids) AS k(id) "
        "  WHERE NOT b.dropping "
        "  ON CONFLICT (mapping_id, record_id) DO UPDATE SET batch = EXCLUDED.batch "
        "  RETURNING i.mapping_id, i.xmax::text = '0' AS inserted) "
        "SELECT k.mapping_id::text, pg_catalog.count(*) FILTER (WHERE k.inserted)::text FROM kept k "
        "GROUP BY k.mapping_id",
        {std::to_string(pg::live_max_backlog())});
    for (const auto &row : added.rows)
        pg::execute_catalog("UPDATE reverse_etl_state.live_pending SET backlog = backlog + $2::bigint "
                            "WHERE mapping_id = $1::bigint",
                            {*row[0], *row[1]});
    // Past the cap, the changed records kept are of no use: the full diff
    // finds them.
    pg::execute_catalog(
        "WITH dropped AS (UPDATE reverse_etl_state.live_pending SET backlog = 0 WHERE dropping AND backlog > 0 "
        "RETURNING mapping_id) DELETE FROM reverse_etl_state.live_pending_ids i USING dropped d "
        "WHERE i.mapping_id = d.mapping_id");
    pg::execute_catalog(std::string("INSERT INTO reverse_etl_state.live_pending (mapping_id, full_batch, full_reason) "
                                    "SELECT m.mapping_id, 1, 'its capture is not set up yet' "
                                    "FROM reverse_etl.mapping_catalog m WHERE ") +
                        live_schedule_sql("m") +
                        " AND NOT EXISTS (SELECT 1 FROM reverse_etl_state.live_capture c "
                        "WHERE c.mapping_id = m.mapping_id) ON CONFLICT (mapping_id) DO NOTHING");
}

}  // namespace reverse_etl::catalog
