#include "engine/delivery_log.hpp"

#include "catalog/mapping_state.hpp"
#include "engine/extract.hpp"
#include "pg/role_scope.hpp"
#include "pg/select_into_table.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

void log_selection(const MappingPlan &plan) {
    // Stored as COPY stores rows, a WAL record a page rather than one a row:
    // at a million records the log's INSERT took a fifth of a first sync
    // (docs/performance.md).
    const pg::CatalogRoleScope as_catalog_owner;
    pg::select_into_table("reverse_etl_state", catalog::sending_table_name(plan.mapping.id),
                          "SELECT o.rid, o.chg, o.hash, o.ver, " + outbox_destination_key_sql(plan, "o") +
                              " AS dkey FROM " + outbox_table() + " AS o");
}

void settle_selection(const MappingPlan &plan) {
    const std::string sending = catalog::sending_table(plan.mapping.id);
    // An addition or update is acknowledged when the checkpoint holds its
    // hash, confirmed: while the run went, only its acknowledgement could
    // write that record's row. DISTINCT ON: one row per identifier, whatever the
    // log holds, or the upsert would fail on its second row. The destination
    // key goes with it: if the record leaves the model before it is sent
    // again, its deletion needs the key the unacknowledged send may have used.
    pg::execute_catalog(
        "INSERT INTO " + plan.checkpoint_table + " AS k (record_id, hash, version, unconfirmed, dest_key) "
        "SELECT DISTINCT ON (e.record_id) e.record_id, e.hash, e.version, "
        "CASE WHEN e.chg = 'added' THEN 'a' ELSE 'u' END::\"char\", e.dest_key FROM " + sending + " AS e "
        "WHERE e.chg <> 'deleted' AND e.hash IS NOT NULL ORDER BY e.record_id "
        "ON CONFLICT (record_id) DO UPDATE SET hash = EXCLUDED.hash, version = EXCLUDED.version, "
        "unconfirmed = EXCLUDED.unconfirmed, dest_key = EXCLUDED.dest_key, object_id = " + kept_object_id_sql() + " "
        "WHERE k.hash <> EXCLUDED.hash OR k.unconfirmed IS NOT NULL");
    // A deletion is acknowledged when the record left the checkpoint.
    pg::execute_catalog("UPDATE " + plan.checkpoint_table + " AS k SET unconfirmed = 'd', version = e.version FROM " +
                        sending + " AS e WHERE e.chg = 'deleted' AND k.record_id = e.record_id");
    clear_selection(plan);
}

void clear_selection(const MappingPlan &plan) {
    pg::execute_catalog("TRUNCATE " + catalog::sending_table(plan.mapping.id));
}

bool selection_pending(const MappingPlan &plan) {
    return !pg::execute_catalog("SELECT 1 FROM " + catalog::sending_table(plan.mapping.id) + " LIMIT 1").empty();
}

}  // namespace reverse_etl::engine
