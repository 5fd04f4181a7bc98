// SQL-callable functions of alert rules (README, "Alerts").

#include "catalog/alerts.hpp"
#include "pg/args.hpp"
#include "pg/error_crossing.hpp"
#include "pg/spi.hpp"

using namespace reverse_etl;

REVERSE_ETL_FUNCTION(reverse_etl_create_alert) {
    catalog::AlertDefinition definition;
    definition.name = pg::required_text(fcinfo, 0, "name");
    definition.mapping = pg::required_text(fcinfo, 1, "mapping");
    definition.destination = pg::required_text(fcinfo, 2, "destination");
    definition.failures = pg::optional_value_text(fcinfo, 3);
    definition.rejected_share = pg::optional_value_text(fcinfo, 4);
    definition.remind_every = pg::optional_value_text(fcinfo, 5);
    const pg::SpiConnection spi;
    catalog::create_alert(definition);
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_drop_alert) {
    const std::string name = pg::required_text(fcinfo, 0, "name");
    const pg::SpiConnection spi;
    catalog::drop_alert(name);
    PG_RETURN_VOID();
}
