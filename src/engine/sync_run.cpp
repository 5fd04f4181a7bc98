#include "engine/sync_run.hpp"

#include <exception>
#include <map>
#include <memory>
#include <new>
#include <optional>

#include "catalog/catalog_store.hpp"
#include "catalog/live_capture.hpp"
#include "catalog/mapping_state.hpp"
#include "catalog/run_lock.hpp"
#include "catalog/schedule.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/parse_number.hpp"
#include "destinations/request_builder.hpp"
#include "engine/delivery.hpp"
#include "engine/delivery_log.hpp"
#include "engine/extract.hpp"
#include "engine/live_runs.hpp"
#include "engine/mapping_plan.hpp"
#include "engine/payload_builder.hpp"
#include "engine/remote_model.hpp"
#include "engine/run_record.hpp"
#include "engine/sheet_rows.hpp"
#include "http/http_client.hpp"
#include "pg/guc.hpp"
#include "pg/messages.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/stable_formatting.hpp"
#include "pg/time_support.hpp"
#include "pg/transaction.hpp"

namespace reverse_etl::engine {

namespace {


std::string now_iso8601() {
    const pg::Result result = pg::execute("SELECT pg_catalog.to_json(pg_catalog.now()) #>> '{}'");
    return result.scalar();
}

std::string counts_summary(const RunCounters &c) {
    return std::to_string(c.extracted) + " records: " + std::to_string(c.added) + " added, " +
           std::to_string(c.updated) + " updated, " + std::to_string(c.deleted) + " deleted, " +
           std::to_string(c.unchanged) + " unchanged, " + std::to_string(c.invalid) + " invalid; " +
           std::to_string(c.selected) + " to send";
}

std::string final_status(const RunCounters &counters, const DeliveryOutcome &outcome, const std::string &type_name,
                         std::optional<std::string> &error) {
    if (outcome.fatal_error) {
        error = outcome.fatal_error;
        return "failed";
    }
    if (outcome.unreachable_error) {
        error = outcome.unreachable_error;
        return "failed";
    }
    if (outcome.awaiting_job > 0) {
        // Neither delivered nor failed: the destination has them in a job
        // the run stopped waiting for (catalog::JobSpec).
        error = std::to_string(outcome.awaiting_job) +
                (outcome.awaiting_job == 1 ? " record awaits a " : " records await a ") + type_name +
                " job that did not finish within job_wait; " + (outcome.awaiting_job == 1 ? "it goes" : "they go") +
                " in the next run";
        return "partially_succeeded";
    }
    if (counters.invalid > 0 || counters.failed > 0)
        return "partially_succeeded";
    return "succeeded";
}

struct RunState {
    int64_t mapping_id = 0;
    int64_t run_id = 0;
    RunCounters counters;
    // What a run of a live mapping took on (live_runs.hpp).
    std::optional<catalog::LiveRunScope> live;
};

void execute_run(int64_t mapping_id, RunState &state, std::string &status, std::optional<std::string> &error) {
    MappingPlan plan;
    std::string synced_at;
    pg::run_in_transaction([&] {
        plan = load_mapping_plan(mapping_id);
        synced_at = now_iso8601();
        set_phase(state.run_id, "extracting");
    });
    // Committed before the extraction's snapshot: a change committed after
    // that snapshot fires a trigger that exists by then.
    if (catalog::is_live_schedule(plan.mapping.schedule))
        pg::run_in_transaction([&] { state.live = start_live_run(plan); });
    std::string how;
    if (state.live && state.live->incremental) {
        plan.changed_records_up_to = state.live->seen;
        how = " (incremental: the changed records only)";
    } else if (state.live) {
        how = " (full diff: " + state.live->full_reason + ")";
    }
    pg::notice("run " + std::to_string(state.run_id) + " of mapping " + catalog::quoted(plan.mapping.name) +
               ": extracting" + how);
    // One snapshot for the diff and the values it selects: a record changed
    // between the two statements would otherwise go out with its newer
    // values and be checkpointed with the older hash, and a later change
    // back to the older values would look unchanged and never be sent.
    // (Only this run writes what the extraction writes, so REPEATABLE READ
    // raises no serialization failures here.)
    // A first run may stream the model's records to delivery as a model
    // reader reads them (extract_and_classify); the reader stops when
    // `stream` goes, on every path.
    std::unique_ptr<pg::QueryStream> stream;
    pg::run_in_transaction(
        [&] {
            if (!plan.destination.enabled)
                throw Error(sqlstate::kObjectNotInPrerequisiteState,
                            "destination " + catalog::quoted(plan.destination.name) + " is disabled");
            read_remote_model(plan, RemoteRowsTable::RunScoped, state.run_id);
            state.counters = extract_and_classify(plan, state.run_id, false, std::nullopt, &stream);
            drop_remote_rows(plan);
            save_counters(state.run_id, state.counters);
            set_phase(state.run_id, "delivering");
        },
        pg::Isolation::RepeatableRead);
    plan.records_in_log = stream != nullptr;
    if (stream)
        pg::notice("run " + std::to_string(state.run_id) +
                   ": first run: sending the model's records as a model reader reads them");
    else
        pg::notice("run " + std::to_string(state.run_id) + ": " + counts_summary(state.counters));
    const DeliveryOutcome outcome = deliver(plan, state.run_id, synced_at, state.counters, stream.get());
    // Delivery may stop before the end of the model (a destination that
    // refuses the run): the log then holds only the records read.
    const bool read_whole_model = stream && stream->finished();
    stream.reset();
    pg::run_in_transaction([&] {
        if (read_whole_model)
            finish_streamed_extraction(plan, state.run_id);
        if (state.counters.first_run)
            catalog::ensure_checkpoint_key(mapping_id, catalog::KeyRepair::None);
        // Records not acknowledged (failed, rejected, invalid, never sent)
        // may still have reached the destination: a timeout is no proof.
        // (Nothing to send wrote nothing to the log: no TRUNCATE then.)
        if (state.counters.succeeded != state.counters.outbox)
            settle_selection(plan);
        else if (state.counters.outbox > 0)
            clear_selection(plan);
    });
    status = final_status(state.counters, outcome, plan.type.name, error);
    // Records in a destination's job the run stopped waiting for are
    // unconfirmed, with no record error to bring them into an incremental
    // run: the next run of a live mapping diffs the whole model.
    if (state.live && outcome.awaiting_job > 0)
        pg::run_in_transaction(
            [&] { catalog::request_live_run(mapping_id, "records await a destination's job"); });
}

// Records how a run ended; holds off interrupts so that even a shutdown in
// progress lets the row say what happened.
void record_end(const RunState &state, const std::string &status, const std::optional<std::string> &error) {
    const pg::InterruptHoldoff hold;
    pg::run_in_transaction([&] {
        finish_run(state.run_id, status, state.counters, error);
        if (status == "succeeded" && state.live)
            catalog::settle_live_changes(state.mapping_id, *state.live);
        prune_history();
    });
    pg::notice("run " + std::to_string(state.run_id) + " " + status + ": " + std::to_string(state.counters.succeeded) +
               " records delivered, " + std::to_string(state.counters.failed) + " not delivered, " +
               std::to_string(state.counters.invalid) + " invalid" + (error ? " (" + *error + ")" : ""));
}

}  // namespace

std::vector<int> run_lock_holders(int64_t mapping_id) {
    const pg::Result holders = pg::execute(
        "SELECT l.pid::text FROM pg_catalog.pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) "
        "AND l.classid = $1::int::oid AND l.objid = " + catalog::run_lock_objid_sql("$2::bigint") +
            " AND l.objsubid = 2",
        {std::to_string(catalog::kRunLockClass), std::to_string(mapping_id)});
    std::vector<int> pids;
    for (const auto &row : holders.rows)
        pids.push_back(number_from_sql<int>(*row[0]));
    return pids;
}

std::optional<int64_t> running_run(int64_t mapping_id) {
    const std::string id = std::to_string(mapping_id);
    // The run takes the lock, then commits its 'running' row: for a moment the
    // lock is visible and the row is not. Look again (each statement sees
    // what has committed since) before settling for "starting" (0).
    for (int attempt = 0; attempt < 40; attempt++) {
        if (run_lock_holders(mapping_id).empty())
            return std::nullopt;
        const pg::Result run = pg::execute_catalog(
            "SELECT run_id::text FROM reverse_etl.run_catalog WHERE mapping_id = $1::bigint AND status = 'running'",
            {id});
        if (!run.empty())
            return number_from_sql<int64_t>(run.scalar());
        pg::execute("SELECT pg_catalog.pg_sleep(0.05)");
    }
    return 0;
}

std::string running_run_detail(int64_t run_id) {
    return run_id == 0 ? "A run is starting." : "Run " + std::to_string(run_id) + " is in progress.";
}

std::optional<int64_t> lock_mapping_for_run(int64_t mapping_id) {
    const pg::Result locked =
        pg::execute("SELECT pg_catalog.pg_try_advisory_lock(" + catalog::run_lock_args(mapping_id) + ")::text");
    if (locked.scalar() == "true")
        return std::nullopt;
    return running_run(mapping_id).value_or(0);
}

namespace {

constexpr const char *kShutdownError = "interrupted by server shutdown";

// What the exception being handled says (call inside a catch block).
std::string current_exception_text() {
    try {
        throw;
    } catch (const Error &error) {
        return error.message();
    } catch (const std::bad_alloc &) {
        return "out of memory";
    } catch (const std::exception &exception) {
        return exception.what();
    } catch (...) {
        return "unexpected C++ exception";
    }
}

// How a run that threw ended. A SIGTERM (fast shutdown, pg_terminate_backend)
// arrives as a query cancel in any phase (pg::cancel_on_termination_signal),
// so termination is asked first; then a cancel (cancel_sync, a cancelled
// sync() call); anything else is the run's error.
void classify_failure(bool query_canceled, const std::string &text, std::string &status,
                      std::optional<std::string> &error) {
    if (pg::termination_requested()) {
        error = kShutdownError;
    } else if (query_canceled || pg::cancel_requested()) {
        pg::clear_cancel_request();
        status = "canceled";
        error = "canceled";
    } else {
        error = text;
    }
}

}  // namespace

SyncResult run_sync(int64_t mapping_id, const std::string &trigger, int64_t queued_run_id) {
    SyncResult result;
    RunState state;
    state.mapping_id = mapping_id;
    try {
        std::optional<int64_t> busy_with;
        pg::run_in_transaction([&] {
            busy_with = lock_mapping_for_run(mapping_id);
            if (busy_with)
                return;
            fail_interrupted_runs(mapping_id);
            state.run_id = start_run(mapping_id, trigger, queued_run_id);
        });
        if (busy_with) {
            result.outcome = RunOutcome::MappingBusy;
            result.run_id = *busy_with;
            return result;
        }
        if (state.run_id == 0) {  // the queued run was started by another worker
            result.outcome = RunOutcome::Finished;
            return result;
        }
    } catch (...) {
        // No run was started (the transaction that would have started it
        // was rolled back): a queued run stays queued.
        result.message = pg::termination_requested() ? kShutdownError : current_exception_text();
        return result;
    }
    result.run_id = state.run_id;
    std::string status = "failed";
    std::optional<std::string> error;
    try {
        execute_run(mapping_id, state, status, error);
    } catch (const Error &failure) {
        classify_failure(failure.sqlstate() == "57014", failure.message(), status, error);
    } catch (...) {
        classify_failure(false, current_exception_text(), status, error);
    }
    try {
        record_end(state, status, error);
        result.outcome = RunOutcome::Finished;
    } catch (...) {
        result.message =
            "could not record the end of run " + std::to_string(state.run_id) + ": " + current_exception_text();
    }
    return result;
}

std::vector<PreviewRecord> preview_mapping(int64_t mapping_id, int row_limit) {
    const pg::StableFormatting formatting;
    MappingPlan plan = load_mapping_plan(mapping_id);
    read_remote_model(plan);
    extract_preview(plan, row_limit);
    const PayloadBuilder payloads(plan.mapping.fields_json, plan.action, plan.model.columns);
    // One request builder per destination operation the records need.
    std::map<std::string, destinations::RequestBuilder> builders;
    const auto requests_for = [&](const std::string &change, bool has_object_id) -> const destinations::RequestBuilder & {
        const std::string operation = operation_without_lookup(plan, change, has_object_id);
        auto found = builders.find(operation);
        if (found == builders.end())
            found = builders.try_emplace(operation, plan.type, plan.action, plan.settings.get(), operation).first;
        return found->second;
    };
    const RunContext context{plan.mapping.name, 0, now_iso8601()};
    std::optional<SheetRowPreview> sheet_rows;
    if (plan.action.row_index)
        sheet_rows.emplace(plan);
    std::vector<PreviewRecord> preview;
    RecordValues values;
    values.json_values.resize(plan.model.columns.size());
    read_outbox(plan, "(0,0)", [&](const OutboxRow &row) {
        view_record_values(plan, row, values);
        BuiltPayload built = payloads.build(values, context);
        if (!built.valid)
            return true;
        const destinations::RequestBuilder &requests = requests_for(std::string(row.change), row.object_id.has_value());
        std::string object_id(row.object_id.value_or(std::string_view()));
        if (sheet_rows)
            object_id = sheet_rows->row_of(std::string(row.record_id));
        destinations::ElementResult element = requests.element(
            {std::string(row.record_id), std::move(built.json), message_id(plan, row.record_id, row.version),
             std::move(object_id)});
        // Elements may carry secret settings (Mixpanel's $token): shown masked.
        if (element.valid)
            preview.push_back({std::string(row.record_id), std::string(row.change),
                               requests.secrets().mask_json_text(element.element).value_or(element.element)});
        return true;
    });
    drop_work_tables();
    return preview;
}

}  // namespace reverse_etl::engine
