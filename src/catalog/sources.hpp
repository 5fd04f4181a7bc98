// Remote sources (SPEC section 10): warehouses that speak the PostgreSQL
// protocol, reached through libpq. A model with source => name runs its query
// there; its rows come back in chunks for change detection here.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog_store.hpp"
#include "pg/query_analysis.hpp"
#include "pg/remote_connection.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::catalog {

// settings: {"statement_timeout": interval text ("0" or absent: the remote's
// own), "fetch_rows": rows per fetch, 100 to 100000 (default 10000)}.
struct SourceSettings {
    int64_t statement_timeout_ms = 0;
    int fetch_rows = 10000;
};
SourceSettings read_source_settings(const std::string &settings_json);

void create_source(const std::string &name, const std::string &conninfo, const std::string &settings_json);
void alter_source(const std::string &name, const std::optional<std::string> &conninfo,
                  const std::optional<std::string> &settings_patch_json, const std::optional<std::string> &new_name);
void drop_source(const std::string &name, bool cascade);
// {"server_version", "connect_ms", "round_trip_ms"} as JSON text.
std::string test_source(const std::string &name);

// A connection to the source, with its settings: the password rules of the
// source's owner (a non-superuser owner's server must ask for the password).
std::unique_ptr<pg::RemoteConnection> connect_source(const SourceRow &source);

// The query's result columns as the remote plans them, with local type names:
// a built-in type by its name, anything else (the remote's own types) as text.
std::vector<Column> describe_remote_query(const SourceRow &source, const std::string &query);

// The source a model may read: `name` must be visible to the current role
// (owned by a role it has the privileges of), else 42704 as for any object.
SourceRow usable_source(const std::string &name);

// A chunk of remote rows (text, as the remote printed them) as typed rows
// named as the model's columns: "SELECT u.c1::type AS name, ... FROM ROWS
// FROM (unnest($1::text[]), ...) AS u(c1, ...)" and its parameters, one array
// per column. Only built-in types' input functions run (describe_remote_query
// maps every other type to text). For previews; a run stores its rows with
// pg::TableLoader, which skips building and parsing the arrays.
std::string remote_rows_select_sql(const std::vector<Column> &columns);
using RemoteRow = std::vector<std::optional<std::string>>;   // nullopt is NULL
pg::Params remote_rows_params(const std::vector<RemoteRow> &rows, size_t width);

// The first `row_limit` rows of a remote query as JSON objects, as a local
// model's preview shows them (to_jsonb of the typed row).
std::vector<std::string> preview_remote_rows(const SourceRow &source, const std::string &query,
                                             const std::vector<Column> &columns, int row_limit);

}  // namespace reverse_etl::catalog
