// A column of a query's result, as the model's query planned it: what the
// catalog stores for a model, and what field mappings and payloads are
// checked and built against.
#pragma once

#include <string>

namespace reverse_etl {

struct Column {
    std::string name;
    // As PostgreSQL's format_type prints it: "bigint", "jsonb", "text[]",
    // "character varying(64)", "timestamp with time zone".
    std::string type;
};

}  // namespace reverse_etl
