#include "pg/spi.hpp"

#include <exception>

#include "pg/error_crossing.hpp"
#include "pg/role_scope.hpp"

namespace reverse_etl::pg {

const std::string &Result::scalar() const {
    if (rows.empty() || rows[0].empty() || !rows[0][0])
        throw Error(sqlstate::kInternalError, "catalog query returned no value");
    return *rows[0][0];
}

SpiConnection::SpiConnection() : uncaught_at_start_(std::uncaught_exceptions()) {
    pg_guard([] {
        if (SPI_connect() != SPI_OK_CONNECT)
            elog(ERROR, "SPI_connect failed");
    });
}

SpiConnection::~SpiConnection() {
    // Unwinding from an error: SPI's state belongs to the aborting transaction.
    if (std::uncaught_exceptions() > uncaught_at_start_)
        return;
    SPI_finish();
}

namespace {

// Copies the SPI result into C++ values, then frees SPI's copy so a loop of
// statements in one call does not accumulate tuple tables.
Result collect_result() {
    Result result;
    result.processed = SPI_processed;
    SPITupleTable *table = SPI_tuptable;
    if (table == nullptr)
        return result;
    const int natts = table->tupdesc->natts;
    result.rows.reserve(SPI_processed);
    for (uint64 row = 0; row < SPI_processed; row++) {
        std::vector<Value> values;
        values.reserve(natts);
        for (int column = 1; column <= natts; column++) {
            char *text = pg_guard([&] { return SPI_getvalue(table->vals[row], table->tupdesc, column); });
            if (text == nullptr) {
                values.emplace_back(std::nullopt);
            } else {
                values.emplace_back(std::string(text));
                pfree(text);
            }
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
