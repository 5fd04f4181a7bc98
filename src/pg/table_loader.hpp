// Appending rows of text values to a table, as COPY FROM does: each value
// through its column's input function, straight into the table's storage.
// A remote model's rows reach its temporary table this way (a chunk as one
// INSERT of unnest()ed text arrays spent more time building and parsing the
// arrays than storing the rows). No PostgreSQL headers for the caller.
#pragma once

#include <memory>
#include <string>

#include "pg/text_rows.hpp"

namespace reverse_etl::pg {

class TableLoader {
  public:
    // Opens `schema`.`table_name` (pg_temp: a temporary table of this
    // session's) with ROW EXCLUSIVE lock. Only for tables this process
    // created: no privilege, trigger, constraint or index is looked at, and
    // only PostgreSQL's own types may be in it (their input functions are
    // run as whoever calls).
    TableLoader(const std::string &schema, const std::string &table_name);
    ~TableLoader();
    TableLoader(const TableLoader &) = delete;
    TableLoader &operator=(const TableLoader &) = delete;

    size_t width() const;

    // Appends `rows` (width() values a row). Later statements of the
    // transaction see them. Invalid input for a column's type raises that
    // type's error (22P02...).
    void append(const TextRows &rows);

    // Whether any row appended so far had NULL in `column`.
    bool had_null(size_t column) const;

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace reverse_etl::pg
