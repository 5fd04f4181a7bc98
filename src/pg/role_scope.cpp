#include "pg/role_scope.hpp"

#include <cctype>
#include <vector>

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

// `search_path` with pg_temp moved (or added) to its end. User code runs in
// the caller's backend for previews and test sends, and left unnamed (or
// named first) pg_temp is searched first for relations: a temporary view of
// the caller's, named like a table of the model, would run as the model's
// owner. Restricted code can create no temporary object of its own, so it
// loses nothing.
std::string with_pg_temp_last(const std::string &search_path) {
    std::vector<std::string> items;
    std::string item;
    bool quoted = false;
    for (const char c : search_path + ",") {
        if (c == '"')
            quoted = !quoted;
        if (c == ',' && !quoted) {
            const size_t first = item.find_first_not_of(" \t\n");
            const size_t last = item.find_last_not_of(" \t\n");
            const std::string trimmed = first == std::string::npos ? "" : item.substr(first, last - first + 1);
            std::string lowered = trimmed;
            for (char &l : lowered)
                l = static_cast<char>(std::tolower(static_cast<unsigned char>(l)));
            if (!trimmed.empty() && lowered != "pg_temp" && trimmed != "\"pg_temp\"")
                items.push_back(trimmed);
            item.clear();
        } else {
            item += c;
        }
    }
    std::string result;
    for (const std::string &kept : items)
        result += kept + ", ";
    return result + "pg_temp";
}

}  // namespace

RoleScope::RoleScope(unsigned int role_oid, const std::string &search_path, Restriction restriction) {
    Oid saved_user = InvalidOid;
    int saved_context = 0;
    GetUserIdAndSecContext(&saved_user, &saved_context);
    saved_user_ = saved_user;
    saved_security_context_ = saved_context;
    saved_read_only_ = XactReadOnly;
    const std::string path =
        restriction == Restriction::SecurityRestricted ? with_pg_temp_last(search_path) : search_path;
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
            set_config_option("search_path", path.c_str(), PGC_USERSET, PGC_S_SESSION,
                              GUC_ACTION_SAVE, true, 0, false);
        });
    } catch (...) {
        restore();
        throw;
    }
}

RoleScope::~RoleScope() { restore(); }

// Runs in destructors, also while an exception unwinds the stack, and after a
// PostgreSQL error (which leaves GUC nest levels and the user id as they
// were for transaction abort to undo: undoing them first is what abort of a
// subtransaction does too). A longjmp from here would skip the rest of the
// unwinding, so the PostgreSQL calls are guarded; they do not fail, and if
// they ever did the session ends (restore_or_exit) rather than go on as the
// wrong role.
void RoleScope::restore() noexcept {
    const int nest_level = guc_nest_level_;
    const Oid user = saved_user_;
    const int security_context = saved_security_context_;
    const bool read_only = saved_read_only_;
    restore_or_exit("the role and settings of a role scope", [&] {
        // Restoring (isCommit = false) discards our SAVE of search_path,
        // exactly as the end of a function with a SET clause does; it also
        // discards the levels of code inside the scope that failed.
        if (nest_level >= 0)
            AtEOXact_GUC(false, nest_level);
        SetUserIdAndSecContext(user, security_context);
        XactReadOnly = read_only;
    });
    guc_nest_level_ = -1;
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

bool is_superuser(unsigned int role) {
    return pg_guard([&] { return ::superuser_arg(role); });
}

unsigned int role_oid_by_name(const std::string &name) {
    return pg_guard([&] { return get_role_oid(name.c_str(), false); });
}

}  // namespace reverse_etl::pg
