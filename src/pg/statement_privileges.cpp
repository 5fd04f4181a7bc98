#include "pg/statement_privileges.hpp"

#include "pg/error_crossing.hpp"
#include "pg/query_facts.hpp"

extern "C" {
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
}

namespace reverse_etl::pg {

namespace {

// Every range table entry of every query level, for one ExecCheckRTPerms call.
struct Collected {
    List *range_table;
};

bool check_execute(Oid function, void *) {
    const AclResult result = pg_proc_aclcheck(function, GetUserId(), ACL_EXECUTE);
    if (result != ACLCHECK_OK)
        aclcheck_error(result, OBJECT_FUNCTION, get_func_name(function));
    return false;
}

bool collect(Node *node, void *context) {
    if (node == nullptr)
        return false;
    Collected *collected = static_cast<Collected *>(context);
    if (IsA(node, Query)) {
        Query *query = reinterpret_cast<Query *>(node);
        collected->range_table = list_concat(collected->range_table, query->rtable);
        // Flags 0: into subqueries of the range table, CTEs and sublinks alike.
        return query_tree_walker(query, as_walker(collect), context, 0);
    }
    check_functions_in_node(node, check_execute, nullptr);
    return expression_tree_walker(node, as_walker(collect), context);
}

}  // namespace

void check_statement_privileges(_SPI_plan *plan) {
    pg_guard([&] {
        Collected collected{NIL};
        ListCell *source_cell;
        foreach (source_cell, SPI_plan_get_plan_sources(plan)) {
            const CachedPlanSource *source = static_cast<const CachedPlanSource *>(lfirst(source_cell));
            ListCell *query_cell;
            foreach (query_cell, source->query_list)
                collect(static_cast<Node *>(lfirst(query_cell)), &collected);
        }
        ExecCheckRTPerms(collected.range_table, true);
        list_free(collected.range_table);
    });
}

}  // namespace reverse_etl::pg
