// Models: a read-only query plus the column that identifies each record.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace reverse_etl::catalog {

// Sources a model can read from: only "local" (this database) for now;
// another name is 42704.
void check_model_source(const std::string &source);

void create_model(const std::string &name, const std::string &query, const std::string &primary_key,
                  const std::string &source, const std::optional<std::string> &description);
void alter_model(const std::string &name, const std::optional<std::string> &query,
                 const std::optional<std::string> &primary_key,
                 const std::optional<std::string> &description,
                 const std::optional<std::string> &new_name);
void drop_model(const std::string &name, bool cascade);

// The first `row_limit` rows as JSON object texts, in the query's order.
std::vector<std::string> preview_model(const std::string &name, int row_limit);
std::vector<std::string> preview_query(const std::string &query, const std::optional<std::string> &primary_key,
                                       int row_limit, const std::string &source);

}  // namespace reverse_etl::catalog
