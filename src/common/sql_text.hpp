// Text of SQL that the library writes: identifiers and array literals.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace reverse_etl {

// "name" with embedded double quotes doubled: always quoted, so any column
// name a model returns (upper case, spaces, keywords) is taken as written.
std::string quote_identifier(const std::string &name);

// A PostgreSQL array literal of the given texts, each quoted (NULL for nullopt).
std::string text_array_literal(const std::vector<std::optional<std::string>> &items);

}  // namespace reverse_etl
