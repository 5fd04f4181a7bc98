// NOTICE and WARNING messages from C++ without PostgreSQL headers.
#pragma once

#include <string>

namespace reverse_etl::pg {

void notice(const std::string &message, const std::string &detail = "");
void warning(const std::string &message, const std::string &detail = "", const std::string &hint = "");

}  // namespace reverse_etl::pg
