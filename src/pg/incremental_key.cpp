#include "pg/incremental_key.hpp"

#include "pg/error_crossing.hpp"
#include "pg/query_facts.hpp"

extern "C" {
#include "access/relation.h"
#include "catalog/pg_inherits.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
}

namespace reverse_etl::pg {

namespace {

// Why a model is not incremental; everything below runs inside one
// pg_guard and reports in C types only.
enum class Verdict {
    Incremental,
    NotOneQuery,
    SetOperation,
    Aggregates,
    WindowFunctions,
    Distinct,
    Limit,
    SetReturning,
    LocksRows,
    IdAbsentOrTwice,
    IdComputed,
    IdCast,
    IdNotFromTable,
    NotPlainTable,
    HasChildren,
    HasParents,
    Nullable,
    ReadTwice,
    MutableFilter,
    NoUniqueIndex,
    KeyType,
};

struct Finding {
    Verdict verdict;
    Oid relid;
    AttrNumber attnum;
    Oid type;
};

// What each query level on the way from the result to the table must be:
// one result row per row of its FROM clause, each carrying its own id.
Verdict plain_select(const Query *query) {
    if (query->commandType != CMD_SELECT || query->utilityStmt != nullptr)
        return Verdict::NotOneQuery;
    if (query->setOperations != nullptr)
        return Verdict::SetOperation;
    if (query->hasAggs || query->groupClause != NIL || query->groupingSets != NIL || query->havingQual != nullptr)
        return Verdict::Aggregates;
    if (query->hasWindowFuncs)
        return Verdict::WindowFunctions;
    if (query->distinctClause != NIL)
        return Verdict::Distinct;
    if (query->limitCount != nullptr || query->limitOffset != nullptr)
        return Verdict::Limit;
    if (query->hasTargetSRFs)
        return Verdict::SetReturning;
    if (query->rowMarks != NIL || query->hasForUpdate)
        return Verdict::LocksRows;
    return Verdict::Incremental;
}

// 0: range table entry `rtindex` is not under `node`; 1: it is, on no
// nullable side; 2: it is, on the nullable side of an outer join.
int place_in_join_tree(const Node *node, int rtindex, bool nullable) {
    if (node == nullptr)
        return 0;
    if (IsA(node, RangeTblRef))
        return reinterpret_cast<const RangeTblRef *>(node)->rtindex == rtindex ? (nullable ? 2 : 1) : 0;
    if (IsA(node, FromExpr)) {
        ListCell *cell;
        foreach (cell, reinterpret_cast<const FromExpr *>(node)->fromlist) {
            const int place = place_in_join_tree(static_cast<const Node *>(lfirst(cell)), rtindex, nullable);
            if (place != 0)
                return place;
        }
        return 0;
    }
    if (IsA(node, JoinExpr)) {
        const JoinExpr *join = reinterpret_cast<const JoinExpr *>(node);
        const bool left_nullable = nullable || join->jointype == JOIN_RIGHT || join->jointype == JOIN_FULL;
        const bool right_nullable = nullable || join->jointype == JOIN_LEFT || join->jointype == JOIN_FULL ||
                                    join->jointype == JOIN_ANTI;
        const int place = place_in_join_tree(join->larg, rtindex, left_nullable);
        return place != 0 ? place : place_in_join_tree(join->rarg, rtindex, right_nullable);
    }
    return 0;
}

// Follows result column `resno` (or the one named `name`) of `query` down
// to a table column, through join aliases and subqueries in FROM (views,
// once rewritten, are such subqueries).
Finding follow_column(Query *query, const char *name, AttrNumber resno) {
    Finding finding{plain_select(query), InvalidOid, 0, InvalidOid};
    if (finding.verdict != Verdict::Incremental)
        return finding;
    const TargetEntry *entry = nullptr;
    ListCell *cell;
    foreach (cell, query->targetList) {
        const TargetEntry *candidate = lfirst_node(TargetEntry, cell);
        if (candidate->resjunk)
            continue;
        const bool match = name != nullptr ? candidate->resname != nullptr && strcmp(candidate->resname, name) == 0
                                           : candidate->resno == resno;
        if (!match)
            continue;
        if (entry != nullptr)
            return {Verdict::IdAbsentOrTwice, InvalidOid, 0, InvalidOid};
        entry = candidate;
    }
    if (entry == nullptr)
        return {Verdict::IdAbsentOrTwice, InvalidOid, 0, InvalidOid};
    Node *expression = strip_relabel(reinterpret_cast<Node *>(entry->expr));
    for (;;) {
        if (expression == nullptr || !IsA(expression, Var))
            return {Verdict::IdComputed, InvalidOid, 0, InvalidOid};
        const Var *var = reinterpret_cast<const Var *>(expression);
        if (var->varlevelsup != 0 || var->varattno <= 0)
            return {Verdict::IdComputed, InvalidOid, 0, InvalidOid};
        RangeTblEntry *rte = rt_fetch(var->varno, query->rtable);
        if (rte->rtekind == RTE_JOIN) {
            expression = strip_relabel(static_cast<Node *>(list_nth(rte->joinaliasvars, var->varattno - 1)));
            continue;
        }
        if (place_in_join_tree(reinterpret_cast<Node *>(query->jointree), var->varno, false) == 2)
            return {Verdict::Nullable, rte->rtekind == RTE_RELATION ? rte->relid : InvalidOid, 0, InvalidOid};
        if (rte->rtekind == RTE_SUBQUERY)
            return follow_column(rte->subquery, nullptr, var->varattno);
        if (rte->rtekind != RTE_RELATION)
            return {Verdict::IdNotFromTable, InvalidOid, 0, InvalidOid};
        if (rte->relkind == RELKIND_PARTITIONED_TABLE)
            return {Verdict::HasChildren, rte->relid, 0, InvalidOid};
        if (rte->relkind != RELKIND_RELATION)
            return {Verdict::NotPlainTable, rte->relid, 0, InvalidOid};
        if (rte->tablesample != nullptr)
            return {Verdict::IdNotFromTable, InvalidOid, 0, InvalidOid};
        if (has_subclass(rte->relid))
            return {Verdict::HasChildren, rte->relid, 0, InvalidOid};
        if (get_rel_relispartition(rte->relid) || has_superclass(rte->relid))
            return {Verdict::HasParents, rte->relid, 0, InvalidOid};
        return {Verdict::Incremental, rte->relid, var->varattno, var->vartype};
    }
}

struct TreeFacts {
    const Query *top;
    Oid relid;
    int reads;            // range table entries of relid, at every level
    // A function that is not immutable where it may decide which rows come
    // out: a WHERE or JOIN ... ON, a row security policy, the select list of
    // a query below the top one (which a filter above may test).
    bool mutable_filter;
};

bool gather_tree_facts(Node *node, void *context) {
    if (node == nullptr)
        return false;
    TreeFacts *facts = static_cast<TreeFacts *>(context);
    if (IsA(node, Query)) {
        Query *query = reinterpret_cast<Query *>(node);
        ListCell *cell;
        foreach (cell, query->rtable) {
            const RangeTblEntry *rte = lfirst_node(RangeTblEntry, cell);
            if (rte->rtekind == RTE_RELATION && rte->relid == facts->relid)
                facts->reads++;
            facts->mutable_filter |= contain_mutable_functions(reinterpret_cast<Node *>(rte->securityQuals));
        }
        facts->mutable_filter |= contain_mutable_functions(reinterpret_cast<Node *>(query->jointree));
        if (query != facts->top)
            facts->mutable_filter |= contain_mutable_functions(reinterpret_cast<Node *>(query->targetList));
        return query_tree_walker(query, as_walker(gather_tree_facts), facts, 0);
    }
    return expression_tree_walker(node, as_walker(gather_tree_facts), facts);
}

// Types whose values the capture trigger records with their output
// function, which is also how the sync's ::text names the record.
bool key_type_supported(Oid type) {
    switch (getBaseType(type)) {
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case NUMERICOID:
    case TEXTOID:
    case VARCHAROID:
    case UUIDOID:
        return true;
    default:
        return false;
    }
}

// The type of the query's result column `name` (found once: follow_column).
Oid result_column_type(const Query *query, const char *name) {
    ListCell *cell;
    foreach (cell, query->targetList) {
        const TargetEntry *entry = lfirst_node(TargetEntry, cell);
        if (!entry->resjunk && entry->resname != nullptr && strcmp(entry->resname, name) == 0)
            return exprType(reinterpret_cast<const Node *>(entry->expr));
    }
    return InvalidOid;
}

// Whether values of the two types print the same text (text and varchar do).
bool prints_alike(Oid result_type, Oid key_type) {
    const auto textual = [](Oid type) { return type == TEXTOID || type == VARCHAROID; };
    return result_type == key_type || (textual(getBaseType(result_type)) && textual(getBaseType(key_type)));
}

Finding find_key(const char *query_text, const char *id_column) {
    List *statements = pg_parse_query(query_text);
    if (list_length(statements) != 1 || !IsA(linitial_node(RawStmt, statements)->stmt, SelectStmt))
        return {Verdict::NotOneQuery, InvalidOid, 0, InvalidOid};
    List *queries =
        pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, statements), query_text, nullptr, 0, nullptr);
    if (list_length(queries) != 1)
        return {Verdict::NotOneQuery, InvalidOid, 0, InvalidOid};
    Query *query = linitial_node(Query, queries);
    if (query->hasRecursive || query->hasModifyingCTE)
        return {Verdict::NotOneQuery, InvalidOid, 0, InvalidOid};
    Finding finding = follow_column(query, id_column, 0);
    if (finding.verdict != Verdict::Incremental)
        return finding;
    // A binary-compatible cast on the way (int4 to oid) keeps the bytes but
    // may print them otherwise: the keys the trigger records are the
    // table's, the ids the sync compares are the result's.
    if (!prints_alike(result_column_type(query, id_column), finding.type))
        return {Verdict::IdCast, InvalidOid, 0, InvalidOid};
    TreeFacts facts{query, finding.relid, 0, false};
    gather_tree_facts(reinterpret_cast<Node *>(query), &facts);
    if (facts.reads > 1)
        finding.verdict = Verdict::ReadTwice;
    else if (facts.mutable_filter)
        finding.verdict = Verdict::MutableFilter;
    else if (!key_type_supported(finding.type))
        finding.verdict = Verdict::KeyType;
    if (finding.verdict != Verdict::Incremental)
        return finding;
    // Locked by parse analysis.
    Relation relation = relation_open(finding.relid, NoLock);
    if (!has_single_column_unique_index(relation, finding.attnum))
        finding.verdict = Verdict::NoUniqueIndex;
    relation_close(relation, NoLock);
    return finding;
}

std::string qualified_table_name(Oid relid) {
    return pg_guard([&] {
        return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), get_rel_name(relid));
    });
}

std::string column_name(Oid relid, AttrNumber attnum) {
    return pg_guard([&] { return get_attname(relid, attnum, false); });
}

// Quoted only as needed, as PostgreSQL's messages show names.
std::string quoted_column(const std::string &name) {
    return pg_guard([&] { return ::quote_identifier(name.c_str()); });
}

std::string type_name(Oid type) {
    return pg_guard([&] { return format_type_be(type); });
}

std::string reason(const Finding &finding) {
    const auto table = [&] { return qualified_table_name(finding.relid); };
    switch (finding.verdict) {
    case Verdict::Incremental:
        return "";
    case Verdict::NotOneQuery:
        return "the query is not a plain SELECT";
    case Verdict::SetOperation:
        return "the query combines queries (UNION, INTERSECT or EXCEPT)";
    case Verdict::Aggregates:
        return "the query aggregates";
    case Verdict::WindowFunctions:
        return "the query uses window functions";
    case Verdict::Distinct:
        return "the query uses DISTINCT";
    case Verdict::Limit:
        return "the query has LIMIT or OFFSET";
    case Verdict::SetReturning:
        return "the query's select list returns sets";
    case Verdict::LocksRows:
        return "the query locks rows";
    case Verdict::IdAbsentOrTwice:
        return "the record id is not one column of the query's result";
    case Verdict::IdComputed:
        return "the record id is computed, not a table's column";
    case Verdict::IdCast:
        return "the record id is a table's column cast to another type";
    case Verdict::IdNotFromTable:
        return "the record id comes from a WITH query, a function or VALUES, not a table";
    case Verdict::NotPlainTable:
        return "the record id comes from " + table() + ", which is not a plain table";
    case Verdict::HasChildren:
        return "the record id comes from " + table() + ", which has partitions or inheritance children";
    case Verdict::HasParents:
        return "the record id comes from " + table() + ", which is a partition or an inheritance child";
    case Verdict::Nullable:
        return finding.relid == InvalidOid ? "the record id is on the nullable side of an outer join"
                                           : table() + " is on the nullable side of an outer join";
    case Verdict::ReadTwice:
        return "the query reads " + table() + " more than once";
    case Verdict::MutableFilter:
        return "which rows the query returns may depend on a function that is not immutable, such as now()";
    case Verdict::NoUniqueIndex:
        return table() + "." + quoted_column(column_name(finding.relid, finding.attnum)) +
               " has no unique index of its own";
    case Verdict::KeyType:
        return "the record id's type " + type_name(finding.type) + " is not one incremental runs handle";
    }
    return "";
}

}  // namespace

IncrementalKey incremental_key(const std::string &query, const std::string &id_column) {
    const char *query_text = query.c_str();
    const char *key_name = id_column.c_str();
    const Finding finding =
        pg_guard([&] { return in_scratch_context([&] { return find_key(query_text, key_name); }); });
    IncrementalKey key;
    if (finding.verdict != Verdict::Incremental) {
        key.mode = "full: " + reason(finding);
        return key;
    }
    key.relid = finding.relid;
    key.type = finding.type;
    key.column = column_name(finding.relid, finding.attnum);
    key.mode = "incremental on " + qualified_table_name(finding.relid) + "." + quoted_column(key.column);
    return key;
}

}  // namespace reverse_etl::pg
