#include "pg/encoding.hpp"

#include <climits>

#include "pg/error_crossing.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace reverse_etl::pg {

std::string database_text_as_utf8(const std::string &text) {
    const int encoding = pg_guard([] { return GetDatabaseEncoding(); });
    if (encoding == PG_UTF8 || encoding == PG_SQL_ASCII || text.empty())
        return text;
    if (text.size() > static_cast<size_t>(INT_MAX))
        throw Error(sqlstate::kInvalidParameterValue, "text is too long to convert to UTF-8");
    const char *converted = pg_guard([&] {
        return pg_server_to_any(text.data(), static_cast<int>(text.size()), PG_UTF8);
    });
    // pg_server_to_any returns its input when no conversion was needed.
    return converted == text.data() ? text : std::string(converted);
}

}  // namespace reverse_etl::pg
