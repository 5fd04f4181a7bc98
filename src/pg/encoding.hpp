// Text in the database encoding, for pure C++ code that works on UTF-8.
#pragma once

#include <string>

namespace reverse_etl::pg {

// `text` (in the database encoding) as UTF-8: unchanged in a UTF8 database,
// and in a SQL_ASCII one, whose bytes have no known encoding.
std::string database_text_as_utf8(const std::string &text);

}  // namespace reverse_etl::pg
