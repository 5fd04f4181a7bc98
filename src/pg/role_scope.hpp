// Scopes that run a stretch of C++ as another role with a pinned search_path,
// restoring both when the scope ends. On a PostgreSQL error, transaction abort
// would restore them too; the destructors make the C++ unwinding path match.
#pragma once

#include <string>

namespace reverse_etl::pg {

// Runs as `role_oid` with `search_path`, marked SECURITY_LOCAL_USERID_CHANGE so
// the role cannot be changed back with SET ROLE from inside. A restricted scope
// (for running a model owner's query) is also a security-restricted operation,
// as PostgreSQL uses for code run on a table owner's behalf (REFRESH
// MATERIALIZED VIEW, ANALYZE): the owner's code cannot create temporary
// objects or change session state that outlives the scope.
class RoleScope {
  public:
    enum class Restriction { None, SecurityRestricted };
    RoleScope(unsigned int role_oid, const std::string &search_path,
              Restriction restriction = Restriction::SecurityRestricted);
    ~RoleScope();
    RoleScope(const RoleScope &) = delete;
    RoleScope &operator=(const RoleScope &) = delete;

  private:
    unsigned int saved_user_;
    int saved_security_context_;
    int guc_nest_level_;
};

// As the owner of the extension's catalog tables, search_path = pg_catalog;
// only the extension's own SQL runs here, so it is not restricted.
class CatalogRoleScope {
  public:
    CatalogRoleScope();

  private:
    RoleScope scope_;
};

unsigned int current_role_oid();
std::string role_name(unsigned int role_oid);
// Whether `member` has the privileges of `role` (member with INHERIT, or superuser).
bool has_privileges_of_role(unsigned int member, unsigned int role);
unsigned int role_oid_by_name(const std::string &name);  // throws 42704 if missing

}  // namespace reverse_etl::pg
