// Whether a live mapping's runs can evaluate its model for the changed
// records only (docs/live-syncs.md, "Incremental evaluation"), found from the
// query as PostgreSQL's analyzer and rewriter see it. No PostgreSQL headers
// for the caller.
#pragma once

#include <optional>
#include <string>

namespace reverse_etl::pg {

struct IncrementalKey {
    // The table whose changed keys a run evaluates the model for, and the
    // key column (its name in that table); unset when runs diff the whole model.
    std::optional<unsigned int> relid;
    std::string column;
    unsigned int type = 0;  // the key column's type
    // What `mappings.live_mode` shows: "incremental on public.users.id", or
    // "full: " and the reason, e.g. "full: the query aggregates".
    std::string mode;
};

// Incremental when the model's result column `id_column` is a column of one
// table T that the query reads exactly once (views and subqueries in FROM
// are followed down to it), through plain SELECTs only (no aggregate,
// grouping, window function, DISTINCT, LIMIT/OFFSET, set operation or
// set-returning function in a select list on the way), T not on the
// nullable side of an outer join, no function that is not immutable in a
// filter, a row security policy or a subquery's select list (now(): rows
// would leave the model with no table changing), and the column the single
// key column of a unique index of T, of a type whose text form is its
// output function's (integers, numeric, text, varchar, uuid), not cast to
// another type on the way. T must be a plain table with no partitions or
// inheritance children and no parent: a statement fires the statement
// triggers of the table it names only.
//
// Then every change to the model's row of id X comes from a change to T's
// row of key X (captured by T's triggers) or from a change to another
// table (which the runs treat as "anything may have changed").
//
// Analyzed as the current role with the current search_path: call it as the
// model's owner, with the model's search_path. Errors of parse analysis are
// thrown.
IncrementalKey incremental_key(const std::string &query, const std::string &id_column);

}  // namespace reverse_etl::pg
