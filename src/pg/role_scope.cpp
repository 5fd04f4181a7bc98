#include "pg/role_scope.hpp"

#include "pg/error_crossing.hpp"

extern "C" {
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/syscache.h"
}

namespace reverse_etl::pg {

namespace {

Oid catalog_owner() {
    return pg_guard([] {
        const Oid schema = get_namespace_oid("reverse_etl", false);
        const Oid table = get_relname_relid("model_catalog", schema);
        if (!OidIsValid(table))
            ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                            errmsg("reverse_etl catalog is missing"),
                            errhint("Run CREATE EXTENSION reverse_etl.")));
        HeapTuple tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(table));
        if (!HeapTupleIsValid(tuple))
            elog(ERROR, "cache lookup failed for relation %u", table);
        const Oid owner = reinterpret_cast<Form_pg_class>(GETSTRUCT(tuple))->relowner;
        ReleaseSysCache(tuple);
        return owner;
    });
}

}  // namespace

RoleScope::RoleScope(unsigned int role_oid, const std::string &search_path, Restriction restriction) {
    Oid saved_user = InvalidOid;
    int saved_context = 0;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    saved_user_ = saved_user;
    saved_security_context_ = saved_context;
    saved_read_only_ = XactReadOnly;
    try {
        pg_guard([&] {
            // The read-only flag is set outside the GUC nest level, and put
            // back after it is unwound: a SET LOCAL transaction_read_only by
            // the code inside is then undone first, and cannot outlast us.
            // (Setting the variable directly is what a READ ONLY transaction
            // amounts to; going back to read-write is refused to user code by
            // the setting's own check once the transaction has a snapshot.)
            if (restriction == Restriction::SecurityRestricted)
                XactReadOnly = true;
            guc_nest_level_ = NewGUCNestLevel();
            int context = saved_context | SECURITY_LOCAL_USERID_CHANGE;
            if (restriction == Restriction::SecurityRestricted)
                context |= SECURITY_RESTRICTED_OPERATION;
            SetUserIdAndSecContext(role_oid, context);
            set_config_option("search_path", search_path.c_str(), PGC_USERSET, PGC_S_SESSION,
                              GUC_ACTION_SAVE, true, 0, false);
        });
    } catch (...) {
        restore();
        throw;
    }
}

RoleScope::~RoleScope() { restore(); }

void RoleScope::restore() noexcept {
    // Restoring (isCommit = false) discards our SAVE of search_path, exactly as
    // the end of a function with a SET clause does.
    if (guc_nest_level_ >= 0)
        AtEOXact_GUC(false, guc_nest_level_);
    SetUserIdAndSecContext(saved_user_, saved_security_context_);
    XactReadOnly = saved_read_only_;
}

CatalogRoleScope::CatalogRoleScope()
    : scope_(catalog_owner(), "pg_catalog, pg_temp", RoleScope::Restriction::None) {}

unsigned int catalog_owner_oid() { return catalog_owner(); }

unsigned int current_role_oid() { return GetUserId(); }

std::string role_name(unsigned int role_oid) {
    const char *name = pg_guard([&] { return GetUserNameFromId(role_oid, false); });
    return name;
}

bool has_privileges_of_role(unsigned int member, unsigned int role) {
    return pg_guard([&] { return ::has_privs_of_role(member, role); });
}

unsigned int role_oid_by_name(const std::string &name) {
    return pg_guard([&] { return get_role_oid(name.c_str(), false); });
}

}  // namespace reverse_etl::pg
