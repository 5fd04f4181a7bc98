// SQL from C++ without PostgreSQL headers: text parameters in, text values out.
// execute() is meant for the catalog (a handful of small statements per
// call); Cursor reads results too big to hold at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reverse_etl::pg {

using Value = std::optional<std::string>;  // nullopt is SQL NULL
using Params = std::vector<Value>;         // $1, $2, ... are passed as text: cast in the SQL

struct Result {
    std::vector<std::vector<Value>> rows;
    uint64_t processed = 0;

    bool empty() const { return rows.empty(); }
    // The first column of the first row; the statement must have returned a non-NULL value.
    const std::string &scalar() const;
};

// An SPI connection for the duration of one SQL-callable function. Statements
// run inside the caller's transaction. After a PostgreSQL error the
// connection is left to transaction abort to clean up, as PostgreSQL
// expects; on every other path (a C++ exception included) it is finished.
class SpiConnection {
  public:
    SpiConnection();
    ~SpiConnection();
    SpiConnection(const SpiConnection &) = delete;
    SpiConnection &operator=(const SpiConnection &) = delete;

  private:
    uint64_t errors_at_start_;  // postgres_errors_caught() when connected
};

// Runs a statement as the current role, with the current search_path.
Result execute(const std::string &sql, const Params &params = {});

// Runs a statement on the extension's catalog tables: as the role that owns them
// (no other role may touch them) and with search_path pinned to pg_catalog, so
// nothing the caller put on their search_path can be resolved by our SQL.
Result execute_catalog(const std::string &sql, const Params &params = {});
// A text[] value built in place, element after element, in one buffer (the
// live capture's keys: thousands per statement of the application's), for
// execute_catalog_with_array: no literal to write and parse, no allocation
// per element.
class TextArrayBuilder {
  public:
    void add(std::string_view item);
    int size() const { return count_; }
    size_t bytes() const { return elements_.size(); }
    // The array value: the header PostgreSQL's arrays have, then the elements.
    std::string finish() const;

  private:
    std::string elements_;  // each a 4-byte length word and the text, 4-byte aligned
    int count_ = 0;
};

// execute_catalog() with one parameter more, after `params`: the text[] built.
Result execute_catalog_with_array(const std::string &sql, const Params &params, const TextArrayBuilder &array);

// A read-only cursor (a portal) over one statement's result, read a fetch at
// a time, for results too big to copy whole. A row's values are views, not
// copies: text values point into the fetched tuples themselves (or their
// detoasted copy), other types into their output function's text.
//
// Open it inside an SPI connection (SpiConnection, run_in_transaction) and
// end it before that connection and its transaction end. The destructor
// closes the portal; when an exception unwinds it, transaction abort drops
// the portal and its memory instead, as PostgreSQL expects.
class Cursor {
  public:
    enum class As { CurrentRole, CatalogOwner };
    using Row = std::vector<std::optional<std::string_view>>;  // nullopt is SQL NULL

    // Plans and opens the statement (privileges are checked here) as the
    // current role, or as execute_catalog() runs statements; the role stays
    // in force until the cursor ends, fetches included.
    Cursor(const std::string &sql, const Params &params, As as = As::CurrentRole);
    ~Cursor();
    Cursor(const Cursor &) = delete;
    Cursor &operator=(const Cursor &) = delete;

    // Fetches up to `count` more rows in place of the previous fetch (whose
    // views it invalidates). Returns how many came: 0 once the result is read.
    size_t fetch(size_t count);
    // Row `index` of the last fetch. Its views are valid until the next
    // row() or fetch() call: values stored compressed or out of line are
    // detoasted for one row at a time.
    const Row &row(size_t index);

  private:
    struct State;   // PostgreSQL's types, kept out of this header
    std::unique_ptr<State> state_;
    int uncaught_at_start_;
};

}  // namespace reverse_etl::pg
