// Checking a model's query with PostgreSQL's own parser, analyzer and executor
// start-up, without PostgreSQL headers in the caller.
#pragma once

#include <string>
#include <vector>

#include "common/column.hpp"

namespace reverse_etl::pg {

struct AnalyzedQuery {
    std::string text;  // the statement alone: no trailing semicolon, safe to wrap in a subquery
    std::vector<Column> columns;
};

// Requires exactly one read-only query (SELECT, WITH ... SELECT, VALUES, TABLE);
// parses, plans and opens it as the current role (so missing tables and
// privileges are reported) without fetching a row. Throws PostgreSQL's own
// errors (e.g. 42601, 42P01, 42501) and 22023 for anything but one read-only query.
AnalyzedQuery analyze_model_query(const std::string &query);

// The current search_path setting, as SHOW prints it.
std::string current_search_path();

// Wraps a model query as a subquery aliased `alias`. The query goes on lines of its
// own so a trailing "-- comment" cannot swallow the closing parenthesis.
std::string wrap_model_query(const std::string &query_text, const std::string &alias);

}  // namespace reverse_etl::pg
