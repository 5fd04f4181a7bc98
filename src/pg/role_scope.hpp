// Scopes that run a stretch of C++ as another role with a pinned search_path,
// restoring both when the scope ends. On a PostgreSQL error, transaction abort
// would restore them too; the destructors make the C++ unwinding path match.
#pragma once

#include <string>

namespace reverse_etl::pg {

// Runs as `role_oid` with `search_path`, marked SECURITY_LOCAL_USERID_CHANGE so
// the role cannot be changed back with SET ROLE from inside. A restricted scope
// (for running a model owner's query and anything else a user wrote) is also
//  - a security-restricted operation, as PostgreSQL uses for code run on a
//    table owner's behalf (REFRESH MATERIALIZED VIEW, ANALYZE): the owner's
//    code cannot create temporary objects or change session state that
//    outlives the scope;
//  - read-only, as a READ ONLY transaction is: the owner's code cannot write
//    to any table (PostgreSQL exempts temporary tables, which is where the
//    engine's own statements in the scope put the model's rows), run DDL or
//    call nextval(); errors say "cannot execute INSERT in a read-only
//    transaction" (25006).
// Everything is restored when the scope ends, on every path; after a
// PostgreSQL error, transaction abort restores the same state.
class RoleScope {
  public:
    enum class Restriction { None, SecurityRestricted };
    RoleScope(unsigned int role_oid, const std::string &search_path,
              Restriction restriction = Restriction::SecurityRestricted);
    ~RoleScope();
    RoleScope(const RoleScope &) = delete;
    RoleScope &operator=(const RoleScope &) = delete;

  private:
    void restore() noexcept;

    unsigned int saved_user_;
    int saved_security_context_;
    bool saved_read_only_;
    int guc_nest_level_ = -1;
};

// As the owner of the extension's catalog tables, search_path = pg_catalog,
// pg_temp: only the extension's own SQL runs here, so it is not restricted.
// pg_temp is named last because, left out, it would be searched first for
// relations: a temporary table or view of the calling session named like a
// system catalog would then be read by the catalog owner (docs/security.md).
class CatalogRoleScope {
  public:
    CatalogRoleScope();

  private:
    RoleScope scope_;
};

unsigned int current_role_oid();
// The role that owns the extension's catalog tables (and runs CatalogRoleScope).
unsigned int catalog_owner_oid();
std::string role_name(unsigned int role_oid);
// Whether `member` has the privileges of `role` (member with INHERIT, or superuser).
bool has_privileges_of_role(unsigned int member, unsigned int role);
unsigned int role_oid_by_name(const std::string &name);  // throws 42704 if missing
bool is_superuser(unsigned int role);

}  // namespace reverse_etl::pg
