#include "pg/spi.hpp"

#include <cstring>

#include "pg/error_crossing.hpp"
#include "pg/role_scope.hpp"

extern "C" {
#include "utils/array.h"
}

namespace reverse_etl::pg {

const std::string &Result::scalar() const {
    if (rows.empty() || rows[0].empty() || !rows[0][0])
        throw Error(sqlstate::kInternalError, "catalog query returned no value");
    return *rows[0][0];
}

SpiConnection::SpiConnection() : errors_at_start_(postgres_errors_caught()) {
    pg_guard([] {
        if (SPI_connect() != SPI_OK_CONNECT)
            elog(ERROR, "SPI_connect failed");
    });
}

SpiConnection::~SpiConnection() {
    // After a PostgreSQL error, SPI's state belongs to the aborting
    // transaction: the connection on top of SPI's stack may be one a failed
    // function inside a statement left there, not ours. A C++ exception
    // (thrown by our code, perhaps caught by the caller, who carries on)
    // leaves SPI as we knew it: finish the connection, or the caller's next
    // statements would run in it and the transaction end with
    // "transaction left non-empty SPI stack".
    if (postgres_errors_caught() != errors_at_start_)
        return;
    restore_or_exit("the SPI connection", [] { SPI_finish(); });
}

namespace {

// One value of a result row as PostgreSQL holds it, before it becomes a
// std::string outside the guarded block.
struct Cell {
    const char *data;
    size_t length;
    bool is_null;
    bool palloced;  // data is a palloc'd copy to free
};

// How to turn a column's values into text: text-like values are their own
// bytes (no output function, no copy but ours); other types go through their
// output function, looked up once per statement rather than once per value.
struct ColumnReader {
    bool is_text;
    FmgrInfo output;
};

void read_row(HeapTuple tuple, TupleDesc desc, ColumnReader *readers, Cell *cells, int natts) {
    for (int column = 0; column < natts; column++) {
        bool is_null = false;
        const Datum datum = heap_getattr(tuple, column + 1, desc, &is_null);
        Cell &cell = cells[column];
        cell = Cell{nullptr, 0, is_null, false};
        if (is_null)
            continue;
        if (readers[column].is_text) {
            text *value = DatumGetTextPP(datum);
            cell.data = VARDATA_ANY(value);
            cell.length = VARSIZE_ANY_EXHDR(value);
            // A detoasted copy (a value over 2 kB) is left in the current
            // memory context: for execute(), SPI's procedure context, freed
            // by SPI_finish at the end of the call or transaction; for a
            // Cursor, its row context.
        } else {
            char *value = OutputFunctionCall(&readers[column].output, datum);
            cell.data = value;
            cell.length = strlen(value);
            cell.palloced = true;
        }
    }
}

// Looks up each column's output function, once per statement. Guarded.
void set_up_readers(TupleDesc desc, ColumnReader *readers) {
    for (int column = 0; column < desc->natts; column++) {
        const Oid type = TupleDescAttr(desc, column)->atttypid;
        readers[column].is_text = type == TEXTOID || type == VARCHAROID;
        if (!readers[column].is_text) {
            Oid output_function;
            bool is_varlena;
            getTypeOutputInfo(type, &output_function, &is_varlena);
            fmgr_info(output_function, &readers[column].output);
        }
    }
}

// Copies the SPI result into C++ values, then frees SPI's copy so a loop of
// statements in one call does not accumulate tuple tables.
Result collect_result() {
    Result result;
    result.processed = SPI_processed;
    SPITupleTable *table = SPI_tuptable;
    if (table == nullptr)
        return result;
    const TupleDesc desc = table->tupdesc;
    const int natts = desc->natts;
    std::vector<ColumnReader> readers(natts);
    pg_guard([&] { set_up_readers(desc, readers.data()); });
    std::vector<Cell> cells(natts);
    result.rows.reserve(SPI_processed);
    for (uint64 row = 0; row < SPI_processed; row++) {
        pg_guard([&] { read_row(table->vals[row], desc, readers.data(), cells.data(), natts); });
        std::vector<Value> values;
        values.reserve(natts);
        for (const Cell &cell : cells) {
            if (cell.is_null) {
                values.emplace_back(std::nullopt);
                continue;
            }
            values.emplace_back(std::string(cell.data, cell.length));
            if (cell.palloced)
                pfree(const_cast<char *>(cell.data));
        }
        result.rows.push_back(std::move(values));
    }
    SPI_freetuptable(table);
    return result;
}

// The memory of a statement's parameters, deleted with its owner.
class ParameterMemory {
  public:
    ParameterMemory() = default;
    ~ParameterMemory() {
        if (context_ != nullptr)
            MemoryContextDelete(context_);
    }
    ParameterMemory(const ParameterMemory &) = delete;
    ParameterMemory &operator=(const ParameterMemory &) = delete;

    // A text datum holding `contents`. Guarded (call_guarded puts the
    // current memory context back if it raises).
    Datum text_datum(const std::string &contents) {
        if (context_ == nullptr)
            context_ = AllocSetContextCreate(CurrentMemoryContext, "reverse_etl statement parameters",
                                             ALLOCSET_DEFAULT_SIZES);
        const MemoryContext previous = MemoryContextSwitchTo(context_);
        const Datum value = PointerGetDatum(cstring_to_text_with_len(contents.data(), contents.size()));
        MemoryContextSwitchTo(previous);
        return value;
    }

  private:
    MemoryContext context_ = nullptr;
};

// $1, $2, ... as SPI takes them: text datums, with nulls marked 'n'. The
// datums live as long as this object, not until SPI_finish: a loop of
// statements in one call (a remote model's chunks of rows, each a few MB
// of parameters) would otherwise keep every chunk's. SPI copies what it
// keeps (a cursor's portal copies its parameters).
struct SpiParams {
    explicit SpiParams(const Params &params)
        : count(static_cast<int>(params.size())), types(count, TEXTOID), values(count, 0), nulls(count, ' ') {
        for (int i = 0; i < count; i++) {
            if (!params[i]) {
                nulls[i] = 'n';
                continue;
            }
            values[i] = pg_guard([&] { return memory.text_datum(*params[i]); });
        }
    }

    ParameterMemory memory;
    int count;
    std::vector<Oid> types;
    std::vector<Datum> values;
    std::vector<char> nulls;
};

Result run(const std::string &sql, SpiParams &args) {
    pg_guard([&] {
        const int rc = SPI_execute_with_args(sql.c_str(), args.count, args.types.data(), args.values.data(),
                                             args.nulls.data(), false, 0);
        if (rc < 0)
            elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
    });
    return collect_result();
}

}  // namespace

Result execute(const std::string &sql, const Params &params) {
    SpiParams args(params);
    return run(sql, args);
}

Result execute_catalog(const std::string &sql, const Params &params) {
    const CatalogRoleScope as_catalog_owner;
    SpiParams args(params);
    return run(sql, args);
}

void TextArrayBuilder::add(std::string_view item) {
    elements_.resize(INTALIGN(elements_.size()), '\0');
    const size_t at = elements_.size();
    elements_.resize(at + VARHDRSZ);
    SET_VARSIZE(elements_.data() + at, VARHDRSZ + item.size());
    elements_.append(item);
    count_++;
}

std::string TextArrayBuilder::finish() const {
    // One dimension, no NULLs: the header is ARR_OVERHEAD_NONULLS(1) bytes,
    // after which the elements start, aligned as they were built.
    std::string array(ARR_OVERHEAD_NONULLS(1), '\0');
    array.append(elements_);
    ArrayType *header = reinterpret_cast<ArrayType *>(array.data());
    SET_VARSIZE(header, array.size());
    header->ndim = 1;
    header->dataoffset = 0;
    header->elemtype = TEXTOID;
    ARR_DIMS(header)[0] = count_;
    ARR_LBOUND(header)[0] = 1;
    return array;
}

Result execute_catalog_with_array(const std::string &sql, const Params &params, const TextArrayBuilder &array) {
    const CatalogRoleScope as_catalog_owner;
    SpiParams args(params);
    // Its own copy: a varlena must be 4-byte aligned, and pfree'd with the rest.
    const std::string value = array.finish();
    args.count++;
    args.types.push_back(TEXTARRAYOID);
    args.values.push_back(pg_guard([&] {
        void *copy = palloc_extended(value.size(), MCXT_ALLOC_HUGE);
        memcpy(copy, value.data(), value.size());
        return PointerGetDatum(copy);
    }));
    args.nulls.push_back(' ');
    return run(sql, args);
}

struct Cursor::State {
    std::optional<CatalogRoleScope> as_catalog_owner;   // ends after the portal
    std::string portal_name;
    TupleDesc desc = nullptr;
    std::vector<ColumnReader> readers;
    std::vector<Cell> cells;
    Row row;
    SPITupleTable *batch = nullptr;
    uint64 batch_rows = 0;
    // Detoasted values and output function texts of the current row.
    MemoryContext row_memory = nullptr;
};

Cursor::Cursor(const std::string &sql, const Params &params, As as)
    : state_(std::make_unique<State>()), uncaught_at_start_(std::uncaught_exceptions()) {
    State &state = *state_;
    if (as == As::CatalogOwner)
        state.as_catalog_owner.emplace();
    SpiParams args(params);
    pg_guard([&] {
        // Not read-only: the portal's snapshot must see what earlier
        // statements of this transaction wrote (SPI increments the command
        // counter first), as execute() does.
        Portal portal = SPI_cursor_open_with_args(nullptr, sql.c_str(), args.count, args.types.data(),
                                                  args.values.data(), args.nulls.data(), false,
                                                  CURSOR_OPT_NO_SCROLL);
        if (portal == nullptr)
            elog(ERROR, "SPI_cursor_open_with_args failed: %s", SPI_result_code_string(SPI_result));
        state.desc = portal->tupDesc;
        state.portal_name = portal->name;
        state.readers.resize(state.desc->natts);
        set_up_readers(state.desc, state.readers.data());
        state.row_memory = AllocSetContextCreate(CurrentMemoryContext, "reverse_etl cursor row",
                                                 ALLOCSET_DEFAULT_SIZES);
    });
    state.cells.resize(state.desc->natts);
    state.row.resize(state.desc->natts);
}

Cursor::~Cursor() {
    // Unwinding from an error: the portal and SPI's memory belong to the
    // aborting transaction, which drops them.
    if (std::uncaught_exceptions() > uncaught_at_start_)
        return;
    State &state = *state_;
    // None of these raises an error for a portal that is neither pinned nor
    // running, which ours never is between calls.
    if (state.batch != nullptr)
        SPI_freetuptable(state.batch);
    if (state.row_memory != nullptr)
        MemoryContextDelete(state.row_memory);
    if (Portal portal = SPI_cursor_find(state.portal_name.c_str()))
        SPI_cursor_close(portal);
}

size_t Cursor::fetch(size_t count) {
    State &state = *state_;
    pg_guard([&] {
        MemoryContextReset(state.row_memory);
        if (state.batch != nullptr) {
            SPI_freetuptable(state.batch);
            state.batch = nullptr;
        }
        Portal portal = SPI_cursor_find(state.portal_name.c_str());
        if (portal == nullptr)
            elog(ERROR, "cursor \"%s\" no longer exists", state.portal_name.c_str());
        SPI_cursor_fetch(portal, true, static_cast<long>(count));
        state.batch = SPI_tuptable;
        state.batch_rows = SPI_processed;
    });
    return static_cast<size_t>(state.batch_rows);
}

const Cursor::Row &Cursor::row(size_t index) {
    State &state = *state_;
    if (index >= state.batch_rows)
        throw Error(sqlstate::kInternalError, "cursor row " + std::to_string(index) + " was not fetched");
    pg_guard([&] {
        MemoryContextReset(state.row_memory);
        const MemoryContext caller = MemoryContextSwitchTo(state.row_memory);
        read_row(state.batch->vals[index], state.desc, state.readers.data(), state.cells.data(),
                 state.desc->natts);
        MemoryContextSwitchTo(caller);
    });
    for (size_t column = 0; column < state.cells.size(); column++) {
        const Cell &cell = state.cells[column];
        state.row[column] = cell.is_null ? std::nullopt : std::optional<std::string_view>({cell.data, cell.length});
    }
    return state.row;
}

}  // namespace reverse_etl::pg
