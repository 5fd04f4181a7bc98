// SQL-callable functions of remote sources (SPEC section 10).

#include <string>

#include "catalog/sources.hpp"
#include "pg/args.hpp"
#include "pg/error_crossing.hpp"
#include "pg/remote_connection.hpp"
#include "pg/spi.hpp"

using namespace reverse_etl;

REVERSE_ETL_FUNCTION(reverse_etl_create_source) {
    const pg::SpiConnection spi;
    catalog::create_source(pg::required_text(fcinfo, 0, "name"), pg::required_text(fcinfo, 1, "conninfo"),
                           pg::required_jsonb_text(fcinfo, 2, "settings"));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_alter_source) {
    const pg::SpiConnection spi;
    catalog::alter_source(pg::required_text(fcinfo, 0, "name"), pg::optional_text(fcinfo, 1),
                          pg::optional_jsonb_text(fcinfo, 2), pg::optional_text(fcinfo, 3));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_drop_source) {
    const pg::SpiConnection spi;
    catalog::drop_source(pg::required_text(fcinfo, 0, "name"), pg::required_bool(fcinfo, 1, "cascade"));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_test_source) {
    std::string result;
    {
        const pg::SpiConnection spi;
        result = catalog::test_source(pg::required_text(fcinfo, 0, "name"));
    }
    return pg::jsonb_datum(result);
}

REVERSE_ETL_VIEW_FUNCTION(reverse_etl_mask_conninfo) {
    return pg::text_datum(pg::mask_conninfo(pg::required_text(fcinfo, 0, "conninfo")));
}
