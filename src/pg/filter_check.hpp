// Checking a mapping's filter: one boolean SQL expression over model columns.
#pragma once

#include <string>
#include <vector>

#include "pg/query_analysis.hpp"

namespace reverse_etl::pg {

// Throws 22023 unless `filter` is a single expression (nothing that could end
// or extend the WHERE clause it is pasted into), then analyzes it against a
// relation with the model's column names and types, so unknown columns (42703)
// and non-boolean expressions (42804) are reported with PostgreSQL's own words;
// then checks that the current role may read every table and execute every
// function the filter uses (42501, see check_statement_privileges).
// Names resolve with `search_path`, the model's, as they will when the filter
// runs; privileges are those of the current role, who writes the filter.
void validate_filter(const std::string &filter, const std::vector<Column> &columns,
                     const std::string &search_path);

}  // namespace reverse_etl::pg
