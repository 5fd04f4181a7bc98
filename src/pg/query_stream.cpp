#include "pg/query_stream.hpp"

#include <algorithm>
#include <cstring>

#include "pg/error_crossing.hpp"
#include "pg/key_uniqueness.hpp"
#include "pg/plain_table.hpp"
#include "pg/role_scope.hpp"
#include "pg/transaction.hpp"

extern "C" {
#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/tupdesc.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/proc.h"
#include "storage/shm_mq.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
}

namespace reverse_etl::pg {

namespace {

constexpr uint32 kSegmentMagic = 0x52455452;   // "RETR"
// Room for a few thousand rows of a few hundred bytes: the reader runs ahead
// of delivery by about one chunk, and waits when delivery falls behind.
constexpr Size kQueueBytes = 2 * 1024 * 1024;
// How long rows sent may wait in the queue unseen (see sender_receive).
constexpr int64 kFlushIntervalUsec = 5000;
constexpr int kStreamColumns = 6;
constexpr int kMaxTakeRows = 1000;   // rows a take stores at most
constexpr int kLogColumns = 5;
// The types of the streamed columns (StreamedQuery).
constexpr Oid kColumnTypes[kStreamColumns] = {TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID, TEXTOID};

// What the starting process puts in the segment, followed by the strings
// (NUL-terminated, in the order of StreamedQuery) and, MAXALIGNed, the queue.
struct SegmentHeader {
    uint32 magic;
    Oid database;
    Oid user;   // the starting process's session user: the reader connects as it
    Oid role;
    Size queue_offset;
};

// Each message starts with 8 bytes saying what it is, so that a row's
// minimal tuple after them stays MAXALIGNed, as the queue returns messages.
enum class MessageKind : char { Row = 'R', End = 'C', Error = 'E' };
struct MessageHead {
    MessageKind kind;
    char padding[7];
};
static_assert(sizeof(MessageHead) == 8 && MAXIMUM_ALIGNOF <= 8, "a row's tuple follows MAXALIGNed");

TupleDesc stream_descriptor() {
    TupleDesc desc = CreateTemplateTupleDesc(kStreamColumns);
    for (int i = 0; i < kStreamColumns; i++)
        TupleDescInitBuiltinEntry(desc, static_cast<AttrNumber>(i + 1), "c", kColumnTypes[i], -1, 0);
    return desc;
}

}  // namespace

// Made once per stream, in session memory (palloc0'd: every field starts
// zeroed but held_result, set where it is made): a take makes no slot and
// pins no descriptor (both showed in the run's profile when made per row).
struct QueryStream::Shared {
    dsm_segment *segment;
    shm_mq_handle *queue;
    BackgroundWorkerHandle *worker;
    TupleDesc descriptor;       // of the streamed rows
    TupleTableSlot *received;   // a streamed row, as the queue holds it
    TupleDesc log_descriptor;   // the log table's, copied at the first take
    TupleTableSlot *stored[kMaxTakeRows];   // rows being stored in the log
    MemoryContext stored_memory;   // their tuples, emptied at each take
    // A message ready() received and take() has not consumed yet: a copy,
    // as the queue may reuse its memory.
    char *held;
    Size held_capacity;
    Size held_length;
    shm_mq_result held_result;   // SUCCESS: `held` is a message; DETACHED
    int dest_key_field;          // StreamedQuery's
};

namespace {

// ---- the starting process's end -------------------------------------------

struct StartCall {
    const StreamedQuery *query;
    QueryStream::Shared *shared;   // nullptr: no worker slot
};

void start_reader(void *argument) {
    auto *call = static_cast<StartCall *>(argument);
    const StreamedQuery &query = *call->query;
    const char *strings[] = {query.sql.c_str(), query.search_path.c_str(), query.model_query.c_str(),
                             query.key_column.c_str(), query.error_prefix.c_str()};
    Size strings_size = 0;
    for (const char *text : strings)
        strings_size += strlen(text) + 1;
    const Size queue_offset = MAXALIGN(sizeof(SegmentHeader) + strings_size);
    // Session memory: the stream outlives the transaction that starts it.
    const MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
    // Out of segments (a server busy with parallel queries): the run reads
    // the model itself, as when no worker slot is free.
    dsm_segment *segment = dsm_create(queue_offset + kQueueBytes, DSM_CREATE_NULL_IF_MAXSEGMENTS);
    if (segment == nullptr) {
        MemoryContextSwitchTo(previous);
        return;
    }
    dsm_pin_mapping(segment);
    char *base = static_cast<char *>(dsm_segment_address(segment));
    auto *header = reinterpret_cast<SegmentHeader *>(base);
    header->magic = kSegmentMagic;
    header->database = MyDatabaseId;
    header->user = GetSessionUserId();
    header->role = query.role;
    header->queue_offset = queue_offset;
    char *next = base + sizeof(SegmentHeader);
    for (const char *text : strings) {
        const Size length = strlen(text) + 1;
        memcpy(next, text, length);
        next += length;
    }
    shm_mq *queue = shm_mq_create(base + queue_offset, kQueueBytes);
    shm_mq_set_receiver(queue, MyProc);

    BackgroundWorker worker;
    memset(&worker, 0, sizeof(worker));
    worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
    worker.bgw_restart_time = BGW_NEVER_RESTART;
    strlcpy(worker.bgw_library_name, "reverse_etl", sizeof(worker.bgw_library_name));
    strlcpy(worker.bgw_function_name, "reverse_etl_model_reader_main", sizeof(worker.bgw_function_name));
    snprintf(worker.bgw_name, sizeof(worker.bgw_name), "reverse_etl model reader for PID %d", MyProcPid);
    strlcpy(worker.bgw_type, "reverse_etl model reader", sizeof(worker.bgw_type));
    worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(segment));
    worker.bgw_notify_pid = MyProcPid;
    BackgroundWorkerHandle *handle = nullptr;
    if (!RegisterDynamicBackgroundWorker(&worker, &handle)) {
        dsm_detach(segment);
        MemoryContextSwitchTo(previous);
        return;
    }
    auto *shared = static_cast<QueryStream::Shared *>(palloc0(sizeof(QueryStream::Shared)));
    shared->held_result = SHM_MQ_WOULD_BLOCK;   // (palloc0 runs no initializer)
    shared->dest_key_field = query.dest_key_field;
    shared->segment = segment;
    shared->worker = handle;
    // With the worker's handle, a reader that never attaches (it failed to
    // start) reads as detached rather than a wait forever.
    shared->queue = shm_mq_attach(queue, segment, handle);
    shared->descriptor = stream_descriptor();
    shared->received = MakeSingleTupleTableSlot(shared->descriptor, &TTSOpsMinimalTuple);
    shared->stored_memory = AllocSetContextCreate(TopMemoryContext, "reverse_etl streamed rows", ALLOCSET_DEFAULT_SIZES);
    MemoryContextSwitchTo(previous);
    call->shared = shared;
}

void stop_reader(void *argument) {
    auto *shared = static_cast<QueryStream::Shared *>(argument);
    shm_mq_detach(shared->queue);
    TerminateBackgroundWorker(shared->worker);
    dsm_detach(shared->segment);
    for (TupleTableSlot *slot : shared->stored)
        if (slot != nullptr)
            ExecDropSingleTupleTableSlot(slot);
    ExecDropSingleTupleTableSlot(shared->received);
    MemoryContextDelete(shared->stored_memory);
    if (shared->held != nullptr)
        pfree(shared->held);
    FreeTupleDesc(shared->descriptor);
    if (shared->log_descriptor != nullptr)
        FreeTupleDesc(shared->log_descriptor);
    pfree(shared->worker);
    pfree(shared);
}

// A row taken: where its strings lie in TakeCall::text (-1: NULL).
enum TakenField { kRecordId, kChange, kDestKey, kValues, kVersion, kTid, kTakenFields };
constexpr int kTakenColumn[kVersion] = {0, 1, 4, 5};   // the stream columns of the text fields
struct TakenRow {
    ItemPointerData tid;
    int offset[kTakenFields];
    int length[kTakenFields];
};

// The next message: the one ready() kept, else the queue's.
shm_mq_result next_message(QueryStream::Shared *shared, bool nowait, Size *length, void **data) {
    if (shared->held_result != SHM_MQ_WOULD_BLOCK) {
        const shm_mq_result result = shared->held_result;
        shared->held_result = SHM_MQ_WOULD_BLOCK;
        *length = shared->held_length;
        *data = shared->held;
        return result;
    }
    return shm_mq_receive(shared->queue, length, data, nowait);
}

void peek_message(void *argument) {
    auto *shared = static_cast<QueryStream::Shared *>(argument);
    if (shared->held_result != SHM_MQ_WOULD_BLOCK)
        return;
    Size length = 0;
    void *data = nullptr;
    shared->held_result = shm_mq_receive(shared->queue, &length, &data, true);
    if (shared->held_result != SHM_MQ_SUCCESS)
        return;
    if (length > shared->held_capacity) {
        if (shared->held != nullptr)
            pfree(shared->held);
        shared->held = static_cast<char *>(MemoryContextAlloc(TopMemoryContext, length));
        shared->held_capacity = length;
    }
    memcpy(shared->held, data, length);
    shared->held_length = length;
}

struct TakeCall {
    QueryStream::Shared *shared;
    int max_rows;
    Size max_bytes;   // of the rows' text, past the first row
    bool wait;
    const char *schema;
    const char *table_name;
    // Out: rows taken, their text, and how the stream stands.
    TakenRow *rows;
    int taken;
    StringInfoData text;
    bool ended;
    uint64 rows_sent;     // what the reader said it sent, at the end
    bool reader_gone;     // detached without an end or an error
    ErrorData *reader_error;
};

// The field numbered `field` (from 1) of rendered values (separated by
// 0x1F) as text, or NULL when it is empty or missing, as
// NULLIF(split_part(vals, E'\x1f', field), '') gives it. In the current
// memory context.
void field_of_values(Datum values, int field, Datum &out, bool &isnull) {
    text *detoasted = DatumGetTextPP(values);
    const char *at = VARDATA_ANY(detoasted);
    const char *const end = at + VARSIZE_ANY_EXHDR(detoasted);
    for (int n = 1; n < field && at != end; n++) {
        const auto *separator = static_cast<const char *>(memchr(at, '\x1f', static_cast<size_t>(end - at)));
        at = separator == nullptr ? end : separator + 1;
    }
    const auto *separator = static_cast<const char *>(memchr(at, '\x1f', static_cast<size_t>(end - at)));
    const char *const stop = separator == nullptr ? end : separator;
    isnull = stop == at;
    out = isnull ? Datum(0) : PointerGetDatum(cstring_to_text_with_len(at, static_cast<int>(stop - at)));
}

void append_text(TakeCall *call, TakenRow *row, int field, bool isnull, Datum value) {
    if (isnull) {
        row->offset[field] = -1;
        row->length[field] = -1;
        return;
    }
    text *detoasted = DatumGetTextPP(value);
    row->offset[field] = call->text.len;
    row->length[field] = static_cast<int>(VARSIZE_ANY_EXHDR(detoasted));
    appendBinaryStringInfo(&call->text, VARDATA_ANY(detoasted), row->length[field]);
}

// The reader's error message: SQLSTATE, then message, detail and hint,
// each NUL-terminated.
ErrorData *error_of_message(const char *data, Size length) {
    auto *error = static_cast<ErrorData *>(palloc0(sizeof(ErrorData)));
    const char *end = data + length;
    const char *fields[4] = {"", "", "", ""};
    for (const char *&field : fields) {
        if (data >= end)
            break;
        field = data;
        data += strnlen(data, static_cast<size_t>(end - data)) + 1;
    }
    const char *state = fields[0];
    error->sqlerrcode = strlen(state) == 5 ? MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4])
                                           : ERRCODE_INTERNAL_ERROR;
    error->message = pstrdup(fields[1]);
    error->detail = fields[2][0] != '\0' ? pstrdup(fields[2]) : nullptr;
    error->hint = fields[3][0] != '\0' ? pstrdup(fields[3]) : nullptr;
    error->elevel = ERROR;
    return error;
}

void take_rows(void *argument) {
    auto *call = static_cast<TakeCall *>(argument);
    QueryStream::Shared *shared = call->shared;
    call->rows = static_cast<TakenRow *>(palloc(sizeof(TakenRow) * static_cast<Size>(call->max_rows)));
    initStringInfo(&call->text);
    Relation log = table_openrv(makeRangeVar(pstrdup(call->schema), pstrdup(call->table_name), -1),
                                RowExclusiveLock);
    // Rows stored here bypass what an INSERT would fire or check.
    if (RelationGetDescr(log)->natts != kLogColumns || !stores_rows_only(log))
        elog(ERROR, "table \"%s\" is not a plain selection log", RelationGetRelationName(log));
    if (shared->log_descriptor == nullptr) {
        const MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
        shared->log_descriptor = CreateTupleDescCopy(RelationGetDescr(log));
        MemoryContextSwitchTo(previous);
    }
    TupleTableSlot *received = shared->received;
    TupleTableSlot **slots = shared->stored;
    // What an earlier take that failed half-way left.
    ExecClearTuple(received);
    for (TupleTableSlot *slot : shared->stored)
        if (slot != nullptr)
            ExecClearTuple(slot);
    MemoryContextReset(shared->stored_memory);
    while (call->taken < call->max_rows && (call->taken == 0 || static_cast<Size>(call->text.len) < call->max_bytes)) {
        Size length = 0;
        void *data = nullptr;
        const shm_mq_result result = next_message(shared, !(call->wait && call->taken == 0), &length, &data);
        if (result == SHM_MQ_WOULD_BLOCK)
            break;
        if (result == SHM_MQ_DETACHED) {
            call->reader_gone = true;
            break;
        }
        if (length < sizeof(MessageHead))
            elog(ERROR, "model reader sent a message of %zu bytes", length);
        const auto *head = static_cast<const MessageHead *>(data);
        const char *body = static_cast<const char *>(data) + sizeof(MessageHead);
        const Size body_length = length - sizeof(MessageHead);
        if (head->kind == MessageKind::Error) {
            call->reader_error = error_of_message(body, body_length);
            break;
        }
        if (head->kind == MessageKind::End) {
            if (body_length != sizeof(uint64))
                elog(ERROR, "model reader sent an end of %zu bytes", body_length);
            memcpy(&call->rows_sent, body, sizeof(uint64));
            call->ended = true;
            break;
        }
        if (head->kind != MessageKind::Row)
            elog(ERROR, "model reader sent a message of kind %d", static_cast<int>(head->kind));
        ExecStoreMinimalTuple(reinterpret_cast<MinimalTuple>(const_cast<char *>(body)), received, false);
        slot_getallattrs(received);
        if (received->tts_isnull[0] || received->tts_isnull[1] || received->tts_isnull[3])
            elog(ERROR, "model reader sent a row with a NULL identifier, change or version");
        TupleTableSlot *&slot = slots[call->taken];
        if (slot == nullptr) {
            const MemoryContext previous = MemoryContextSwitchTo(TopMemoryContext);
            slot = MakeSingleTupleTableSlot(shared->log_descriptor, &TTSOpsHeapTuple);
            MemoryContextSwitchTo(previous);
        }
        // The row as stored, with its destination key taken from its values
        // (dest_key_field); its own copy (the queue reuses the message's
        // memory), freed when the slot is cleared.
        Datum values[kStreamColumns];
        bool isnull[kStreamColumns];
        memcpy(values, received->tts_values, sizeof(values));
        memcpy(isnull, received->tts_isnull, sizeof(isnull));
        const int key = kTakenColumn[kDestKey], vals = kTakenColumn[kValues];
        const MemoryContext previous = MemoryContextSwitchTo(shared->stored_memory);
        if (shared->dest_key_field > 0 && !isnull[vals]) {
            if (!isnull[key])
                elog(ERROR, "model reader sent a row with the destination key it was to leave out");
            field_of_values(values[vals], shared->dest_key_field, values[key], isnull[key]);
        }
        HeapTuple stored = heap_form_tuple(shared->log_descriptor, values, isnull);
        MemoryContextSwitchTo(previous);
        ExecStoreHeapTuple(stored, slot, true);
        TakenRow *row = &call->rows[call->taken];
        for (int field = 0; field < kVersion; field++)
            append_text(call, row, field, isnull[kTakenColumn[field]], values[kTakenColumn[field]]);
        row->offset[kVersion] = call->text.len;
        appendStringInfo(&call->text, INT64_FORMAT, DatumGetInt64(values[3]));
        row->length[kVersion] = call->text.len - row->offset[kVersion];
        ExecClearTuple(received);
        call->taken++;
    }
    if (call->taken > 0) {
        // Never into free space the FSM knows of, always at the end of the
        // table: each row lands after every row stored before it (no row of
        // the log is deleted while the run goes), which is what lets the
        // checkpoint be written from TID ranges (engine/result_writer.hpp).
        BulkInsertState bulk = GetBulkInsertState();
        table_multi_insert(log, slots, call->taken, GetCurrentCommandId(true), TABLE_INSERT_SKIP_FSM, bulk);
        FreeBulkInsertState(bulk);
        for (int i = 0; i < call->taken; i++) {
            TakenRow *row = &call->rows[i];
            row->tid = slots[i]->tts_tid;
            row->offset[kTid] = call->text.len;
            appendStringInfo(&call->text, "(%u,%u)", ItemPointerGetBlockNumberNoCheck(&row->tid),
                             static_cast<unsigned>(ItemPointerGetOffsetNumberNoCheck(&row->tid)));
            row->length[kTid] = call->text.len - row->offset[kTid];
            ExecClearTuple(slots[i]);
        }
    }
    table_close(log, NoLock);
}

// ---- the reader's end -----------------------------------------------------

struct Sender {
    DestReceiver base;   // first: the executor sees a DestReceiver *
    shm_mq_handle *queue;
    uint64 rows;
    TimestampTz last_flush;
    bool detached;       // the starting process went away: stop quietly
    Datum values[kStreamColumns];
    bool nulls[kStreamColumns];
};

void sender_startup(DestReceiver *, int, TupleDesc result) {
    if (result->natts != kStreamColumns)
        elog(ERROR, "streamed query returns %d columns, not %d", result->natts, kStreamColumns);
    for (int i = 0; i < kStreamColumns; i++)
        if (TupleDescAttr(result, i)->atttypid != kColumnTypes[i])
            elog(ERROR, "streamed query returns type %u in column %d", TupleDescAttr(result, i)->atttypid, i + 1);
}

// Sends the row as a minimal tuple, its out-of-line values fetched first:
// the starting process reads the row after this transaction may have ended.
bool sender_receive(TupleTableSlot *slot, DestReceiver *self) {
    auto *sender = reinterpret_cast<Sender *>(self);
    slot_getallattrs(slot);
    for (int i = 0; i < kStreamColumns; i++) {
        sender->nulls[i] = slot->tts_isnull[i];
        sender->values[i] = slot->tts_values[i];
        if (!sender->nulls[i] && kColumnTypes[i] == TEXTOID &&
            VARATT_IS_EXTERNAL(DatumGetPointer(slot->tts_values[i])))
            sender->values[i] =
                PointerGetDatum(detoast_external_attr(reinterpret_cast<varlena *>(DatumGetPointer(slot->tts_values[i]))));
    }
    MinimalTuple tuple = heap_form_minimal_tuple(slot->tts_tupleDescriptor, sender->values, sender->nulls);
    MessageHead head{};
    head.kind = MessageKind::Row;
    shm_mq_iovec parts[2] = {{reinterpret_cast<const char *>(&head), sizeof(head)},
                             {reinterpret_cast<const char *>(tuple), tuple->t_len}};
    // The queue shows what was sent once a quarter of it is full; a model
    // slow to compute would keep its first records from delivery for as
    // long. So a row sent 5 ms or more after the last one shown is shown
    // at once, with those before it. (Rows sent within 5 ms of that wait
    // for the next row or the end: a pause in the model right after a
    // burst holds the burst's last rows for the pause.)
    const TimestampTz now = GetCurrentTimestamp();
    const bool flush = now - sender->last_flush >= kFlushIntervalUsec;
    if (flush)
        sender->last_flush = now;
    const shm_mq_result result = shm_mq_sendv(sender->queue, parts, 2, false, flush);
    pfree(tuple);
    for (int i = 0; i < kStreamColumns; i++)
        if (sender->values[i] != slot->tts_values[i])
            pfree(DatumGetPointer(sender->values[i]));
    if (result == SHM_MQ_DETACHED) {
        sender->detached = true;
        return false;   // ends the query, as a parallel query's tuple queue does
    }
    sender->rows++;
    return true;
}

void sender_shutdown(DestReceiver *) {}
void sender_destroy(DestReceiver *) {}

struct SendCall {
    const char *sql;
    Sender *sender;
};

void send_rows(void *argument) {
    auto *call = static_cast<SendCall *>(argument);
    SPIExecuteOptions options;
    memset(&options, 0, sizeof(options));
    options.dest = &call->sender->base;
    const int rc = SPI_execute_extended(call->sql, &options);
    if (rc < 0)
        elog(ERROR, "SPI_execute_extended failed: %s", SPI_result_code_string(rc));
}

void send_message(shm_mq_handle *queue, MessageKind kind, const std::string &body) {
    MessageHead head{};
    head.kind = kind;
    shm_mq_iovec parts[2] = {{reinterpret_cast<const char *>(&head), sizeof(head)}, {body.data(), body.size()}};
    pg_guard([&] { (void)shm_mq_sendv(queue, parts, 2, false, true); });
}

struct ReaderSegment {
    dsm_segment *segment = nullptr;
    const SegmentHeader *header = nullptr;
    shm_mq_handle *queue = nullptr;
    StreamedQuery query;
};

}  // namespace

std::unique_ptr<QueryStream> QueryStream::start(const StreamedQuery &query) {
    StartCall call{&query, nullptr};
    if (ErrorData *error = call_guarded(start_reader, &call))
        throw_postgres_error(error);
    if (call.shared == nullptr)
        return nullptr;
    return std::unique_ptr<QueryStream>(new QueryStream(call.shared));
}

QueryStream::~QueryStream() {
    if (ErrorData *error = call_guarded(stop_reader, shared_))
        FreeErrorData(error);
}

bool QueryStream::ready() {
    if (finished_)
        return true;
    if (ErrorData *error = call_guarded(peek_message, shared_))
        throw_postgres_error(error);
    return shared_->held_result != SHM_MQ_WOULD_BLOCK;
}

const std::vector<StreamedRow> &QueryStream::take(size_t max_rows, size_t max_bytes, bool wait,
                                                  const std::string &schema, const std::string &table_name) {
    rows_.clear();
    if (finished_)
        return rows_;
    TakeCall call;
    memset(&call, 0, sizeof(call));
    call.shared = shared_;
    call.max_rows = static_cast<int>(std::clamp<size_t>(max_rows, 1, kMaxTakeRows));
    // Offsets into the rows' text are ints, and a StringInfo stops at 1 GB.
    call.max_bytes = std::min<size_t>(max_bytes, 256 * 1024 * 1024);
    call.wait = wait;
    call.schema = schema.c_str();
    call.table_name = table_name.c_str();
    if (ErrorData *error = call_guarded(take_rows, &call))
        throw_postgres_error(error);
    if (call.reader_error != nullptr)
        throw_postgres_error(call.reader_error);
    text_.assign(call.text.data != nullptr ? call.text.data : "", call.text.data != nullptr ? call.text.len : 0);
    const auto field = [&](const TakenRow &row, int i) -> std::optional<std::string_view> {
        if (row.length[i] < 0)
            return std::nullopt;
        return std::string_view(text_).substr(static_cast<size_t>(row.offset[i]), static_cast<size_t>(row.length[i]));
    };
    for (int i = 0; i < call.taken; i++) {
        const TakenRow &row = call.rows[i];
        // What the checkpoint's TID ranges rely on (see take_rows), checked.
        const uint64_t key = (static_cast<uint64_t>(ItemPointerGetBlockNumberNoCheck(&row.tid)) << 16) |
                             ItemPointerGetOffsetNumberNoCheck(&row.tid);
        if (rows_taken_ + static_cast<uint64_t>(i) > 0 && key <= last_tid_key_)
            throw Error(sqlstate::kInternalError, "selection log row " + std::string(*field(row, kTid)) +
                                                      " stored before the row stored last");
        last_tid_key_ = key;
        rows_.push_back(StreamedRow{*field(row, kTid), *field(row, kRecordId), *field(row, kChange),
                                    *field(row, kVersion), field(row, kDestKey), field(row, kValues)});
    }
    rows_taken_ += static_cast<uint64_t>(call.taken);
    if (call.ended) {
        if (call.rows_sent != rows_taken_)
            throw Error(sqlstate::kInternalError,
                        "model reader sent " + std::to_string(call.rows_sent) + " rows, " +
                            std::to_string(rows_taken_) + " were taken");
        finished_ = true;
    } else if (call.reader_gone) {
        throw Error(sqlstate::kInternalError, "the model reader exited before the end of the model",
                    std::to_string(rows_taken_) + " rows were read; the run's later records go in the next run.",
                    "See the server log for why the reader stopped.");
    }
    return rows_;
}

void serve_query_stream(uint32_t segment_handle, const std::function<void()> &configure_session) {
    ReaderSegment reader;
    pg_guard([&] {
        reader.segment = dsm_attach(segment_handle);
        if (reader.segment == nullptr)
            return;   // the run that wanted the rows is gone
        const char *base = static_cast<const char *>(dsm_segment_address(reader.segment));
        reader.header = reinterpret_cast<const SegmentHeader *>(base);
        if (reader.header->magic != kSegmentMagic)
            elog(ERROR, "model reader's segment has a bad magic number");
        auto *queue = reinterpret_cast<shm_mq *>(const_cast<char *>(base) + reader.header->queue_offset);
        shm_mq_set_sender(queue, MyProc);
        reader.queue = shm_mq_attach(queue, reader.segment, nullptr);
    });
    if (reader.segment == nullptr)
        return;
    const char *next = reinterpret_cast<const char *>(reader.header) + sizeof(SegmentHeader);
    std::string *fields[] = {&reader.query.sql, &reader.query.search_path, &reader.query.model_query,
                             &reader.query.key_column, &reader.query.error_prefix};
    for (std::string *field : fields) {
        *field = next;
        next += field->size() + 1;
    }
    reader.query.role = reader.header->role;
    pg_guard([&] { BackgroundWorkerInitializeConnectionByOid(reader.header->database, reader.header->user, 0); });
    configure_session();
    Sender sender;
    memset(&sender, 0, sizeof(sender));
    sender.base.receiveSlot = sender_receive;
    sender.base.rStartup = sender_startup;
    sender.base.rShutdown = sender_shutdown;
    sender.base.rDestroy = sender_destroy;
    sender.base.mydest = DestNone;
    sender.queue = reader.queue;
    try {
        const auto prove_unique = [&](const char *detail) {
            if (!model_key_is_unique(reader.query.model_query, reader.query.key_column))
                throw Error(sqlstate::kObjectNotInPrerequisiteState,
                            "its identifier column \"" + reader.query.key_column + "\" is no longer provably unique",
                            detail, "The next run checks the identifier's values one by one.");
        };
        run_in_transaction(
            [&] {
                const RoleScope as_owner(reader.query.role, reader.query.search_path);
                // Proven in this transaction before the query, as a run
                // that reads the model itself does: the locks taken keep
                // the unique index in place until the rows are read. (The
                // run proved it too, in a transaction that has ended.)
                prove_unique("It changed after the run began: no record was sent.");
                SendCall call{reader.query.sql.c_str(), &sender};
                if (ErrorData *error = call_guarded(send_rows, &call))
                    throw_postgres_error(error);
                if (sender.detached)
                    return;
                // And after, as such a run does too: a first inheritance
                // child may have appeared meanwhile.
                prove_unique("Records read before this was found may have been sent.");
            },
            Isolation::RepeatableRead);
        if (sender.detached)
            return;
        const uint64 rows = sender.rows;
        send_message(reader.queue, MessageKind::End, std::string(reinterpret_cast<const char *>(&rows), sizeof(rows)));
    } catch (const Error &error) {
        if (sender.detached)
            return;
        std::string body = error.sqlstate();
        for (const std::string &part : {reader.query.error_prefix + error.message(), error.detail(), error.hint()})
            body += std::string(1, '\0') + part;
        body += '\0';
        send_message(reader.queue, MessageKind::Error, body);
    }
}

}  // namespace reverse_etl::pg
