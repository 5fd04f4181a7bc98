#include "pg/spi.hpp"

#include "pg/error_crossing.hpp"
#include "pg/role_scope.hpp"

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
            // A detoasted copy (a value over 2 kB) is left in SPI's
            // procedure context, freed by SPI_finish at the end of the call
            // or transaction.
        } else {
            char *value = OutputFunctionCall(&readers[column].output, datum);
            cell.data = value;
            cell.length = strlen(value);
            cell.palloced = true;
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
    pg_guard([&] {
        for (int column = 0; column < natts; column++) {
            const Oid type = TupleDescAttr(desc, column)->atttypid;
            readers[column].is_text = type == TEXTOID || type == VARCHAROID;
            if (!readers[column].is_text) {
                Oid output_function;
                bool is_varlena;
                getTypeOutputInfo(type, &output_function, &is_varlena);
                fmgr_info(output_function, &readers[column].output);
            }
        }
    });
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

Result run(const std::string &sql, const Params &params) {
    const int nargs = static_cast<int>(params.size());
    std::vector<Oid> types(nargs, TEXTOID);
    std::vector<Datum> values(nargs, 0);
    std::vector<char> nulls(nargs, ' ');
    for (int i = 0; i < nargs; i++) {
        if (!params[i]) {
            nulls[i] = 'n';
            continue;
        }
        const std::string &text = *params[i];
        values[i] = pg_guard([&] { return PointerGetDatum(cstring_to_text_with_len(text.data(), text.size())); });
    }
    pg_guard([&] {
        const int rc = SPI_execute_with_args(sql.c_str(), nargs, types.data(), values.data(),
                                             nulls.data(), false, 0);
        if (rc < 0)
            elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
    });
    return collect_result();
}

}  // namespace

Result execute(const std::string &sql, const Params &params) { return run(sql, params); }

Result execute_catalog(const std::string &sql, const Params &params) {
    const CatalogRoleScope as_catalog_owner;
    return run(sql, params);
}

}  // namespace reverse_etl::pg
