#include "pg/key_uniqueness.hpp"

#include "pg/error_crossing.hpp"
#include "pg/query_facts.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/analyze.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
}

namespace reverse_etl::pg {

namespace {

// Everything below runs inside one pg_guard: C types only, no C++ object that
// a longjmp could skip.

// The result column named `key_name` when it is a user column of range table
// entry `rtindex` of this query level; nullptr for anything else, including a
// name that is absent or appears twice (the sync could not tell the two apart).
Var *key_var(const Query *query, const char *key_name, int rtindex) {
    const TargetEntry *key_entry = nullptr;
    ListCell *cell;
    foreach (cell, query->targetList) {
        const TargetEntry *entry = lfirst_node(TargetEntry, cell);
        if (entry->resjunk || entry->resname == nullptr || strcmp(entry->resname, key_name) != 0)
            continue;
        if (key_entry != nullptr)
            return nullptr;
        key_entry = entry;
    }
    if (key_entry == nullptr)
        return nullptr;
    // The sync compares identifiers as text. regproc and regoper print a
    // function's or operator's name without its argument types, so distinct
    // OIDs of overloaded ones print alike; every other built-in type prints
    // distinct values distinctly (floats with the pinned extra_float_digits).
    const Oid output_type = getBaseType(exprType(reinterpret_cast<Node *>(key_entry->expr)));
    if (output_type == REGPROCOID || output_type == REGOPEROID)
        return nullptr;
    Node *expression = strip_relabel(reinterpret_cast<Node *>(key_entry->expr));
    if (expression == nullptr || !IsA(expression, Var))
        return nullptr;
    Var *var = reinterpret_cast<Var *>(expression);
    // varattno <= 0: a system column (ctid, xmin, ...) or the whole row.
    if (var->varlevelsup != 0 || var->varno != rtindex || var->varattno <= 0)
        return nullptr;
    return var;
}

// True when `qual` is, or is ANDed at the top level with, "key IS NOT NULL":
// every row that passes WHERE then has a key.
bool qual_requires_not_null(Node *qual, const Var *key) {
    if (qual == nullptr)
        return false;
    if (IsA(qual, BoolExpr)) {
        const BoolExpr *bool_expr = reinterpret_cast<const BoolExpr *>(qual);
        if (bool_expr->boolop != AND_EXPR)
            return false;
        ListCell *cell;
        foreach (cell, bool_expr->args) {
            if (qual_requires_not_null(static_cast<Node *>(lfirst(cell)), key))
                return true;
        }
        return false;
    }
    if (!IsA(qual, NullTest))
        return false;
    const NullTest *test = reinterpret_cast<const NullTest *>(qual);
    if (test->nulltesttype != IS_NOT_NULL || test->argisrow)
        return false;
    Node *argument = strip_relabel(reinterpret_cast<Node *>(test->arg));
    if (argument == nullptr || !IsA(argument, Var))
        return false;
    const Var *var = reinterpret_cast<const Var *>(argument);
    return var->varlevelsup == 0 && var->varno == key->varno && var->varattno == key->varattno;
}

// Whether the table has an inheritance child now. relhassubclass
// (has_subclass) stays set after its last child is dropped, until the next
// VACUUM or ANALYZE of the table, and its models would not be proven unique
// meanwhile; pg_inherits says.
bool has_inheritance_children(Oid relid) {
    if (!has_subclass(relid))
        return false;
    List *children = find_inheritance_children(relid, NoLock);
    const bool any = children != NIL;
    list_free(children);
    return any;
}

bool prove(const char *query_text, const char *key_name) {
    List *statements = pg_parse_query(query_text);
    if (list_length(statements) != 1)
        return false;
    RawStmt *raw = linitial_node(RawStmt, statements);
    // Only a SELECT is analyzed: analysis does not run anything, but nothing
    // else could be proven anyway.
    if (!IsA(raw->stmt, SelectStmt))
        return false;
    // Takes AccessShareLock on every relation the query names, until the end
    // of the transaction: the lock the proof's validity rests on.
    const Query *query = parse_analyze_fixedparams(raw, query_text, nullptr, 0, nullptr);

    // One row out per row of the relation that passes WHERE; DISTINCT, LIMIT
    // and OFFSET only drop rows, window functions and sublinks in the select
    // list only add columns. Grouping merges rows, set operations and
    // set-returning functions add them. Row locking re-reads changed rows at a
    // later moment than the snapshot, so a key can show twice.
    if (query->commandType != CMD_SELECT || query->utilityStmt != nullptr || query->setOperations != nullptr ||
        query->hasAggs || query->groupClause != NIL || query->groupingSets != NIL ||
        query->havingQual != nullptr || query->hasTargetSRFs || query->rowMarks != NIL || query->hasForUpdate ||
        query->hasModifyingCTE || query->hasRecursive)
        return false;

    // Exactly one FROM item, a relation (not a join, CTE, subquery, function or VALUES).
    const FromExpr *from = query->jointree;
    if (from == nullptr || list_length(from->fromlist) != 1 || !IsA(linitial(from->fromlist), RangeTblRef))
        return false;
    const int rtindex = linitial_node(RangeTblRef, from->fromlist)->rtindex;
    const RangeTblEntry *rte = rt_fetch(rtindex, query->rtable);
    // TABLESAMPLE methods are extensible; whether one can return a row twice
    // is not ours to know.
    if (rte->rtekind != RTE_RELATION || rte->tablesample != nullptr)
        return false;
    // A view's rows come from its own query; a foreign table has no index here.
    // A partitioned table's unique index covers all its partitions (its key
    // includes the partition key); a plain table's does not cover its
    // inheritance children, which the query reads unless it says ONLY.
    if (rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE &&
        rte->relkind != RELKIND_MATVIEW)
        return false;
    if (rte->relkind == RELKIND_RELATION && rte->inh && has_inheritance_children(rte->relid))
        return false;

    const Var *key = key_var(query, key_name, rtindex);
    if (key == nullptr)
        return false;

    // Already locked by parse analysis.
    Relation relation = relation_open(rte->relid, NoLock);
    const bool not_null = TupleDescAttr(RelationGetDescr(relation), key->varattno - 1)->attnotnull ||
                          qual_requires_not_null(from->quals, key);
    const bool unique = not_null && has_single_column_unique_index(relation, key->varattno);
    relation_close(relation, NoLock);
    return unique;
}

}  // namespace

bool model_key_is_unique(const std::string &query, const std::string &key_column) {
    const char *query_text = query.c_str();
    const char *key_name = key_column.c_str();
    return pg_guard([&] { return in_scratch_context([&] { return prove(query_text, key_name); }); });
}

}  // namespace reverse_etl::pg
