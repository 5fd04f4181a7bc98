#include "engine/remote_model.hpp"

#include <optional>

#include "catalog/sources.hpp"
#include "common/error.hpp"
#include "engine/extract.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/subtransaction.hpp"
#include "pg/table_loader.hpp"

namespace reverse_etl::engine {

namespace {

const char *const kTemporarySchema = "pg_temp";
const char *const kTemporaryName = "reverse_etl_remote_rows";
const char *const kRunScopedSchema = "reverse_etl_state";
// ANALYZE samples 300 rows per unit of the target.
constexpr int kIdentifierStatisticsTarget = 10;

}  // namespace

void read_remote_model(MappingPlan &plan, RemoteRowsTable table, int64_t run_id) {
    if (plan.model.source == "local")
        return;
    const bool run_scoped = table == RemoteRowsTable::RunScoped;
    const std::string name = run_scoped ? "remote_rows_" + std::to_string(run_id) : kTemporaryName;
    const std::string schema = run_scoped ? kRunScopedSchema : kTemporarySchema;
    const std::string qualified = schema + "." + quote_identifier(name);
    const catalog::SourceRow source = catalog::source_by_name(plan.model.source);
    const std::string model = "model " + catalog::quoted(plan.model.name);
    // Checked when the model was created; a role may have left since.
    if (!pg::has_privileges_of_role(plan.model.owner, source.owner))
        throw Error(sqlstate::kInsufficientPrivilege,
                    model + ": its owner may no longer use source " + catalog::quoted(source.name), "",
                    "Only roles with the privileges of a source's owner may read it.");
    // A jsonb column is stored as json: its values arrive as text, which
    // json's input only checks where jsonb's builds the binary form (and
    // rendering undoes it): that was a fifth of reading a remote model with
    // a jsonb column. The text is jsonb's output, the same for equal values,
    // so the record hash of json's bytes changes only when the value does.
    // The mapping's filter still sees jsonb (filtered_model_sql).
    std::string columns;
    plan.columns_read_as_json.clear();
    for (size_t i = 0; i < plan.model.columns.size(); i++) {
        const Column &column = plan.model.columns[i];
        const bool as_json = column.type == "jsonb" && i != plan.primary_key_column;
        if (as_json)
            plan.columns_read_as_json.push_back(i);
        columns += (columns.empty() ? "" : ", ") + quote_identifier(column.name) + " " +
                   (as_json ? std::string("json") : column.type);
    }
    // Owned by the catalog owner, read by the model's owner (its filter runs
    // on it), as the run's other work tables. A heap: the loader's bulk
    // insert state is the heap's.
    if (run_scoped) {
        pg::execute_catalog("CREATE UNLOGGED TABLE " + qualified + " (" + columns + ") USING heap");
        plan.remote_rows_table = qualified;
    } else {
        drop_own_temp_tables("'" + name + "'");
        pg::execute_catalog("CREATE TEMP TABLE " + qualified + " (" + columns + ") USING heap");
    }
    if (plan.model.owner != pg::catalog_owner_oid())
        pg::execute_catalog("GRANT SELECT ON " + qualified + " TO " + quote_identifier(pg::role_name(plan.model.owner)));
    const catalog::SourceSettings settings = catalog::read_source_settings(source.settings_json);
    bool identifier_had_null = false;
    try {
        pg::TableLoader loader(schema, name);
        const size_t width = loader.width();
        catalog::connect_source(source)->stream(
            plan.model.query, static_cast<size_t>(settings.fetch_rows),
            [&](const pg::TextRows &rows) {
                if (rows.width != width)
                    throw Error(sqlstate::kDatatypeMismatch,
                                "the query now returns " + std::to_string(rows.width) +
                                    " columns, not the " + std::to_string(width) + " planned when it was saved",
                                "", "Run alter_model(query => ...) to plan it again.");
                loader.append(rows);
            });
        identifier_had_null = loader.had_null(plan.primary_key_column);
    } catch (const Error &error) {
        throw error.with_message(model + ": " + error.message());
    }
    const std::string identifier = quote_identifier(plan.model.columns.at(plan.primary_key_column).name);
    // A unique index on the identifier when the rows allow one: the diff
    // then joins them straight with the checkpoint instead of first
    // grouping them by identifier to find duplicates and NULLs (extract.cpp,
    // classify_unique), a hash aggregate that spilled to disk at a million
    // rows and took longer than building the index. The loader saw whether
    // the identifier was ever NULL (a NOT NULL constraint would read the
    // table once more to check it); a duplicate fails the index, which is
    // rolled back. Either way the run finds and reports them as it does for
    // any model.
    if (!identifier_had_null) {
        const std::optional<Error> duplicate = pg::run_in_subtransaction(
            [&] { pg::execute_catalog("CREATE UNIQUE INDEX ON " + qualified + " (" + identifier + ")"); });
        if (duplicate && duplicate->sqlstate() != sqlstate::kUniqueViolation)
            throw *duplicate;
        plan.identifier_known_unique = !duplicate;
    }
    // The identifier's statistics are what the diff's join with the
    // checkpoint is planned on; the other columns' (a sample's sort per
    // column, jsonb's above all) cost more than they help. A small sample
    // (3,000 rows, not 30,000) gives the row count and whether the
    // identifier repeats as well, without reading back most of a table
    // larger than the memory its pages pass through.
    pg::execute_catalog("ALTER TABLE " + qualified + " ALTER COLUMN " + identifier + " SET STATISTICS " +
                        std::to_string(kIdentifierStatisticsTarget));
    pg::execute_catalog("ANALYZE " + qualified + " (" + identifier + ")");
    plan.model.query = "SELECT * FROM " + qualified;
}

void drop_remote_rows(MappingPlan &plan) {
    if (plan.remote_rows_table.empty())
        return;
    pg::execute_catalog("DROP TABLE " + plan.remote_rows_table);
    plan.remote_rows_table.clear();
}

}  // namespace reverse_etl::engine
