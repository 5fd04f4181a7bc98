#include "engine/remote_model.hpp"

#include "catalog/sources.hpp"
#include "common/error.hpp"
#include "engine/extract.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

const char *const kRemoteRows = "pg_temp.reverse_etl_remote_rows";

}  // namespace

void read_remote_model(MappingPlan &plan) {
    if (plan.model.source == "local")
        return;
    const catalog::SourceRow source = catalog::source_by_name(plan.model.source);
    const std::string model = "model " + catalog::quoted(plan.model.name);
    // Checked when the model was created; a role may have left since.
    if (!pg::has_privileges_of_role(plan.model.owner, source.owner))
        throw Error(sqlstate::kInsufficientPrivilege,
                    model + ": its owner may no longer use source " + catalog::quoted(source.name), "",
                    "Only roles with the privileges of a source's owner may read it.");
    std::string columns;
    for (const Column &column : plan.model.columns)
        columns += (columns.empty() ? "" : ", ") + quote_identifier(column.name) + " " + column.type;
    // Owned by the catalog owner, read by the model's owner (its filter runs
    // on it), as the run's other work tables.
    drop_own_temp_tables("'reverse_etl_remote_rows'");
    pg::execute_catalog(std::string("CREATE TEMP TABLE ") + kRemoteRows + " (" + columns + ")");
    if (plan.model.owner != pg::catalog_owner_oid())
        pg::execute_catalog(std::string("GRANT SELECT ON ") + kRemoteRows + " TO " +
                            quote_identifier(pg::role_name(plan.model.owner)));
    const std::string insert =
        std::string("INSERT INTO ") + kRemoteRows + " " + catalog::remote_rows_select_sql(plan.model.columns);
    const catalog::SourceSettings settings = catalog::read_source_settings(source.settings_json);
    const size_t width = plan.model.columns.size();
    try {
        catalog::connect_source(source)->stream(
            plan.model.query, static_cast<size_t>(settings.fetch_rows),
            [&](const std::vector<pg::RemoteConnection::Row> &rows) {
                if (rows.front().size() != width)
                    throw Error(sqlstate::kDatatypeMismatch,
                                "the query now returns " + std::to_string(rows.front().size()) +
                                    " columns, not the " + std::to_string(width) + " planned when it was saved",
                                "", "Run alter_model(query => ...) to plan it again.");
                pg::execute_catalog(insert, catalog::remote_rows_params(rows, width));
            });
    } catch (const Error &error) {
        throw error.with_message(model + ": " + error.message());
    }
    pg::execute_catalog(std::string("ANALYZE ") + kRemoteRows);
    plan.model.query = std::string("SELECT * FROM ") + kRemoteRows;
}

}  // namespace reverse_etl::engine
