#include "engine/scheduler.hpp"

#include <algorithm>

#include "catalog/catalog_store.hpp"
#include "catalog/mappings.hpp"
#include "catalog/run_lock.hpp"
#include "catalog/schedule.hpp"
#include "common/error.hpp"
#include "common/parse_number.hpp"
#include "pg/messages.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/subtransaction.hpp"
#include "pg/time_support.hpp"

namespace reverse_etl::engine {

int64_t request_run(int64_t mapping_id, const std::string &trigger) {
    const std::string id = std::to_string(mapping_id);
    // The partial unique index makes concurrent requests agree on one row. A
    // worker may start the queued run between our insert and our look-up:
    // then the next insert succeeds, so a few tries always settle it.
    for (int attempt = 0; attempt < 10; attempt++) {
        const pg::Result inserted = pg::execute_catalog(
            "INSERT INTO reverse_etl.run_catalog (mapping_id, trigger, status) VALUES ($1::bigint, $2, 'queued') "
            "ON CONFLICT (mapping_id) WHERE status = 'queued' DO NOTHING RETURNING run_id::text",
            {id, trigger});
        if (!inserted.empty())
            return number_from_sql<int64_t>(inserted.scalar());
        const pg::Result existing = pg::execute_catalog(
            "SELECT run_id::text FROM reverse_etl.run_catalog WHERE mapping_id = $1::bigint AND status = 'queued'",
            {id});
        if (!existing.empty())
            return number_from_sql<int64_t>(existing.scalar());
    }
    throw Error(sqlstate::kObjectInUse, "could not queue a run of mapping " + id, "Its queued runs kept starting.",
                "Call request_sync() again.");
}

namespace {

// Queues the run of one due mapping and plans its next one. The next run is
// planned first: a schedule that cannot be evaluated queues nothing.
// Returns how many runs it queued (0: one was queued already).
int64_t queue_due_run(const std::string &mapping_id, const std::string &schedule, const std::string &timezone,
                      const std::string &trigger, int64_t now) {
    // Planned from now, not from the missed time: a launcher that was
    // down for a day runs a mapping once, not once per missed slot.
    const auto next = catalog::next_scheduled_run(schedule, timezone, now);
    const pg::Result inserted = pg::execute_catalog(
        "INSERT INTO reverse_etl.run_catalog (mapping_id, trigger, status) VALUES ($1::bigint, $2, 'queued') "
        "ON CONFLICT (mapping_id) WHERE status = 'queued' DO NOTHING RETURNING run_id",
        {mapping_id, trigger});
    pg::execute_catalog(
        "UPDATE reverse_etl.mapping_catalog SET next_run_at = $2::timestamptz WHERE mapping_id = $1::bigint",
        {mapping_id, next ? pg::Value(pg::timestamptz_text(*next)) : std::nullopt});
    return static_cast<int64_t>(inserted.processed);
}

// A mapping whose stored schedule or time zone cannot be evaluated (written
// into the catalog directly, or a time zone the server no longer knows) is
// taken off the schedule, so that neither this pass nor the next ones stumble
// on it again, and says why in mapping_status.schedule_error. Altering its
// schedule or time zone, or enabling it again, plans it anew.
void take_off_schedule(const std::string &mapping_id, const std::string &mapping_name, const Error &problem) {
    pg::execute_catalog(
        "UPDATE reverse_etl.mapping_catalog SET next_run_at = NULL, schedule_error = $2 WHERE mapping_id = $1::bigint",
        {mapping_id, problem.message()});
    pg::warning("mapping " + catalog::quoted(mapping_name) + " cannot be scheduled: " + problem.message(),
                problem.detail() + (problem.detail().empty() ? "" : "\n") +
                    "It does not run on schedule until its schedule or time zone is corrected; "
                    "reverse_etl.mapping_status shows the error in schedule_error.",
                "Correct it with reverse_etl.alter_mapping().");
}

}  // namespace

int64_t queue_due_runs(const std::string &trigger) {
    const pg::Result due = pg::execute_catalog(
        "SELECT p.mapping_id::text, p.schedule, p.timezone, p.name FROM reverse_etl.mapping_catalog p "
        "JOIN reverse_etl.destination_catalog d USING (destination_id) "
        "WHERE p.enabled AND d.enabled AND p.next_run_at <= pg_catalog.now() "
        "ORDER BY p.next_run_at FOR UPDATE OF p SKIP LOCKED");
    int64_t queued = 0;
    const int64_t now = pg::transaction_timestamp();
    for (const auto &row : due.rows) {
        // Each mapping in a subtransaction of its own: whatever goes wrong
        // with one mapping's schedule leaves the others scheduled.
        const std::optional<Error> problem =
            pg::run_in_subtransaction([&] { queued += queue_due_run(*row[0], *row[1], *row[2], trigger, now); });
        if (problem)
            take_off_schedule(*row[0], *row[3], *problem);
    }
    return queued;
}

namespace {

// A text[] literal: every element double-quoted, its quotes and backslashes escaped.
std::string text_array_literal(const std::vector<std::string> &items) {
    std::string literal = "{";
    for (const std::string &item : items) {
        if (literal.size() > 1)
            literal += ',';
        literal += '"';
        for (const char c : item) {
            if (c == '"' || c == '\\')
                literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    return literal + "}";
}

}  // namespace

int64_t queue_dbt_runs(const std::optional<std::vector<std::string>> &unique_ids) {
    const pg::Result candidates = pg::execute_catalog(
        "SELECT p.mapping_id::text, p.schedule, p.owner::oid::text FROM reverse_etl.mapping_catalog p "
        "JOIN reverse_etl.model_catalog m USING (model_id) "
        "JOIN reverse_etl.destination_catalog d USING (destination_id) "
        "WHERE p.enabled AND d.enabled AND m.dbt_unique_id IS NOT NULL "
        "AND ($1::text[] IS NULL OR m.dbt_unique_id = ANY ($1::text[])) ORDER BY p.mapping_id",
        {unique_ids ? pg::Value(text_array_literal(*unique_ids)) : std::nullopt});
    const unsigned int caller = pg::current_role_oid();
    int64_t queued = 0;
    for (const auto &row : candidates.rows) {
        // The schedule is stored as written ("DBT", " dbt "): read as the parser reads it.
        if (!catalog::is_dbt_schedule(*row[1]) ||
            !pg::has_privileges_of_role(caller, number_from_sql<unsigned int>(*row[2])))
            continue;
        const pg::Result inserted = pg::execute_catalog(
            "INSERT INTO reverse_etl.run_catalog (mapping_id, trigger, status) VALUES ($1::bigint, 'dbt', 'queued') "
            "ON CONFLICT (mapping_id) WHERE status = 'queued' DO NOTHING",
            {*row[0]});
        queued += static_cast<int64_t>(inserted.processed);
    }
    return queued;
}

std::vector<StartableRun> startable_runs(int limit, const std::vector<int64_t> &exclude) {
    std::vector<StartableRun> runs;
    if (limit <= 0)
        return runs;
    std::string excluded = "{";
    for (size_t i = 0; i < exclude.size(); i++)
        excluded += (i ? "," : "") + std::to_string(exclude[i]);
    excluded += "}";
    const pg::Result queued = pg::execute_catalog(
        "SELECT DISTINCT ON (r.mapping_id) r.run_id::text, r.mapping_id::text, m.owner::oid::text, r.trigger, "
        "a.rolcanlogin::text, m.name, m.owner::oid::text "
        "FROM reverse_etl.run_catalog r JOIN reverse_etl.mapping_catalog p USING (mapping_id) "
        "JOIN reverse_etl.model_catalog m USING (model_id) LEFT JOIN pg_catalog.pg_roles a ON a.oid = m.owner::oid "
        "WHERE r.status = 'queued' AND r.run_id <> ALL ($1::bigint[]) AND NOT EXISTS "
        "(SELECT 1 FROM reverse_etl.run_catalog x WHERE x.mapping_id = r.mapping_id AND x.status = 'running') "
        "ORDER BY r.mapping_id, r.run_id",
        {excluded});
    for (const auto &row : queued.rows) {
        const std::string run_id = *row[0];
        if (!row[4] || *row[4] != "true") {
            // Starting a worker as this role would only fail at connection
            // time, again and again: record why instead.
            const std::string error = row[4] ? "the owner of model \"" + *row[5] + "\" cannot log in"
                                             : "the owner of model \"" + *row[5] + "\" (role " + *row[6] +
                                                   ") no longer exists";
            pg::execute_catalog("UPDATE reverse_etl.run_catalog SET status = 'failed', started_at = pg_catalog.now(), "
                                "finished_at = pg_catalog.now(), error = $2 WHERE run_id = $1::bigint",
                                {run_id, error});
            continue;
        }
        runs.push_back({number_from_sql<int64_t>(run_id), number_from_sql<int64_t>(*row[1]), number_from_sql<unsigned int>(*row[2]),
                        *row[3]});
    }
    std::sort(runs.begin(), runs.end(), [](const StartableRun &a, const StartableRun &b) { return a.run_id < b.run_id; });
    if (runs.size() > static_cast<size_t>(limit))
        runs.resize(limit);
    return runs;
}

int64_t fail_runs_interrupted_by_restart() {
    const pg::Result failed = pg::execute_catalog(
        std::string("UPDATE reverse_etl.run_catalog r SET status = 'failed', phase = NULL, pid = NULL, "
                    "finished_at = pg_catalog.now(), error = 'interrupted by server restart' "
                    "WHERE r.status = 'running' AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l "
                    "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = ") + std::to_string(catalog::kRunLockClass) +
        "::oid AND l.objid = " + catalog::run_lock_objid_sql("r.mapping_id") + " AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))");
    return static_cast<int64_t>(failed.processed);
}

std::optional<double> seconds_until_next_due() {
    const pg::Result soonest = pg::execute_catalog(
        "SELECT extract(epoch FROM min(p.next_run_at) - pg_catalog.clock_timestamp())::text "
        "FROM reverse_etl.mapping_catalog p JOIN reverse_etl.destination_catalog d USING (destination_id) "
        "WHERE p.enabled AND d.enabled AND p.next_run_at IS NOT NULL");
    if (soonest.empty() || !soonest.rows[0][0])
        return std::nullopt;
    return number_from_sql<double>(*soonest.rows[0][0]);
}

bool extension_installed() {
    return !pg::execute("SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'reverse_etl'").empty();
}

}  // namespace reverse_etl::engine
