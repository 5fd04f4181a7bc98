// SQL entry points that run or inspect syncs: sync, cancel_sync,
// reset_mapping, retry_records, preview_mapping, send_test_record.
#include <csignal>

#include "catalog/catalog_store.hpp"
#include "catalog/live_capture.hpp"
#include "catalog/mapping_state.hpp"
#include "catalog/schedule.hpp"
#include "common/parse_number.hpp"
#include "common/sql_text.hpp"
#include "engine/alert_sender.hpp"
#include "engine/live_runs.hpp"
#include "engine/scheduler.hpp"
#include "engine/sync_run.hpp"
#include "pg/guc.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/args.hpp"
#include "pg/error_crossing.hpp"
#include "pg/role_scope.hpp"
#include "pg/messages.hpp"
#include "pg/spi.hpp"
#include "pg/subtransaction.hpp"
#include "pg/srf.hpp"
#include "worker/worker_launch.hpp"

extern "C" {
#include "utils/snapmgr.h"
}

using namespace reverse_etl;

namespace {

struct SyncTarget {
    catalog::MappingRow mapping;
    catalog::ModelRow model;
    catalog::DestinationRow destination;
};

SyncTarget find_target(const std::string &name) {
    SyncTarget target;
    target.mapping = catalog::find_mapping(name);
    target.model = catalog::model_by_id(target.mapping.model_id);
    target.destination = catalog::destination_by_id(target.mapping.destination_id);
    return target;
}

void require_runnable(const SyncTarget &target) {
    if (!target.destination.enabled)
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "destination " + catalog::quoted(target.destination.name) + " is disabled",
                    "A disabled destination never syncs.",
                    "Enable it with reverse_etl.enable_destination(), or try it with reverse_etl.send_test_record().");
    if (const auto running = engine::running_run(target.mapping.id))
        throw Error(sqlstate::kObjectInUse, "mapping " + catalog::quoted(target.mapping.name) + " is already running",
                    engine::running_run_detail(*running),
                    "Wait for it to finish, or stop it with reverse_etl.cancel_sync().");
    const pg::Result login = pg::execute_catalog("SELECT rolcanlogin::text FROM pg_catalog.pg_roles WHERE oid = $1::oid",
                                                 {std::to_string(target.model.owner)});
    if (login.empty() || login.scalar() != "true")
        throw Error(sqlstate::kInsufficientPrivilege,
                    "the owner of model " + catalog::quoted(target.model.name) + " cannot log in",
                    "Syncs run in a background worker connected as the model's owner.",
                    "Grant LOGIN to the owner role, or have a role that can log in own the model.");
}

// The run's row as reverse_etl.sync_runs shows it, read with a fresh snapshot:
// the worker committed it after this transaction's snapshot was taken.
Datum run_row(int64_t run_id) {
    return pg::pg_guard([&] {
        Oid types[1] = {INT8OID};
        Datum values[1] = {Int64GetDatum(run_id)};
        SPIPlanPtr plan = SPI_prepare("SELECT * FROM reverse_etl.sync_runs WHERE run_id = $1", 1, types);
        if (plan == nullptr)
            elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        const int rc = SPI_execute_snapshot(plan, values, nullptr, GetLatestSnapshot(), InvalidSnapshot, true,
                                            false, 1);
        if (rc != SPI_OK_SELECT || SPI_processed != 1)
            ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("run %lld is not in the history",
                                                                    static_cast<long long>(run_id))));
        return PointerGetDatum(SPI_returntuple(SPI_tuptable->vals[0], SPI_tuptable->tupdesc));
    });
}

}  // namespace

REVERSE_ETL_FUNCTION(reverse_etl_sync) {
    const std::string name = pg::required_text(fcinfo, 0, "mapping");
    const pg::SpiConnection spi;
    worker::require_transaction_a_worker_cannot_wait_for("reverse_etl.sync()");
    const SyncTarget target = find_target(name);
    require_runnable(target);
    const int64_t run_id = worker::run_sync_in_worker(target.model.owner, target.mapping.id, target.mapping.name, "manual");
    return run_row(run_id);
}

REVERSE_ETL_FUNCTION(reverse_etl_cancel_sync) {
    const std::string name = pg::required_text(fcinfo, 0, "mapping");
    bool signalled = false;
    {
        const pg::SpiConnection spi;
        const catalog::MappingRow mapping = catalog::find_mapping(name);
        // The process holding the mapping's run lock is the run: a pid read
        // from the run's row could by now belong to another process.
        for (const int pid : engine::run_lock_holders(mapping.id)) {
            // SIGINT is the worker's cancel: it records the run as canceled.
            if (kill(static_cast<pid_t>(pid), SIGINT) == 0)
                signalled = true;
        }
    }
    PG_RETURN_BOOL(signalled);
}

REVERSE_ETL_FUNCTION(reverse_etl_reset_mapping) {
    const std::string name = pg::required_text(fcinfo, 0, "mapping");
    const pg::SpiConnection spi;
    const catalog::MappingRow mapping = catalog::find_mapping(name);
    if (const auto running = engine::running_run(mapping.id))
        throw Error(sqlstate::kObjectInUse, "mapping " + catalog::quoted(name) + " is running",
                    engine::running_run_detail(*running),
                    "Wait for it to finish, or stop it with reverse_etl.cancel_sync().");
    catalog::reset_checkpoint(mapping.id);
    pg::execute_catalog("DELETE FROM reverse_etl.record_error_catalog WHERE mapping_id = $1::bigint",
                        {std::to_string(mapping.id)});
    // The next run resends everything: for a live mapping, it comes now.
    if (catalog::is_live_schedule(mapping.schedule))
        catalog::request_live_run(mapping.id, "its checkpoint was reset");
    PG_RETURN_VOID();
}

// Marks failed and rejected records for the next run: without a hash
// (record_error_catalog.sent_hash) no run takes them as unchanged, and their
// give_up_after clock starts again. Invalid records are not sends that
// failed: every run judges them afresh. A run under way may still fail a
// marked record again; it then counts as failed anew, with its new hash.
REVERSE_ETL_FUNCTION(reverse_etl_retry_records) {
    const std::string name = pg::required_text(fcinfo, 0, "mapping");
    const auto record_ids = pg::optional_text_array(fcinfo, 1);
    const pg::SpiConnection spi;
    const catalog::MappingRow mapping = catalog::find_mapping(name);
    pg::Params params{std::to_string(mapping.id)};
    std::string which;
    if (record_ids) {
        params.push_back(text_array_literal(*record_ids));
        which = " AND e.record_id = ANY ($2::text[])";
    }
    const pg::Result marked = pg::execute_catalog(
        "UPDATE reverse_etl.record_error_catalog AS e SET sent_hash = NULL, given_up_at = NULL, "
        "first_failed_at = pg_catalog.now() WHERE e.mapping_id = $1::bigint AND e.kind IN ('failed', 'rejected')" +
            which,
        params);
    PG_RETURN_INT64(static_cast<int64_t>(marked.processed));
}

REVERSE_ETL_FUNCTION(reverse_etl_preview_mapping) {
    const std::string name = pg::required_text(fcinfo, 0, "mapping");
    const int row_limit = pg::required_int32(fcinfo, 1, "row_limit");
    if (row_limit < 0 || row_limit > 1000)
        throw Error(sqlstate::kInvalidParameterValue, "row_limit must be between 0 and 1000",
                    "The value given is " + std::to_string(row_limit) + ".");
    const pg::SpiConnection spi;
    const catalog::MappingRow mapping = catalog::find_mapping(name);
    pg::MaterializedRows result(fcinfo);
    for (const engine::PreviewRecord &record : engine::preview_mapping(mapping.id, row_limit)) {
        Datum values[3] = {pg::text_datum(record.record_id), pg::text_datum(record.change),
                           pg::jsonb_datum(record.payload)};
        bool nulls[3] = {false, false, false};
        result.add(values, nulls);
    }
    return static_cast<Datum>(0);
}

REVERSE_ETL_FUNCTION(reverse_etl_send_test_record) {
    const std::string name = pg::required_text(fcinfo, 0, "mapping");
    const auto record_id = pg::optional_text(fcinfo, 1);
    std::string document;
    {
        const pg::SpiConnection spi;
        const catalog::MappingRow mapping = catalog::find_mapping(name);
        document = engine::send_test_record(mapping.id, record_id);
    }
    return pg::jsonb_datum(document);
}

REVERSE_ETL_FUNCTION(reverse_etl_request_sync) {
    const std::string name = pg::required_text(fcinfo, 0, "mapping");
    int64_t run_id = 0;
    {
        const pg::SpiConnection spi;
        const SyncTarget target = find_target(name);
        if (!target.destination.enabled)
            throw Error(sqlstate::kObjectNotInPrerequisiteState,
                        "destination " + catalog::quoted(target.destination.name) + " is disabled",
                        "A disabled destination never syncs.", "Enable it with reverse_etl.enable_destination().");
        run_id = engine::request_run(target.mapping.id, "manual");
        pg::wake_launcher_at_commit();
    }
    PG_RETURN_INT64(run_id);
}

REVERSE_ETL_FUNCTION(reverse_etl_run_due_syncs) {
    int started = 0;
    {
        const pg::SpiConnection spi;
        engine::queue_due_runs("pg_cron");
        engine::queue_live_runs();
        const pg::Result running = pg::execute_catalog(
            "SELECT count(*)::text FROM reverse_etl.run_catalog WHERE status = 'running'");
        const int free_slots = pg::max_parallel_syncs() - number_from_sql<int>(running.scalar());
        for (const engine::StartableRun &run : engine::startable_runs(free_slots)) {
            pg::DeferredStart start{run.role, run.mapping_id, run.run_id, {0}};
            strlcpy(start.trigger, run.trigger.c_str(), sizeof(start.trigger));
            if (!pg::start_worker_at_commit(start))
                break;
            started++;
        }
        // Without the launcher, alerts that could not be posted at the end
        // of their run are tried again here; in a subtransaction, so that a
        // failure there costs neither the runs queued nor those to start.
        if (const auto failed = pg::run_in_subtransaction([] { engine::post_pending_alerts(engine::AlertPosting{}); }))
            pg::warning("reverse_etl: could not post pending alerts: " + failed->message());
    }
    PG_RETURN_INT32(started);
}
