#include "engine/sheet_rows.hpp"

#include <optional>

#include "catalog/mapping_state.hpp"
#include "common/error.hpp"
#include "engine/result_writer.hpp"
#include "pg/spi.hpp"
#include "pg/transaction.hpp"

namespace reverse_etl::engine {

namespace {

constexpr int64_t kFirstRow = 2;   // row 1: the header

bool table_exists(const std::string &table) {
    return *pg::execute_catalog("SELECT pg_catalog.to_regclass($1) IS NOT NULL", {table}).rows[0][0] == "t";
}

// Rows for `ids` (distinct or not), reserving the next free rows, in the
// order given, for those without one.
std::unordered_map<std::string, std::string> reserve(int64_t mapping_id, const std::vector<std::optional<std::string>> &ids) {
    const std::string table = catalog::sheet_rows_table(mapping_id);
    // Made on first use: only row_index actions have one. Identifiers compare
    // as bytes, as in the checkpoint.
    if (!table_exists(table))
        pg::execute_catalog("CREATE TABLE " + table + " (record_id text COLLATE \"C\" PRIMARY KEY, "
                            "sheet_row integer NOT NULL UNIQUE CHECK (sheet_row >= " + std::to_string(kFirstRow) +
                            "))");
    // No lock: a reservation that races another (a send_test_record during
    // a run) fails on the unique row rather than making a run wait for a
    // session's open transaction; the failed run's records go in the next.
    const std::string list = text_array_literal(ids);
    pg::execute_catalog("WITH wanted AS (SELECT u.id, pg_catalog.min(u.o) AS o "
                        "FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS u(id, o) GROUP BY u.id), "
                        "fresh AS (SELECT w.id, w.o FROM wanted w WHERE NOT EXISTS "
                        "(SELECT FROM " + table + " t WHERE t.record_id = w.id COLLATE \"C\")) "
                        "INSERT INTO " + table + " (record_id, sheet_row) "
                        "SELECT f.id, (SELECT COALESCE(pg_catalog.max(sheet_row), " +
                            std::to_string(kFirstRow - 1) + ") FROM " + table +
                            ") + pg_catalog.row_number() OVER (ORDER BY f.o) FROM fresh f",
                        {list});
    // A join on the unnested list, not "= ANY ($1::text[])": that cast is
    // evaluated again for every row the scan meets, parsing the whole list
    // each time (quadratic as the index grows: 24 s of CPU at 100,000 rows).
    const pg::Result rows = pg::execute_catalog(
        "SELECT t.record_id, t.sheet_row::text FROM (SELECT DISTINCT u.id FROM pg_catalog.unnest($1::text[]) AS u(id)) "
        "AS w JOIN " + table + " t ON t.record_id = w.id COLLATE \"C\"",
        {list});
    std::unordered_map<std::string, std::string> found;
    for (const auto &row : rows.rows)
        found.emplace(*row[0], *row[1]);
    return found;
}

}  // namespace

void assign_sheet_rows(const MappingPlan &plan, std::vector<destinations::OutgoingRecord> &records,
                       bool own_transaction) {
    if (!plan.action.row_index || records.empty())
        return;
    std::vector<std::optional<std::string>> ids;
    ids.reserve(records.size());
    for (const destinations::OutgoingRecord &record : records)
        ids.emplace_back(record.record_id);
    std::unordered_map<std::string, std::string> rows;
    if (own_transaction)
        pg::run_in_transaction([&] { rows = reserve(plan.mapping.id, ids); });
    else
        rows = reserve(plan.mapping.id, ids);
    for (destinations::OutgoingRecord &record : records) {
        const auto found = rows.find(record.record_id);
        if (found == rows.end())
            throw Error(sqlstate::kInternalError, "record " + record.record_id + " has no row after reserving rows");
        record.object_id = found->second;
    }
}

SheetRowPreview::SheetRowPreview(const MappingPlan &plan) : table_(catalog::sheet_rows_table(plan.mapping.id)) {
    exists_ = plan.action.row_index && table_exists(table_);
    if (exists_)
        next_ = std::stoll(pg::execute_catalog("SELECT COALESCE(pg_catalog.max(sheet_row), " +
                                               std::to_string(kFirstRow - 1) + ") + 1 FROM " + table_)
                               .scalar());
}

std::string SheetRowPreview::row_of(const std::string &record_id) {
    const auto assumed = assumed_.find(record_id);
    if (assumed != assumed_.end())
        return assumed->second;
    if (exists_) {
        const pg::Result row =
            pg::execute_catalog("SELECT sheet_row::text FROM " + table_ + " WHERE record_id = $1", {record_id});
        if (!row.empty())
            return row.scalar();
    }
    return assumed_.emplace(record_id, std::to_string(next_++)).first->second;
}

}  // namespace reverse_etl::engine
