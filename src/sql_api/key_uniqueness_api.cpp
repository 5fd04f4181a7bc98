// SQL entry point of the key uniqueness proof, for tests: what the engine asks
// before deciding whether a sync must look for NULL and repeated identifiers.
#include <string>

#include "pg/args.hpp"
#include "pg/error_crossing.hpp"
#include "pg/key_uniqueness.hpp"

using namespace reverse_etl;

REVERSE_ETL_FUNCTION(reverse_etl_key_is_unique) {
    const std::string query = pg::required_text(fcinfo, 0, "query");
    const std::string key_column = pg::required_text(fcinfo, 1, "key_column");
    PG_RETURN_BOOL(pg::model_key_is_unique(query, key_column));
}
