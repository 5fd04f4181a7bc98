// Reading SQL function arguments into C++ values. The SQL functions are not
// STRICT (a STRICT function would silently return NULL for a NULL name), so
// every required argument is checked here and named in the error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "pg/postgres_headers.hpp"

namespace reverse_etl::pg {

std::optional<std::string> optional_text(FunctionCallInfo fcinfo, int arg);
std::string required_text(FunctionCallInfo fcinfo, int arg, const char *arg_name);
std::optional<bool> optional_bool(FunctionCallInfo fcinfo, int arg);
bool required_bool(FunctionCallInfo fcinfo, int arg, const char *arg_name);
int required_int32(FunctionCallInfo fcinfo, int arg, const char *arg_name);
unsigned int required_oid(FunctionCallInfo fcinfo, int arg, const char *arg_name);
// Any argument as its type's output function writes it (an interval, a
// number...), for SQL that casts it back: nullopt when NULL.
std::optional<std::string> optional_value_text(FunctionCallInfo fcinfo, int arg);
// jsonb arguments as JSON text.
std::optional<std::string> optional_jsonb_text(FunctionCallInfo fcinfo, int arg);
std::string required_jsonb_text(FunctionCallInfo fcinfo, int arg, const char *arg_name);
// A text[] argument's elements in order (a multidimensional array flattened);
// nullopt for a NULL array, nullopt elements for NULL elements.
std::optional<std::vector<std::optional<std::string>>> optional_text_array(FunctionCallInfo fcinfo, int arg);

Datum text_datum(const std::string &value);
Datum jsonb_datum(const std::string &json_text);

}  // namespace reverse_etl::pg
