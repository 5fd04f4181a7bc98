// Proving from PostgreSQL's catalogs that a model's identifier column is never
// NULL and never repeats, so a sync can skip looking for invalid records (a
// GROUP BY over the whole model result). No PostgreSQL headers for the caller.
#pragma once

#include <string>

namespace reverse_etl::pg {

// True only when PostgreSQL's catalogs prove that `key_column` of the query's
// result is never NULL and never repeats: the query is a plain SELECT (WHERE,
// ORDER BY, LIMIT/OFFSET, DISTINCT and sublinks allowed; no set operation,
// grouping, aggregate, set-returning function in the select list, row locking,
// TABLESAMPLE, recursive or data-modifying WITH) whose only FROM item is one
// table, partitioned table or materialized view (a table with inheritance
// children only when read with ONLY), and whose one result column named
// `key_column` is a column of that relation, at most relabeled by a
// binary-compatible cast, that is
//   - declared NOT NULL, or tested with a top-level "AND key IS NOT NULL" in
//     WHERE (a materialized view's columns are never declared NOT NULL), and
//   - the only key column of a valid, non-deferrable unique index with no
//     expression and no predicate (INCLUDE columns are fine; a primary key is one).
// False for anything else, including a key column absent from the result or
// named twice, a system column, and any statement that is not one SELECT.
// Errors of parse analysis (syntax 42601, unknown table 42P01, ...) are thrown.
//
// Distinct values of the index's type also print distinctly, the form the
// sync compares identifiers in, as long as the type's output reads back as the
// same value (what pg_dump relies on; floats need the pinned
// extra_float_digits, see pg::StableFormatting). regproc and regoper do not
// (overloaded names print alike): a key of either type is never proven.
//
// The query is analyzed as the current role with the current search_path:
// call it as the role, and with the search_path, the query will run with.
//
// The proof holds only inside the calling transaction, and the caller must run
// it in the same transaction as the query that relies on it, before that query:
// parse analysis takes AccessShareLock on the table, held to the end of the
// transaction, and that lock is what keeps the index and the NOT NULL from
// being dropped or changed in between (DROP INDEX waits for it; DROP INDEX
// CONCURRENTLY marks the index invalid but keeps enforcing it until then).
//
// One thing the lock does not stop: another session giving a table read
// without ONLY its first inheritance child (CREATE TABLE ... INHERITS takes a
// lock that does not conflict), which the query would then read too, with its
// own keys. To close that window, prove again after the query, still in the
// same transaction, and rely on the proof only if both are true: a child that
// existed when the query was planned is locked by the query, so it is still
// there and the second proof fails.
bool model_key_is_unique(const std::string &query, const std::string &key_column);

}  // namespace reverse_etl::pg
