// Appending the rows of a SELECT to a table, as CREATE TABLE AS fills the
// table it creates and COPY FROM stores rows:
//  - the SELECT may be planned with parallel workers, which INSERT ...
//    SELECT never is (PostgreSQL 15): for a first sync the workers compute
//    the rows (scan, hash, render: most of its extraction) while this
//    process stores what they send;
//  - rows are stored a thousand at a time (table_multi_insert), as COPY
//    does: one WAL record a page instead of one a row for a logged table,
//    and fewer buffer lookups for any.
// No PostgreSQL headers for the caller.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::pg {

// Runs `select_sql` as the current role and appends every row it returns to
// `schema`.`table_name`, a table of the engine's own: no privilege is
// checked and a table with indexes, triggers, rules or CHECK constraints is
// refused (an internal error: what they would do is not done here); NOT
// NULL is checked. The SELECT returns the table's columns (the table has
// no dropped ones), in order, of the same types. Returns how many rows it
// stored; later statements of the transaction see them.
uint64_t select_into_table(const std::string &schema, const std::string &table_name, const std::string &select_sql);

}  // namespace reverse_etl::pg
