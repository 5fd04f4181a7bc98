// The live-sync capture triggers (catalog/live_capture.hpp):
// - reverse_etl_state.capture_change(), the statement-level trigger a live
//   mapping puts on each table its model reads, records the table's oid
//   once per transaction;
// - reverse_etl_state.capture_keys(), on the table whose key an incremental
//   mapping's record ids are, records the keys of the rows each statement
//   changed, read from its transition tables.
// Both write in the writer's transaction (a rolled-back change records
// nothing; a committed one can never be missed) and wake the launcher when
// that transaction commits.
//
// They run inside every write to those tables, as the writing role: the row
// goes in as the catalog owner (execute_catalog), the only thing they write.
// No version check: a library and extension of different versions must not
// fail the application's writes.
#include <string_view>
#include <unordered_set>

#include "catalog/live_capture.hpp"
#include "pg/error_crossing.hpp"
#include "pg/guc.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/postgres_headers.hpp"
#include "pg/spi.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "utils/tuplestore.h"
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

void register_callbacks() {
    if (callbacks_registered)
        return;
    RegisterXactCallback(forget_at_transaction_end, nullptr);
    RegisterSubXactCallback(forget_at_subtransaction_abort, nullptr);
    callbacks_registered = true;
}

const TriggerData *statement_trigger_data(FunctionCallInfo fcinfo, const char *function) {
    if (!CALLED_AS_TRIGGER(fcinfo))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("%s must be called as a trigger", function)));
    const TriggerData *data = reinterpret_cast<const TriggerData *>(fcinfo->context);
    if (!TRIGGER_FIRED_AFTER(data->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(data->tg_event))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("%s must be an AFTER ... FOR EACH STATEMENT trigger", function)));
    return data;
}

// The keys of a statement's rows, as the key column's output function
// prints them, one text[] element each (NULL keys are no record's). An
// UPDATE of the key column lists each unchanged key twice, which the launcher
// reads once.
struct TransitionKeys {
    bool keys_known;
    pg::TextArrayBuilder *keys;
};

// Past this many bytes of keys a statement's are not kept (an array must stay
// well under PostgreSQL's 1 GB a value): which rows changed is then unknown.
constexpr size_t kMaxKeyBytes = 64 * 1024 * 1024;

// Integers, the keys most tables have, printed as int8out and int4out do,
// without a call and an allocation per key.
bool print_integer_key(Oid type, Datum key, pg::TextArrayBuilder *keys) {
    int64 value = 0;
    switch (type) {
    case INT8OID:
        value = DatumGetInt64(key);
        break;
    case INT4OID:
        value = DatumGetInt32(key);
        break;
    case INT2OID:
        value = DatumGetInt16(key);
        break;
    default:
        return false;
    }
    char text[MAXINT8LEN + 1];
    keys->add(std::string_view(text, static_cast<size_t>(pg_lltoa(value, text))));
    return true;
}

// False when the keys passed kMaxKeyBytes.
bool append_keys(Tuplestorestate *rows, TupleDesc descriptor, AttrNumber attnum, FmgrInfo *output,
                 TransitionKeys *found) {
    if (rows == nullptr)
        return true;
    const Oid type = TupleDescAttr(descriptor, attnum - 1)->atttypid;
    // A read pointer of our own, as a scan of the transition table in
    // another trigger's query allocates its own: the store is shared.
    const int reader = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
    tuplestore_select_read_pointer(rows, reader);
    tuplestore_rescan(rows);
    TupleTableSlot *slot = MakeSingleTupleTableSlot(descriptor, &TTSOpsMinimalTuple);
    bool within_budget = true;
    while (within_budget && tuplestore_gettupleslot(rows, true, false, slot)) {
        bool is_null = false;
        const Datum key = slot_getattr(slot, attnum, &is_null);
        if (!is_null && !print_integer_key(type, key, found->keys)) {
            char *text = OutputFunctionCall(output, key);
            found->keys->add(text);
            pfree(text);
        }
        within_budget = found->keys->bytes() <= kMaxKeyBytes;
    }
    ExecDropSingleTupleTableSlot(slot);
    return within_budget;
}

// Runs inside pg_guard: `keys` is filled, nothing else of C++ is made.
// `keys_known` false: which rows changed is not known (the key column is
// gone, or the statement changed too many rows to keep their keys).
TransitionKeys transition_keys(const TriggerData *trigger, pg::TextArrayBuilder *keys) {
    TransitionKeys found{false, keys};
    Relation relation = trigger->tg_relation;
    const char *column = trigger->tg_trigger->tgnargs == 1 ? trigger->tg_trigger->tgargs[0] : nullptr;
    // A column renamed or dropped since the trigger was made: its keys are
    // unknown, which the runs read as "any row may have changed".
    const AttrNumber attnum = column ? get_attnum(RelationGetRelid(relation), column) : InvalidAttrNumber;
    if (attnum <= 0)
        return found;
    // An UPDATE that does not set the key column keeps every row's key: the
    // new rows' keys are all there is to read. Unless a BEFORE UPDATE row
    // trigger may have set it (tg_updatedcols has the statement's columns).
    Tuplestorestate *old_rows = trigger->tg_oldtable;
    const TriggerDesc *triggers = relation->trigdesc;
    if (TRIGGER_FIRED_BY_UPDATE(trigger->tg_event) && trigger->tg_newtable != nullptr &&
        !bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, trigger->tg_updatedcols) &&
        !(triggers != nullptr && triggers->trig_update_before_row))
        old_rows = nullptr;
    // More keys than any mapping may keep (reverse_etl.live_max_backlog):
    // every incremental mapping of the table diffs the whole model next, so
    // they are not read, and a statement of any size fits in memory.
    const int64 rows = (old_rows ? tuplestore_tuple_count(old_rows) : 0) +
                       (trigger->tg_newtable ? tuplestore_tuple_count(trigger->tg_newtable) : 0);
    if (rows > pg::live_max_backlog())
        return found;
    Oid output_function = InvalidOid;
    bool is_varlena = false;
    getTypeOutputInfo(TupleDescAttr(RelationGetDescr(relation), attnum - 1)->atttypid, &output_function,
                      &is_varlena);
    FmgrInfo output;
    fmgr_info(output_function, &output);
    found.keys_known = append_keys(old_rows, RelationGetDescr(relation), attnum, &output, &found) &&
                         append_keys(trigger->tg_newtable, RelationGetDescr(relation), attnum, &output, &found);
    return found;
}

}  // namespace

REVERSE_ETL_VIEW_FUNCTION(reverse_etl_capture_change) {
    const TriggerData *trigger = pg::pg_guard([&] {
        const TriggerData *data = statement_trigger_data(fcinfo, "capture_change()");
        register_callbacks();
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

REVERSE_ETL_VIEW_FUNCTION(reverse_etl_capture_keys) {
    const TriggerData *trigger = nullptr;
    pg::TextArrayBuilder keys;
    const TransitionKeys found = pg::pg_guard([&] {
        trigger = statement_trigger_data(fcinfo, "capture_keys()");
        return transition_keys(trigger, &keys);
    });
    const Oid relid = RelationGetRelid(trigger->tg_relation);
    if (found.keys_known && keys.size() == 0)  // a statement that changed no row
        return PointerGetDatum(nullptr);
    {
        const pg::SpiConnection spi;
        if (found.keys_known)
            catalog::record_live_keys(relid, keys);
        else
            catalog::record_live_change(relid);
    }
    pg::wake_launcher_at_commit();
    return PointerGetDatum(nullptr);
}
