#include "engine/live_runs.hpp"

#include "catalog/live_capture.hpp"
#include "engine/delivery_log.hpp"
#include "engine/mapping_plan.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

int64_t queue_live_runs() {
    catalog::collect_live_changes();
    // Changes keep their mapping pending until a run delivers them. After
    // runs that did not succeed, the next waits 10 seconds, doubling with
    // each such run in a row up to 10 minutes: a destination that is down
    // costs a full diff now and then, not one a naptime.
    const pg::Result queued = pg::execute_catalog(
        "INSERT INTO reverse_etl.run_catalog (mapping_id, trigger, status) "
        "SELECT p.mapping_id, 'live', 'queued' FROM reverse_etl_state.live_pending p "
        "JOIN reverse_etl.mapping_catalog m USING (mapping_id) "
        "JOIN reverse_etl.destination_catalog d USING (destination_id) "
        "WHERE m.enabled AND d.enabled AND " + catalog::live_schedule_sql("m") + " "
        "AND NOT EXISTS (SELECT 1 FROM reverse_etl.run_catalog r WHERE r.mapping_id = p.mapping_id "
        "AND r.status IN ('queued', 'running')) "
        "AND NOT EXISTS (SELECT 1 FROM (SELECT pg_catalog.count(*) AS runs, pg_catalog.max(r.finished_at) AS last_end "
        "FROM reverse_etl.run_catalog r WHERE r.mapping_id = p.mapping_id AND r.finished_at IS NOT NULL "
        "AND r.status <> 'succeeded' AND r.run_id > COALESCE((SELECT pg_catalog.max(s.run_id) "
        "FROM reverse_etl.run_catalog s WHERE s.mapping_id = p.mapping_id AND s.status = 'succeeded'), 0)) AS f "
        "WHERE f.runs > 0 AND f.last_end > pg_catalog.now() - LEAST(interval '10 seconds' * "
        "pg_catalog.power(2, LEAST(f.runs - 1, 10)), interval '10 minutes')) "
        "ORDER BY p.mapping_id ON CONFLICT (mapping_id) WHERE status = 'queued' DO NOTHING");
    return static_cast<int64_t>(queued.processed);
}

std::optional<catalog::LiveRunScope> start_live_run(const MappingPlan &plan) {
    // Analyzing the query may run the owner's code (constant folding): as the
    // owner, restricted, as the model runs. The triggers are then created
    // outside that read-only scope, as the worker's role: the model's owner too.
    catalog::LiveCapture capture = catalog::live_capture_of(plan.model, plan.mapping.filter);
    const bool mode_changed = catalog::set_up_live_capture(plan.mapping.id, capture);
    std::string not_possible;
    if (!capture.key.relid)
        not_possible = capture.key.mode.substr(capture.key.mode.find(':') + 2);
    else if (mode_changed)  // the pending changes were captured for another mode
        not_possible = "its mode changed to " + capture.key.mode;
    else if (selection_pending(plan))
        not_possible = "the sends of an earlier run are not settled";
    else if (pg::execute_catalog("SELECT 1 FROM " + plan.checkpoint_table + " LIMIT 1").empty())
        not_possible = "nothing is checkpointed yet";
    return catalog::start_live_changes(plan.mapping.id, not_possible.empty(), not_possible);
}

}  // namespace reverse_etl::engine
