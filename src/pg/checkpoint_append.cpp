#include "pg/checkpoint_append.hpp"

#include <algorithm>
#include <cstring>

#include "pg/error_crossing.hpp"
#include "pg/plain_table.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

namespace reverse_etl::pg {

namespace {

constexpr size_t kBatchRows = 1000;   // rows stored by one table_multi_insert

struct AppendCall {
    const char *schema;
    const char *checkpoint;
    const char *log;
    const LoggedDelivery *delivered;
    size_t count;
    bool appended;
};

AttrNumber column_of(Relation relation, const char *name, Oid type) {
    const AttrNumber number = get_attnum(RelationGetRelid(relation), name);
    if (number == InvalidAttrNumber || TupleDescAttr(RelationGetDescr(relation), number - 1)->atttypid != type)
        elog(ERROR, "table \"%s\" has no column \"%s\" of type %s", RelationGetRelationName(relation), name,
             format_type_be(type));
    return number;
}

struct Columns {
    AttrNumber log_id, log_change, log_hash, log_key;
    AttrNumber id, hash, key, object;
};

struct Batch {
    Relation checkpoint;
    ResultRelInfo *result;
    EState *state;
    BulkInsertState bulk;
    CommandId command;
    TupleTableSlot **slots;
    size_t filled;
};

void store(Batch &batch) {
    if (batch.filled == 0)
        return;
    table_multi_insert(batch.checkpoint, batch.slots, static_cast<int>(batch.filled), batch.command, 0, batch.bulk);
    for (size_t i = 0; i < batch.filled; i++)
        ExecClearTuple(batch.slots[i]);
    batch.filled = 0;
}

// The checkpoint row of the log row in `source` (a deletion's: none) into
// the batch's next slot, checked as INSERT checks it.
void add_row(Batch &batch, const Columns &columns, TupleTableSlot *source, const std::string *object_id,
             MemoryContext row_memory) {
    slot_getsomeattrs(source, std::max({columns.log_id, columns.log_change, columns.log_hash, columns.log_key}));
    const int change = columns.log_change - 1;
    if (!source->tts_isnull[change]) {
        const text *const value = DatumGetTextPP(source->tts_values[change]);   // short: never detoasted
        constexpr char kDeleted[] = "deleted";
        if (VARSIZE_ANY_EXHDR(value) == sizeof(kDeleted) - 1 &&
            memcmp(VARDATA_ANY(value), kDeleted, sizeof(kDeleted) - 1) == 0)
            return;
    }
    TupleTableSlot *slot = batch.slots[batch.filled];
    ExecClearTuple(slot);
    const int width = RelationGetDescr(batch.checkpoint)->natts;
    for (int i = 0; i < width; i++) {
        slot->tts_values[i] = 0;
        slot->tts_isnull[i] = true;
    }
    const auto copy = [&](AttrNumber to, AttrNumber from) {
        slot->tts_values[to - 1] = source->tts_values[from - 1];
        slot->tts_isnull[to - 1] = source->tts_isnull[from - 1];
    };
    copy(columns.id, columns.log_id);
    copy(columns.hash, columns.log_hash);
    copy(columns.key, columns.log_key);
    const MemoryContext previous = MemoryContextSwitchTo(row_memory);
    if (object_id != nullptr) {
        slot->tts_values[columns.object - 1] =
            PointerGetDatum(cstring_to_text_with_len(object_id->data(), static_cast<int>(object_id->size())));
        slot->tts_isnull[columns.object - 1] = false;
    }
    ExecStoreVirtualTuple(slot);
    if (batch.checkpoint->rd_att->constr != nullptr)
        ExecConstraints(batch.result, slot, batch.state);
    MemoryContextSwitchTo(previous);
    // Its own copy: the values point into the log's buffer, released by the
    // next fetch.
    ExecMaterializeSlot(slot);
    MemoryContextReset(row_memory);
    ResetPerTupleExprContext(batch.state);
    batch.filled++;
}

void append_rows(void *argument) {
    auto *call = static_cast<AppendCall *>(argument);
    call->appended = false;
    Relation checkpoint = table_openrv(makeRangeVar(pstrdup(call->schema), pstrdup(call->checkpoint), -1),
                                       RowExclusiveLock);
    if (!stores_rows_only(checkpoint)) {
        table_close(checkpoint, NoLock);
        return;
    }
    Relation log = table_openrv(makeRangeVar(pstrdup(call->schema), pstrdup(call->log), -1), AccessShareLock);
    const Columns columns{column_of(log, "record_id", TEXTOID),        column_of(log, "chg", TEXTOID),
                          column_of(log, "hash", INT8OID),             column_of(log, "dest_key", TEXTOID),
                          column_of(checkpoint, "record_id", TEXTOID), column_of(checkpoint, "hash", INT8OID),
                          column_of(checkpoint, "dest_key", TEXTOID),  column_of(checkpoint, "object_id", TEXTOID)};
    const MemoryContext memory =
        AllocSetContextCreate(CurrentMemoryContext, "reverse_etl checkpoint rows", ALLOCSET_DEFAULT_SIZES);
    const MemoryContext previous = MemoryContextSwitchTo(memory);
    const MemoryContext row_memory = AllocSetContextCreate(memory, "reverse_etl checkpoint row", ALLOCSET_SMALL_SIZES);
    Batch batch{checkpoint, makeNode(ResultRelInfo), CreateExecutorState(), GetBulkInsertState(),
                GetCurrentCommandId(true), nullptr, 0};
    // Not in a range table: a constraint's error message names no columns
    // it could not show (ExecGetInsertedCols).
    InitResultRelInfo(batch.result, checkpoint, 0, nullptr, 0);
    const size_t slot_count = std::min(call->count, kBatchRows);
    batch.slots = static_cast<TupleTableSlot **>(palloc(sizeof(TupleTableSlot *) * std::max<size_t>(slot_count, 1)));
    // Slots of a copy of the descriptor: the relation's own is reference
    // counted, and each slot made with it would pin it in the resource owner
    // (remembering and forgetting a thousand pins a slice was most of the
    // cost of storing the rows).
    const TupleDesc descriptor = CreateTupleDescCopy(RelationGetDescr(checkpoint));
    for (size_t i = 0; i < slot_count; i++)
        batch.slots[i] = MakeSingleTupleTableSlot(descriptor, &TTSOpsHeapTuple);
    TupleTableSlot *source = table_slot_create(log, nullptr);
    // The log's rows were committed before their records were sent.
    const Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
    for (size_t i = 0; i < call->count; i++) {
        CHECK_FOR_INTERRUPTS();
        const LoggedDelivery &delivered = call->delivered[i];
        ItemPointerData tid;
        ItemPointerSet(&tid, delivered.block, delivered.offset);
        if (!table_tuple_fetch_row_version(log, &tid, snapshot, source))
            elog(ERROR, "the selection log \"%s\" has no row (%u,%u)", call->log, delivered.block,
                 static_cast<unsigned>(delivered.offset));
        add_row(batch, columns, source, delivered.object_id, row_memory);
        ExecClearTuple(source);
        if (batch.filled == slot_count)
            store(batch);
    }
    store(batch);
    UnregisterSnapshot(snapshot);
    ExecDropSingleTupleTableSlot(source);
    for (size_t i = 0; i < slot_count; i++)
        ExecDropSingleTupleTableSlot(batch.slots[i]);
    FreeBulkInsertState(batch.bulk);
    FreeExecutorState(batch.state);
    MemoryContextSwitchTo(previous);
    MemoryContextDelete(memory);
    table_close(log, NoLock);
    table_close(checkpoint, NoLock);
    CommandCounterIncrement();
    call->appended = true;
}

}  // namespace

bool append_checkpoint_rows(const std::string &schema, const std::string &checkpoint, const std::string &log,
                            const std::vector<LoggedDelivery> &delivered) {
    AppendCall call{schema.c_str(), checkpoint.c_str(), log.c_str(), delivered.data(), delivered.size(), false};
    if (ErrorData *error = call_guarded(append_rows, &call))
        throw_postgres_error(error);
    return call.appended;
}

}  // namespace reverse_etl::pg
