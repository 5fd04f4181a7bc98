#include "pg/query_facts.hpp"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_index.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
}

namespace reverse_etl::pg {

Node *strip_relabel(Node *node) {
    while (node != nullptr && IsA(node, RelabelType))
        node = reinterpret_cast<Node *>(reinterpret_cast<RelabelType *>(node)->arg);
    return node;
}

bool has_single_column_unique_index(Relation relation, AttrNumber attnum) {
    List *indexes = RelationGetIndexList(relation);
    bool found = false;
    ListCell *cell;
    foreach (cell, indexes) {
        HeapTuple tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(cell)));
        if (!HeapTupleIsValid(tuple))
            continue;
        const Form_pg_index index = reinterpret_cast<Form_pg_index>(GETSTRUCT(tuple));
        found = index->indisunique && index->indisvalid && index->indislive && index->indimmediate &&
                index->indnkeyatts == 1 && index->indkey.values[0] == attnum &&
                heap_attisnull(tuple, Anum_pg_index_indexprs, nullptr) &&
                heap_attisnull(tuple, Anum_pg_index_indpred, nullptr);
        ReleaseSysCache(tuple);
        if (found)
            break;
    }
    list_free(indexes);
    return found;
}

}  // namespace reverse_etl::pg
