// Text of SQL that the library writes: identifiers and array literals.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace reverse_etl {

// "name" with embedded double quotes doubled: always quoted, so any column
// name a model returns (upper case, spaces, keywords) is taken as written.
std::string quote_identifier(const std::string &name);

// 'text' with embedded quotes doubled (E'...' with backslashes doubled when it
// has any), read the same whatever standard_conforming_strings says.
std::string quote_literal(const std::string &text);

// A PostgreSQL array literal of the given texts, each quoted (NULL for nullopt).
std::string text_array_literal(const std::vector<std::optional<std::string>> &items);

}  // namespace reverse_etl
