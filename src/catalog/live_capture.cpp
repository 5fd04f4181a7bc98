#include "catalog/live_capture.hpp"

#include <algorithm>
#include <string>

#include "catalog/schedule.hpp"
#include "common/error.hpp"
#include "common/parse_number.hpp"
#include "common/sql_text.hpp"
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

// Ours: the name and the function (a user's own trigger of that name would
// make CREATE TRIGGER fail, which says so).
bool has_capture_trigger(unsigned int relid) {
    return !pg::execute_catalog("SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid AND tgname = $2 "
                                "AND tgfoid = 'reverse_etl_state.capture_change()'::pg_catalog.regprocedure",
                                {std::to_string(relid), kLiveTrigger})
                .empty();
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
    if (tables.empty())
        throw Error(sqlstate::kFeatureNotSupported,
                    "a live mapping cannot capture changes to model " + quoted(model.name),
                    "The model's query reads no table.", kNotCapturableHint);
    return tables;
}

void check_live_model(const ModelRow &model) {
    std::vector<pg::ReadRelation> tables;
    {
        const pg::RoleScope as_owner(model.owner, model.search_path);
        tables = live_tables(model);
    }
    // The first run creates the missing triggers as the model's owner: say
    // now, not then, that it may not.
    for (const pg::ReadRelation &table : tables) {
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
}

void set_up_live_capture(int64_t mapping_id, const std::vector<pg::ReadRelation> &tables) {
    std::vector<const pg::ReadRelation *> missing;
    for (const pg::ReadRelation &table : tables) {
        // Two live mappings' first runs on one table: the second waits for
        // the first to commit its trigger, then finds it, rather than fail
        // on the name.
        pg::execute("SELECT pg_catalog.pg_advisory_xact_lock(" + std::to_string(kLiveCaptureLockClass) + ", " +
                    std::to_string(static_cast<int32_t>(table.oid)) + ")");
        if (!has_capture_trigger(table.oid))
            missing.push_back(&table);
    }
    if (!missing.empty()) {
        // CREATE TRIGGER waits for the table's writers and makes new ones
        // wait behind it: bounded, so that a long writer fails the run
        // (which is tried again) rather than stalling the application.
        pg::execute("SET LOCAL lock_timeout = '5s'");
        for (const pg::ReadRelation *table : missing)
            pg::execute(std::string("CREATE TRIGGER ") + kLiveTrigger +
                        " AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON " + table->qualified_name +
                        " FOR EACH STATEMENT EXECUTE FUNCTION reverse_etl_state.capture_change()");
    }
    const std::string id = std::to_string(mapping_id);
    pg::execute_catalog("DELETE FROM reverse_etl_state.live_capture WHERE mapping_id = $1::bigint", {id});
    std::vector<std::optional<std::string>> relids;
    for (const pg::ReadRelation &table : tables)
        relids.emplace_back(std::to_string(table.oid));
    pg::execute_catalog("INSERT INTO reverse_etl_state.live_capture (mapping_id, relid) "
                        "SELECT $1::bigint, r FROM pg_catalog.unnest($2::oid[]) AS r ON CONFLICT DO NOTHING",
                        {id, text_array_literal(relids)});
}

void record_live_change(unsigned int relid) {
    pg::execute_catalog("INSERT INTO reverse_etl_state.live_change_queue (relid) VALUES ($1::oid)",
                        {std::to_string(relid)});
}

void request_live_run(int64_t mapping_id) {
    pg::execute_catalog("INSERT INTO reverse_etl_state.live_pending AS p (mapping_id) VALUES ($1::bigint) "
                        "ON CONFLICT (mapping_id) DO UPDATE SET changes = p.changes + 1",
                        {std::to_string(mapping_id)});
    pg::wake_launcher_at_commit();
}

void forget_live_capture(int64_t mapping_id) {
    const std::string id = std::to_string(mapping_id);
    pg::execute_catalog("DELETE FROM reverse_etl_state.live_capture WHERE mapping_id = $1::bigint", {id});
    pg::execute_catalog("DELETE FROM reverse_etl_state.live_pending WHERE mapping_id = $1::bigint", {id});
}

void renew_live_capture_of_model(int64_t model_id) {
    const pg::Result live = pg::execute_catalog(
        std::string("SELECT m.mapping_id::text FROM reverse_etl.mapping_catalog m WHERE m.model_id = $1::bigint AND ") +
            live_schedule_sql("m"),
        {std::to_string(model_id)});
    for (const auto &row : live.rows) {
        pg::execute_catalog("DELETE FROM reverse_etl_state.live_capture WHERE mapping_id = $1::bigint", {*row[0]});
        request_live_run(number_from_sql<int64_t>(*row[0]));
    }
}

std::optional<int64_t> live_changes_pending(int64_t mapping_id) {
    const pg::Result pending = pg::execute_catalog(
        "SELECT changes::text FROM reverse_etl_state.live_pending WHERE mapping_id = $1::bigint",
        {std::to_string(mapping_id)});
    if (pending.empty())
        return std::nullopt;
    return number_from_sql<int64_t>(pending.scalar());
}

void settle_live_changes(int64_t mapping_id, int64_t seen) {
    pg::execute_catalog(
        "DELETE FROM reverse_etl_state.live_pending WHERE mapping_id = $1::bigint AND changes = $2::bigint",
        {std::to_string(mapping_id), std::to_string(seen)});
}

void collect_live_changes() {
    // The rows this statement's snapshot sees are the ones it deletes: a
    // change committed meanwhile stays queued for the next pass.
    pg::execute_catalog(
        "WITH seen AS (DELETE FROM reverse_etl_state.live_change_queue RETURNING relid) "
        "INSERT INTO reverse_etl_state.live_pending AS p (mapping_id) "
        "SELECT DISTINCT c.mapping_id FROM seen JOIN reverse_etl_state.live_capture c USING (relid) "
        "ON CONFLICT (mapping_id) DO UPDATE SET changes = p.changes + 1");
    pg::execute_catalog(std::string("INSERT INTO reverse_etl_state.live_pending (mapping_id) "
                                    "SELECT m.mapping_id FROM reverse_etl.mapping_catalog m WHERE ") +
                        live_schedule_sql("m") +
                        " AND NOT EXISTS (SELECT 1 FROM reverse_etl_state.live_capture c "
                        "WHERE c.mapping_id = m.mapping_id) ON CONFLICT (mapping_id) DO NOTHING");
}

}  // namespace reverse_etl::catalog
