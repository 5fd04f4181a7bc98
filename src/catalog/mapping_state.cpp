#include "catalog/mapping_state.hpp"

#include "pg/spi.hpp"

namespace reverse_etl::catalog {

std::string checkpoint_table(int64_t mapping_id) {
    return "reverse_etl_state.checkpoint_" + std::to_string(mapping_id);
}

void create_checkpoint(int64_t mapping_id, unsigned int model_owner) {
    const std::string table = checkpoint_table(mapping_id);
    // Identifiers are compared as bytes ("C"): the checkpoint's index and the
    // diff's joins then never go through the locale's collation.
    pg::execute_catalog("CREATE TABLE " + table + " (record_id text COLLATE \"C\" PRIMARY KEY, hash bigint NOT NULL)");
    const pg::Result grants = pg::execute_catalog(
        "SELECT format('GRANT USAGE ON SCHEMA reverse_etl_state TO %I', rolname), "
        "format('GRANT SELECT ON %s TO %I', $1, rolname) FROM pg_catalog.pg_roles WHERE oid = $2::oid",
        {table, std::to_string(model_owner)});
    for (const auto &row : grants.rows)
        for (const auto &statement : row)
            pg::execute_catalog(*statement);
}

void reset_checkpoint(int64_t mapping_id) {
    pg::execute_catalog("TRUNCATE " + checkpoint_table(mapping_id));
}

void drop_checkpoint(int64_t mapping_id) {
    pg::execute_catalog("DROP TABLE IF EXISTS " + checkpoint_table(mapping_id));
}

}  // namespace reverse_etl::catalog
