#include "pg/plain_table.hpp"

extern "C" {
#include "nodes/pg_list.h"
#include "utils/relcache.h"
}

namespace reverse_etl::pg {

bool stores_rows_only(Relation relation) {
    if (relation->rd_rel->relkind != RELKIND_RELATION || relation->rd_rel->relhasrules ||
        relation->trigdesc != nullptr || relation->rd_rel->relrowsecurity)
        return false;
    List *const indexes = RelationGetIndexList(relation);
    const bool has_index = indexes != NIL;
    list_free(indexes);
    return !has_index;
}

}  // namespace reverse_etl::pg
