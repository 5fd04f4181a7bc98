// Helpers for reading analyzed queries and a table's indexes, shared by the
// proof of a model's unique key (key_uniqueness.cpp), the choice of a live
// mapping's incremental key (incremental_key.cpp) and the privilege check of
// a statement's functions (statement_privileges.cpp). Takes PostgreSQL's
// types: for files under src/pg/ only, called inside pg_guard.
#pragma once

#include "pg/postgres_headers.hpp"

extern "C" {
#include "nodes/primnodes.h"
#include "utils/rel.h"
}

namespace reverse_etl::pg {

// The walkers of PostgreSQL 15 take an old-style `bool (*)()`; the detour
// through void (*)() tells the compiler the cast is meant.
template <typename Walker>
bool (*as_walker(Walker walker))() {
    return reinterpret_cast<bool (*)()>(reinterpret_cast<void (*)()>(walker));
}

// Runs `analysis` (C only) with what it allocates (parse trees, relcache
// copies, lists) in a memory context of its own, freed on return: a sync may
// analyze many queries in one transaction. On an error the context is left to
// its parent, which the abort frees. Its result must not point into it.
template <typename Analysis>
auto in_scratch_context(Analysis &&analysis) -> decltype(analysis()) {
    const MemoryContext scratch =
        AllocSetContextCreate(CurrentMemoryContext, "reverse_etl query analysis", ALLOCSET_DEFAULT_SIZES);
    const MemoryContext caller = MemoryContextSwitchTo(scratch);
    const auto result = analysis();
    MemoryContextSwitchTo(caller);
    MemoryContextDelete(scratch);
    return result;
}

// A binary-compatible cast (varchar to text, int4 to oid) keeps the value's
// bytes, so it keeps both NULL-ness and distinctness.
Node *strip_relabel(Node *node);

// A unique index that makes `attnum` alone unique at every moment a snapshot
// can see: valid and live (not being built or dropped), checked row by row
// (not deferred to commit), on the plain column (no expression) and over all
// rows (no predicate). The column is its only key column; INCLUDE columns are
// not part of the uniqueness and do not matter.
bool has_single_column_unique_index(Relation relation, AttrNumber attnum);

}  // namespace reverse_etl::pg
