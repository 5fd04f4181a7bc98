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

// A relation a query reads, found by PostgreSQL's analyzer (views are read
// through: their tables are listed too).
struct ReadRelation {
    unsigned int oid;
    char kind;                   // pg_class.relkind: 'r', 'p', 'v', 'm', 'f', ...
    std::string qualified_name;  // quoted as needed, e.g. public."Users"
};

// The relations `query` depends on as the current role analyzes it (the
// planner's own list: every table, view, materialized view and foreign table
// named in it or in a view it reads), and every partition or inheritance
// child of the tables among them, each once. Tables a function called by the
// query reads are not listed: the analyzer does not see them.
std::vector<ReadRelation> relations_read_by(const std::string &query);

// The current search_path setting, as SHOW prints it.
std::string current_search_path();

// Wraps a model query as a subquery aliased `alias`. The query goes on lines of its
// own so a trailing "-- comment" cannot swallow the closing parenthesis.
std::string wrap_model_query(const std::string &query_text, const std::string &alias);

}  // namespace reverse_etl::pg
