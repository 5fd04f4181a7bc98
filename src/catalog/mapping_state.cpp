#include "catalog/mapping_state.hpp"

#include <optional>

#include "pg/spi.hpp"

namespace reverse_etl::catalog {

std::string checkpoint_table(int64_t mapping_id) { return "reverse_etl_state." + checkpoint_table_name(mapping_id); }

std::string checkpoint_table_name(int64_t mapping_id) { return "checkpoint_" + std::to_string(mapping_id); }

std::string sending_table(int64_t mapping_id) { return "reverse_etl_state." + sending_table_name(mapping_id); }

std::string sending_table_name(int64_t mapping_id) {
    return "sending_" + std::to_string(mapping_id);
}

std::string sheet_rows_table(int64_t mapping_id) {
    return "reverse_etl_state.sheet_rows_" + std::to_string(mapping_id);
}

void create_checkpoint(int64_t mapping_id, unsigned int model_owner) {
    const std::string table = checkpoint_table(mapping_id);
    // Identifiers are compared as bytes ("C"): the checkpoint's index and the
    // diff's joins then never go through the locale's collation.
    // dest_key: the value the record's destination key was last sent with,
    // as JSON text (engine::MappingPlan::destination_key_column); object_id:
    // the destination's id of the record (engine::MappingPlan::keeps_object_ids).
    pg::execute_catalog("CREATE TABLE " + table + " (record_id text COLLATE \"C\" PRIMARY KEY, hash bigint NOT NULL, "
                        "version bigint, unconfirmed \"char\" "
                        "CHECK (unconfirmed IN ('a', 'u', 'd')), dest_key text, object_id text)");
    // No index: written in one statement, read whole, emptied by TRUNCATE.
    pg::execute_catalog("CREATE TABLE " + sending_table(mapping_id) + " (record_id text COLLATE \"C\" NOT NULL, "
                        "chg text NOT NULL, hash bigint, version bigint NOT NULL, dest_key text)");
    const pg::Result grants = pg::execute_catalog(
        "SELECT format('GRANT USAGE ON SCHEMA reverse_etl_state TO %I', rolname), "
        "format('GRANT SELECT ON %s TO %I', $1, rolname) FROM pg_catalog.pg_roles WHERE oid = $2::oid",
        {table, std::to_string(model_owner)});
    for (const auto &row : grants.rows)
        for (const auto &statement : row)
            pg::execute_catalog(*statement);
}

namespace {

// The table's primary key constraint, if it has one, as a quoted identifier.
std::optional<std::string> primary_key_identifier(const std::string &table) {
    const pg::Result key = pg::execute_catalog(
        "SELECT pg_catalog.quote_ident(conname) FROM pg_catalog.pg_constraint "
        "WHERE conrelid = $1::regclass AND contype = 'p'",
        {table});
    if (key.empty())
        return std::nullopt;
    return key.scalar();
}

}  // namespace

void drop_checkpoint_key(int64_t mapping_id) {
    const std::string table = checkpoint_table(mapping_id);
    if (const auto key = primary_key_identifier(table))
        pg::execute_catalog("ALTER TABLE " + table + " DROP CONSTRAINT " + *key);
}

void ensure_checkpoint_key(int64_t mapping_id, KeyRepair repair) {
    const std::string table = checkpoint_table(mapping_id);
    if (primary_key_identifier(table))
        return;
    // Never expected (a first run writes each identifier once), but a key
    // that cannot be built would stop every later run: a repeated identifier
    // keeps one of its rows, and at worst that record is sent once more.
    if (repair == KeyRepair::RemoveDuplicates)
        pg::execute_catalog("DELETE FROM " + table + " AS a USING " + table +
                            " AS b WHERE a.record_id = b.record_id AND a.ctid < b.ctid");
    pg::execute_catalog("ALTER TABLE " + table + " ADD PRIMARY KEY (record_id)");
}

void reset_checkpoint(int64_t mapping_id) {
    pg::execute_catalog("TRUNCATE " + checkpoint_table(mapping_id) + ", " + sending_table(mapping_id));
}

void drop_checkpoint(int64_t mapping_id) {
    pg::execute_catalog("DROP TABLE IF EXISTS " + checkpoint_table(mapping_id) + ", " + sending_table(mapping_id));
    // Only row_index mappings that sent have one: checked first, so that no
    // other mapping's drop says "does not exist, skipping".
    const std::string rows = sheet_rows_table(mapping_id);
    if (*pg::execute_catalog("SELECT pg_catalog.to_regclass($1) IS NOT NULL", {rows}).rows[0][0] == "t")
        pg::execute_catalog("DROP TABLE " + rows);
}

}  // namespace reverse_etl::catalog
