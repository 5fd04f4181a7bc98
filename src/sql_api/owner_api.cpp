// SQL-callable functions for owners that go away (README, "When a role goes away").

#include <cstdint>

#include "catalog/owners.hpp"
#include "pg/args.hpp"
#include "pg/error_crossing.hpp"
#include "pg/spi.hpp"

using namespace reverse_etl;

REVERSE_ETL_FUNCTION(reverse_etl_reassign_owner) {
    int64_t moved = 0;
    {
        const pg::SpiConnection spi;
        moved = catalog::reassign_owner(pg::required_text(fcinfo, 0, "from_role"),
                                        pg::required_text(fcinfo, 1, "to_role"));
    }
    PG_RETURN_INT64(moved);
}

REVERSE_ETL_FUNCTION(reverse_etl_reassign_owner_oid) {
    int64_t moved = 0;
    {
        const pg::SpiConnection spi;
        moved = catalog::reassign_owner(pg::required_oid(fcinfo, 0, "from_role"),
                                        pg::required_text(fcinfo, 1, "to_role"));
    }
    PG_RETURN_INT64(moved);
}
