#include "catalog/owners.hpp"


#include "catalog/catalog_store.hpp"
#include "catalog/mapping_state.hpp"
#include "common/error.hpp"
#include "common/parse_number.hpp"
#include "common/sql_text.hpp"
#include "pg/messages.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::catalog {

namespace {

const char *const kOwnedObjects =
    "SELECT 'source' AS kind, name, owner FROM reverse_etl.source_catalog "
    "UNION ALL SELECT 'model', name, owner FROM reverse_etl.model_catalog "
    "UNION ALL SELECT 'destination', name, owner FROM reverse_etl.destination_catalog "
    "UNION ALL SELECT 'mapping', name, owner FROM reverse_etl.mapping_catalog "
    "UNION ALL SELECT 'alert', name, owner FROM reverse_etl.alert_catalog";

bool role_exists(unsigned int oid) {
    return !pg::execute_catalog("SELECT 1 FROM pg_catalog.pg_roles WHERE oid = $1::oid", {std::to_string(oid)})
                .empty();
}

// The role whose objects move, and whether it is gone.
struct FromRole {
    unsigned int oid = 0;
    bool dropped = false;
};

void check_may_reassign(const FromRole &from, unsigned int to, const std::string &from_role,
                        const std::string &to_role) {
    const unsigned int caller = pg::current_role_oid();
    if (from.dropped) {
        if (!pg::is_superuser(caller))
            throw Error(sqlstate::kInsufficientPrivilege, "permission denied to reassign objects",
                        "Only superusers may reassign the objects of a role that no longer exists (" + from_role +
                            ").");
        return;
    }
    if (!pg::has_privileges_of_role(caller, from.oid) || !pg::has_privileges_of_role(caller, to))
        throw Error(sqlstate::kInsufficientPrivilege, "permission denied to reassign objects",
                    "Only roles with the privileges of role " + quoted(from_role) + " and of role " +
                        quoted(to_role) + " may reassign objects from one to the other.");
}

// The runs of a model read its mappings' checkpoints as the model's owner
// (catalog::create_checkpoint grants them): the grants follow the models.
void move_checkpoint_grants(const std::vector<int64_t> &mapping_ids, const FromRole &from, const std::string &to) {
    if (mapping_ids.empty())
        return;
    const std::string to_role = quote_identifier(to);
    pg::execute_catalog("GRANT USAGE ON SCHEMA reverse_etl_state TO " + to_role);
    for (const int64_t mapping_id : mapping_ids) {
        const std::string table = checkpoint_table(mapping_id);
        pg::execute_catalog("GRANT SELECT ON " + table + " TO " + to_role);
        if (!from.dropped)
            pg::execute_catalog("REVOKE SELECT ON " + table + " FROM " +
                                quote_identifier(pg::role_name(from.oid)));
    }
}

}  // namespace

std::vector<OrphanedObject> orphaned_objects() {
    const pg::Result rows = pg::execute_catalog(
        std::string("SELECT o.kind, o.name, o.owner::oid::text FROM (") + kOwnedObjects +
        ") AS o WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid = o.owner::oid) "
        "ORDER BY o.owner::oid, o.kind, o.name");
    std::vector<OrphanedObject> objects;
    for (const auto &row : rows.rows)
        objects.push_back({row.at(0).value_or(""), row.at(1).value_or(""),
                           number_from_sql<unsigned int>(row.at(2).value_or("0"))});
    return objects;
}

namespace {

int64_t reassign(const FromRole &from, const std::string &from_label, const std::string &to_role) {
    const unsigned int to = pg::role_oid_by_name(to_role);   // 42704 when there is none
    check_may_reassign(from, to, from_label, to_role);
    if (from.oid == to)
        return 0;
    const std::vector<std::string> params = {std::to_string(from.oid), std::to_string(to)};
    // The mappings of the models that move, before they move.
    const pg::Result moving_checkpoints = pg::execute_catalog(
        "SELECT p.mapping_id::text FROM reverse_etl.mapping_catalog p JOIN reverse_etl.model_catalog m "
        "USING (model_id) WHERE m.owner::oid = $1::oid ORDER BY 1",
        {params[0]});
    int64_t moved = 0;
    for (const char *table : {"source_catalog", "model_catalog", "destination_catalog", "mapping_catalog",
                              "alert_catalog"})
        moved += static_cast<int64_t>(
            pg::execute_catalog(std::string("UPDATE reverse_etl.") + table +
                                    " SET owner = $2::oid::regrole WHERE owner::oid = $1::oid",
                                {params[0], params[1]})
                .processed);
    std::vector<int64_t> mapping_ids;
    for (const auto &row : moving_checkpoints.rows)
        mapping_ids.push_back(number_from_sql<int64_t>(row.at(0).value_or("0")));
    move_checkpoint_grants(mapping_ids, from, to_role);
    return moved;
}

}  // namespace

int64_t reassign_owner(const std::string &from_role, const std::string &to_role) {
    return reassign(FromRole{pg::role_oid_by_name(from_role), false}, from_role, to_role);
}

int64_t reassign_owner(unsigned int from_role, const std::string &to_role) {
    const FromRole from{from_role, !role_exists(from_role)};
    return reassign(from, from.dropped ? std::to_string(from_role) : pg::role_name(from_role), to_role);
}

}  // namespace reverse_etl::catalog
