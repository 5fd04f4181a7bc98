#include "pg/filter_check.hpp"

#include "pg/error_crossing.hpp"
#include "pg/role_scope.hpp"
#include "pg/statement_privileges.hpp"

extern "C" {
#include "nodes/parsenodes.h"
#include "tcop/tcopprot.h"
}

namespace reverse_etl::pg {

namespace {

const char *const kFilterHint =
    "A filter is one boolean SQL expression over the model's columns, such as plan = 'pro' AND consent_marketing.";

// True when "SELECT (<filter>)" parses as exactly one bare expression: a filter
// such as "true) UNION SELECT ..." or "x; DROP ..." cannot masquerade as one.
bool is_single_expression(const std::string &filter) {
    const std::string probe = "SELECT (" + filter + "\n)";
    return pg_guard([&] {
        List *statements = pg_parse_query(probe.c_str());
        if (list_length(statements) != 1)
            return false;
        const Node *stmt = linitial_node(RawStmt, statements)->stmt;
        if (!IsA(stmt, SelectStmt))
            return false;
        const SelectStmt *select = reinterpret_cast<const SelectStmt *>(stmt);
        return list_length(select->targetList) == 1 && select->fromClause == NIL &&
               select->whereClause == nullptr && select->groupClause == NIL &&
               select->havingClause == nullptr && select->windowClause == NIL &&
               select->sortClause == NIL && select->limitCount == nullptr &&
               select->limitOffset == nullptr && select->lockingClause == NIL &&
               select->withClause == nullptr && select->op == SETOP_NONE &&
               select->valuesLists == NIL && select->distinctClause == NIL &&
               select->intoClause == nullptr;
    });
}

std::string typed_null_relation(const std::vector<Column> &columns) {
    std::string select = "SELECT ";
    for (size_t i = 0; i < columns.size(); i++) {
        if (i > 0)
            select += ", ";
        const char *quoted = pg_guard([&] { return quote_identifier(columns[i].name.c_str()); });
        select += "NULL::" + columns[i].type + " AS " + quoted;
    }
    return select;
}

}  // namespace

void validate_filter(const std::string &filter, const std::vector<Column> &columns,
                     const std::string &search_path) {
    bool blank = true;
    for (const char c : filter)
        blank &= (c == ' ' || c == '\t' || c == '\n' || c == '\r');
    bool single_expression = false;
    try {
        single_expression = !blank && is_single_expression(filter);
    } catch (const Error &error) {
        throw error.with_message("invalid filter: " + error.message());
    }
    if (!single_expression)
        throw Error(sqlstate::kInvalidParameterValue, "invalid filter", "The filter is not a single SQL expression.",
                    kFilterHint);
    const std::string probe = "SELECT 1 FROM (" + typed_null_relation(columns) + ") AS m WHERE (" + filter + "\n)";
    // Analysis only: no user code runs here, so the scope is not restricted.
    const RoleScope with_model_path(current_role_oid(), search_path, RoleScope::Restriction::None);
    try {
        SPIPlanPtr plan = pg_guard([&] {
            SPIPlanPtr prepared = SPI_prepare(probe.c_str(), 0, nullptr);
            if (prepared == nullptr)
                elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
            return prepared;
        });
        // Analysis alone checks no privilege: the filter may only read and call
        // what the current role may (on error the plan goes with the transaction).
        check_statement_privileges(plan);
        pg_guard([&] { SPI_freeplan(plan); });
    } catch (const Error &error) {
        throw error.with_message("invalid filter: " + error.message());
    }
}

}  // namespace reverse_etl::pg
