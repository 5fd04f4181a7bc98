// NOTICE messages from C++ without PostgreSQL headers.
#pragma once

#include <string>

namespace reverse_etl::pg {

void notice(const std::string &message, const std::string &detail = "");

}  // namespace reverse_etl::pg
