// SQL from C++ without PostgreSQL headers: text parameters in, text values out.
// Meant for the catalog (a handful of small statements per call), not for
// streaming model rows, which the engine does with cursors of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
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

}  // namespace reverse_etl::pg
