#include "pg/query_analysis.hpp"

#include "pg/error_crossing.hpp"

extern "C" {
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "catalog/pg_inherits.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
}

#include <set>

namespace reverse_etl::pg {

namespace {

const char *const kReadOnlyHint =
    "A model is one SELECT, WITH ... SELECT, VALUES or TABLE query; a trailing semicolon and comments are fine.";

// What the raw parse tells us: how many statements, the first one's text, and
// whether it is a plain query. Collected in C types inside pg_guard.
struct RawCheck {
    int statements;
    int location;
    int length;
    bool is_select;
    bool has_into;
    bool has_locking;
    NodeTag tag;
};

RawCheck raw_check(const std::string &query) {
    return pg_guard([&] {
        RawCheck check{};
        List *statements = pg_parse_query(query.c_str());
        check.statements = list_length(statements);
        if (check.statements == 0)
            return check;
        const RawStmt *raw = linitial_node(RawStmt, statements);
        check.location = raw->stmt_location;
        check.length = raw->stmt_len;
        check.tag = nodeTag(raw->stmt);
        check.is_select = IsA(raw->stmt, SelectStmt);
        if (check.is_select) {
            const SelectStmt *select = reinterpret_cast<const SelectStmt *>(raw->stmt);
            check.has_into = select->intoClause != nullptr;
            check.has_locking = select->lockingClause != NIL;
        }
        return check;
    });
}

std::string statement_text(const std::string &query, const RawCheck &check) {
    const size_t start = static_cast<size_t>(check.location);
    // stmt_len 0 means "to the end of the string".
    const size_t length = check.length > 0 ? static_cast<size_t>(check.length) : std::string::npos;
    return query.substr(start, length);
}

void require_single_read_only_query(const RawCheck &check) {
    if (check.statements == 0)
        throw Error(sqlstate::kInvalidParameterValue, "query is empty", "", kReadOnlyHint);
    if (check.statements > 1)
        throw Error(sqlstate::kInvalidParameterValue, "query must be a single statement",
                    "The query contains " + std::to_string(check.statements) + " statements.",
                    kReadOnlyHint);
    if (!check.is_select)
        throw Error(sqlstate::kInvalidParameterValue, "query must be read-only",
                    "The statement is not a SELECT, VALUES or TABLE query.", kReadOnlyHint);
    if (check.has_into)
        throw Error(sqlstate::kInvalidParameterValue, "query must be read-only",
                    "SELECT ... INTO creates a table.", kReadOnlyHint);
    if (check.has_locking)
        throw Error(sqlstate::kInvalidParameterValue, "query must be read-only",
                    "FOR UPDATE and FOR SHARE lock rows.", kReadOnlyHint);
}

struct PreparedCheck {
    bool has_modifying_cte;
    int natts;
};

// Prepares and opens the query as the current role: the analyzer finds missing
// tables and columns, ExecutorStart checks privileges. No row is fetched.
std::vector<Column> plan_and_open(const std::string &text) {
    std::vector<Column> columns;
    PreparedCheck check{};
    SPIPlanPtr plan = pg_guard([&] {
        SPIPlanPtr prepared = SPI_prepare(text.c_str(), 0, nullptr);
        if (prepared == nullptr)
            elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        List *sources = SPI_plan_get_plan_sources(prepared);
        const CachedPlanSource *source = static_cast<const CachedPlanSource *>(linitial(sources));
        ListCell *cell;
        foreach (cell, source->query_list) {
            const Query *analyzed = lfirst_node(Query, cell);
            check.has_modifying_cte |= analyzed->hasModifyingCTE;
        }
        check.natts = source->resultDesc ? source->resultDesc->natts : 0;
        return prepared;
    });
    if (check.has_modifying_cte)
        throw Error(sqlstate::kInvalidParameterValue, "query must be read-only",
                    "A WITH clause of the query modifies data.", kReadOnlyHint);
    for (int i = 0; i < check.natts; i++) {
        const char *name = nullptr;
        const char *type = pg_guard([&] {
            List *sources = SPI_plan_get_plan_sources(plan);
            const CachedPlanSource *source = static_cast<const CachedPlanSource *>(linitial(sources));
            const Form_pg_attribute attribute = TupleDescAttr(source->resultDesc, i);
            name = NameStr(attribute->attname);
            return format_type_be(attribute->atttypid);
        });
        columns.push_back({name, type});
    }
    pg_guard([&] {
        Portal portal = SPI_cursor_open(nullptr, plan, nullptr, nullptr, true);
        SPI_cursor_close(portal);
        SPI_freeplan(plan);
    });
    return columns;
}

}  // namespace

AnalyzedQuery analyze_model_query(const std::string &query) {
    const RawCheck check = raw_check(query);
    require_single_read_only_query(check);
    AnalyzedQuery analyzed;
    analyzed.text = statement_text(query, check);
    analyzed.columns = plan_and_open(analyzed.text);
    if (analyzed.columns.empty())
        throw Error(sqlstate::kInvalidParameterValue, "query must return at least one column", "",
                    kReadOnlyHint);
    return analyzed;
}

std::vector<ReadRelation> relations_read_by(const std::string &query) {
    // PostgreSQL's lists are built inside the guarded blocks and read
    // outside them: no C++ object is made where an error may longjmp.
    List *named = pg_guard([&] {
        SPIPlanPtr prepared = SPI_prepare(query.c_str(), 0, nullptr);
        if (prepared == nullptr)
            elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
        List *oids = NIL;
        ListCell *cell;
        foreach (cell, SPI_plan_get_plan_sources(prepared))
            oids = list_concat(oids, static_cast<const CachedPlanSource *>(lfirst(cell))->relationOids);
        oids = list_copy(oids);
        SPI_freeplan(prepared);
        return oids;
    });
    std::vector<ReadRelation> relations;
    std::set<unsigned int> seen;
    ListCell *named_cell;
    foreach (named_cell, named) {
        const Oid oid = lfirst_oid(named_cell);
        // A table's partitions and inheritance children (itself first): a
        // statement on a partition fires the partition's triggers only.
        List *family = pg_guard([&] {
            const char kind = get_rel_relkind(oid);
            if (kind != RELKIND_RELATION && kind != RELKIND_PARTITIONED_TABLE)
                return list_make1_oid(oid);
            return find_all_inheritors(oid, AccessShareLock, nullptr);
        });
        ListCell *member_cell;
        foreach (member_cell, family) {
            const Oid member = lfirst_oid(member_cell);
            if (!seen.insert(member).second)
                continue;
            char kind = 0;
            const char *name = pg_guard([&] {
                kind = get_rel_relkind(member);
                const char *relname = get_rel_name(member);
                const char *schema = get_namespace_name(get_rel_namespace(member));
                if (relname == nullptr || schema == nullptr)
                    elog(ERROR, "relation %u of the query is gone", member);
                return quote_qualified_identifier(schema, relname);
            });
            relations.push_back({member, kind, name});
        }
    }
    return relations;
}

std::string current_search_path() {
    const char *value = pg_guard([] { return GetConfigOption("search_path", false, false); });
    return value ? value : "";
}

std::string wrap_model_query(const std::string &query_text, const std::string &alias) {
    return "(\n" + query_text + "\n) AS " + alias;
}

}  // namespace reverse_etl::pg
