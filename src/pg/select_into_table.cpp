#include "pg/select_into_table.hpp"

#include "pg/error_crossing.hpp"
#include "pg/plain_table.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/memutils.h"
#include "utils/rel.h"
}

namespace reverse_etl::pg {

namespace {

// Rows stored at once, and the bytes after which fewer are: as COPY FROM.
constexpr int kBatchRows = 1000;
constexpr Size kBatchBytes = 1024 * 1024;

// The executor's receiver of the SELECT's rows. Its callbacks run inside
// the executor, where an error longjmps through them: plain C, no objects
// with destructors.
struct TableReceiver {
    DestReceiver base;  // first: the executor sees a DestReceiver *
    Relation relation;
    BulkInsertState bulk;
    CommandId command;
    // Made as needed and kept for the next batch, in memory of their own:
    // the executor's, current in its callbacks, ends with the statement.
    TupleTableSlot *slots[kBatchRows];
    MemoryContext slot_memory;
    // What storing a batch allocates (the heap's array of tuples, toasted
    // copies), reset after each: in the executor's memory it would last
    // until the statement ends, growing with the rows stored.
    MemoryContext batch_memory;
    int buffered;
    Size buffered_bytes;
    uint64 stored;
};

// Refuses a table whose rules, triggers, indexes, row security or CHECK
// constraints rows stored here would bypass.
void check_plain_table(Relation relation) {
    const TupleConstr *constraints = RelationGetDescr(relation)->constr;
    if (!stores_rows_only(relation) || (constraints != nullptr && constraints->num_check > 0))
        elog(ERROR, "table \"%s\" is not a plain table of the engine's", RelationGetRelationName(relation));
}

void receiver_startup(DestReceiver *self, int, TupleDesc result) {
    auto *receiver = reinterpret_cast<TableReceiver *>(self);
    const TupleDesc table = RelationGetDescr(receiver->relation);
    if (result->natts != table->natts)
        elog(ERROR, "query returns %d columns for table \"%s\" of %d", result->natts,
             RelationGetRelationName(receiver->relation), table->natts);
    for (int i = 0; i < table->natts; i++)
        if (TupleDescAttr(result, i)->atttypid != TupleDescAttr(table, i)->atttypid)
            elog(ERROR, "query returns type %u in column %d for table \"%s\", of type %u",
                 TupleDescAttr(result, i)->atttypid, i + 1, RelationGetRelationName(receiver->relation),
                 TupleDescAttr(table, i)->atttypid);
}

void check_not_null(Relation relation, TupleTableSlot *slot) {
    const TupleDesc desc = RelationGetDescr(relation);
    if (desc->constr == nullptr || !desc->constr->has_not_null)
        return;
    slot_getallattrs(slot);
    for (int i = 0; i < desc->natts; i++)
        if (TupleDescAttr(desc, i)->attnotnull && slot->tts_isnull[i])
            ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
                            errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
                                   NameStr(TupleDescAttr(desc, i)->attname), RelationGetRelationName(relation))));
}

void store_batch(TableReceiver *receiver) {
    if (receiver->buffered == 0)
        return;
    const MemoryContext previous = MemoryContextSwitchTo(receiver->batch_memory);
    table_multi_insert(receiver->relation, receiver->slots, receiver->buffered, receiver->command, 0,
                       receiver->bulk);
    MemoryContextSwitchTo(previous);
    MemoryContextReset(receiver->batch_memory);
    for (int i = 0; i < receiver->buffered; i++)
        ExecClearTuple(receiver->slots[i]);
    receiver->stored += static_cast<uint64>(receiver->buffered);
    receiver->buffered = 0;
    receiver->buffered_bytes = 0;
}

// Copies the row (the executor reuses its slot) into the batch; stores the
// batch when it is full.
bool receiver_receive(TupleTableSlot *slot, DestReceiver *self) {
    auto *receiver = reinterpret_cast<TableReceiver *>(self);
    check_not_null(receiver->relation, slot);
    TupleTableSlot *&kept = receiver->slots[receiver->buffered];
    if (kept == nullptr) {
        const MemoryContext previous = MemoryContextSwitchTo(receiver->slot_memory);
        kept = table_slot_create(receiver->relation, nullptr);
        MemoryContextSwitchTo(previous);
    }
    ExecCopySlot(kept, slot);
    receiver->buffered_bytes += ExecFetchSlotHeapTuple(kept, false, nullptr)->t_len;
    receiver->buffered++;
    if (receiver->buffered == kBatchRows || receiver->buffered_bytes >= kBatchBytes)
        store_batch(receiver);
    return true;
}

void receiver_shutdown(DestReceiver *self) { store_batch(reinterpret_cast<TableReceiver *>(self)); }

void receiver_destroy(DestReceiver *) {}

struct Call {
    const char *schema;
    const char *table_name;
    const char *sql;
    uint64 stored;
};

void run(void *argument) {
    auto *call = static_cast<Call *>(argument);
    // Large (a thousand slot pointers): not on the stack.
    auto *receiver = static_cast<TableReceiver *>(palloc0(sizeof(TableReceiver)));
    receiver->base.receiveSlot = receiver_receive;
    receiver->base.rStartup = receiver_startup;
    receiver->base.rShutdown = receiver_shutdown;
    receiver->base.rDestroy = receiver_destroy;
    receiver->base.mydest = DestNone;
    RangeVar *range = makeRangeVar(pstrdup(call->schema), pstrdup(call->table_name), -1);
    receiver->relation = table_openrv(range, RowExclusiveLock);
    check_plain_table(receiver->relation);
    // As INSERT would (temporary tables are exempt): the rows bypass the
    // executor's check.
    if (receiver->relation->rd_rel->relpersistence != RELPERSISTENCE_TEMP)
        PreventCommandIfReadOnly("INSERT");
    // A parallel plan runs in parallel mode, where no transaction id or
    // command id may be taken: both before it starts.
    (void)GetCurrentTransactionId();
    receiver->command = GetCurrentCommandId(true);
    receiver->bulk = GetBulkInsertState();
    receiver->slot_memory = AllocSetContextCreate(CurrentMemoryContext, "reverse_etl rows to store",
                                                  ALLOCSET_DEFAULT_SIZES);
    receiver->batch_memory = AllocSetContextCreate(CurrentMemoryContext, "reverse_etl rows being stored",
                                                   ALLOCSET_DEFAULT_SIZES);
    SPIExecuteOptions options;
    memset(&options, 0, sizeof(options));
    options.dest = &receiver->base;
    const int rc = SPI_execute_extended(call->sql, &options);
    if (rc < 0)
        elog(ERROR, "SPI_execute_extended failed: %s", SPI_result_code_string(rc));
    // On an error above, transaction abort releases the buffer pinned by
    // the bulk insert state, the slots, the relation and the memory.
    FreeBulkInsertState(receiver->bulk);
    for (TupleTableSlot *slot : receiver->slots)
        if (slot != nullptr)
            ExecDropSingleTupleTableSlot(slot);
    MemoryContextDelete(receiver->slot_memory);
    MemoryContextDelete(receiver->batch_memory);
    table_close(receiver->relation, NoLock);
    call->stored = receiver->stored;
    pfree(receiver);
}

}  // namespace

uint64_t select_into_table(const std::string &schema, const std::string &table_name, const std::string &select_sql) {
    Call call{schema.c_str(), table_name.c_str(), select_sql.c_str(), 0};
    if (ErrorData *error = call_guarded(run, &call))
        throw_postgres_error(error);
    return call.stored;
}

}  // namespace reverse_etl::pg
