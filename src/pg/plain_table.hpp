// Whether rows may be stored straight into a table (table_multi_insert, as
// COPY stores them) without bypassing anything an INSERT would do but check
// its constraints. For src/pg/ only (PostgreSQL types).
#pragma once

#include "pg/postgres_headers.hpp"

extern "C" {
#include "utils/rel.h"
}

namespace reverse_etl::pg {

// A plain table with no index, rule, trigger or row security. Its indexes
// are the ones pg_index lists: pg_class.relhasindex stays true after the
// last one is dropped (until a VACUUM), as it does while a first run goes,
// its checkpoint's key dropped until the run ends.
bool stores_rows_only(Relation relation);

}  // namespace reverse_etl::pg
