// reverse_etl_state.capture_change(): the statement-level trigger a live
// mapping puts on each table its model reads (catalog/live_capture.hpp). It
// records the table's oid once per transaction, in the writer's transaction
// (a rolled-back change records nothing; a committed one can never be
// missed), and wakes the launcher when that transaction commits.
//
// Runs inside every write to those tables, as the writing role: the row goes
// in as the catalog owner (execute_catalog), the only thing it writes. No
// version check: a library and extension of different versions must not
// fail the application's writes.
#include <unordered_set>

#include "catalog/live_capture.hpp"
#include "pg/error_crossing.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/postgres_headers.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/trigger.h"
}

using namespace reverse_etl;

namespace {

// The tables this transaction has recorded. Forgotten at its end, and
// entirely at any subtransaction's abort (which takes its rows with it):
// recording a table twice costs a row, forgetting a change would lose it.
std::unordered_set<Oid> recorded_tables;
bool callbacks_registered = false;

void forget_at_transaction_end(XactEvent event, void *) {
    if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PREPARE ||
        event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
        recorded_tables.clear();
}

void forget_at_subtransaction_abort(SubXactEvent event, SubTransactionId, SubTransactionId, void *) {
    if (event == SUBXACT_EVENT_ABORT_SUB)
        recorded_tables.clear();
}

}  // namespace

REVERSE_ETL_VIEW_FUNCTION(reverse_etl_capture_change) {
    const TriggerData *trigger = pg::pg_guard([&]() -> const TriggerData * {
        if (!CALLED_AS_TRIGGER(fcinfo))
            ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                            errmsg("capture_change() must be called as a trigger")));
        const TriggerData *data = reinterpret_cast<const TriggerData *>(fcinfo->context);
        if (!TRIGGER_FIRED_AFTER(data->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(data->tg_event))
            ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                            errmsg("capture_change() must be an AFTER ... FOR EACH STATEMENT trigger")));
        if (!callbacks_registered) {
            RegisterXactCallback(forget_at_transaction_end, nullptr);
            RegisterSubXactCallback(forget_at_subtransaction_abort, nullptr);
            callbacks_registered = true;
        }
        return data;
    });
    const Oid relid = RelationGetRelid(trigger->tg_relation);
    if (recorded_tables.count(relid) == 0) {
        {
            const pg::SpiConnection spi;
            catalog::record_live_change(relid);
        }
        recorded_tables.insert(relid);
        pg::wake_launcher_at_commit();
    }
    return PointerGetDatum(nullptr);
}
