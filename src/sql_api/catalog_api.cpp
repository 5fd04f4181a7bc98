// SQL entry points of the catalog API (models, destinations, mappings). Each
// reads its arguments, opens SPI, calls the C++ catalog code and converts the
// result; the Datum it returns is built after SPI is closed, in the caller's
// memory context.
#include <string>

#include "catalog/destinations.hpp"
#include "catalog/mappings.hpp"
#include "catalog/models.hpp"
#include "pg/args.hpp"
#include "pg/error_crossing.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"
#include "pg/time_support.hpp"

using namespace reverse_etl;

namespace {

void return_json_rows(FunctionCallInfo fcinfo, const std::vector<std::string> &rows) {
    pg::MaterializedRows result(fcinfo);
    for (const std::string &row : rows) {
        Datum value = pg::jsonb_datum(row);
        bool is_null = false;
        result.add(&value, &is_null);
    }
}

}  // namespace

// Models ---------------------------------------------------------------------

REVERSE_ETL_FUNCTION(reverse_etl_create_model) {
    const pg::SpiConnection spi;
    catalog::create_model(pg::required_text(fcinfo, 0, "name"), pg::required_text(fcinfo, 1, "query"),
                          pg::required_text(fcinfo, 2, "primary_key"), pg::required_text(fcinfo, 3, "source"),
                          pg::optional_text(fcinfo, 4));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_alter_model) {
    const pg::SpiConnection spi;
    catalog::alter_model(pg::required_text(fcinfo, 0, "name"), pg::optional_text(fcinfo, 1),
                         pg::optional_text(fcinfo, 2), pg::optional_text(fcinfo, 3), pg::optional_text(fcinfo, 4));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_drop_model) {
    const pg::SpiConnection spi;
    catalog::drop_model(pg::required_text(fcinfo, 0, "name"), pg::required_bool(fcinfo, 1, "cascade"));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_preview_model) {
    const std::string name = pg::required_text(fcinfo, 0, "name");
    const int row_limit = pg::required_int32(fcinfo, 1, "row_limit");
    const pg::SpiConnection spi;
    return_json_rows(fcinfo, catalog::preview_model(name, row_limit));
    return static_cast<Datum>(0);
}

REVERSE_ETL_FUNCTION(reverse_etl_preview_query) {
    const std::string query = pg::required_text(fcinfo, 0, "query");
    const auto primary_key = pg::optional_text(fcinfo, 1);
    const int row_limit = pg::required_int32(fcinfo, 2, "row_limit");
    const std::string source = pg::required_text(fcinfo, 3, "source");
    const pg::SpiConnection spi;
    return_json_rows(fcinfo, catalog::preview_query(query, primary_key, row_limit, source));
    return static_cast<Datum>(0);
}

// Destinations ---------------------------------------------------------------

REVERSE_ETL_FUNCTION(reverse_etl_create_destination) {
    const pg::SpiConnection spi;
    catalog::create_destination(pg::required_text(fcinfo, 0, "name"), pg::required_text(fcinfo, 1, "type"),
                                pg::required_jsonb_text(fcinfo, 2, "settings"),
                                pg::required_bool(fcinfo, 3, "enabled"));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_alter_destination) {
    const pg::SpiConnection spi;
    catalog::alter_destination(pg::required_text(fcinfo, 0, "name"), pg::optional_jsonb_text(fcinfo, 1),
                               pg::optional_text(fcinfo, 2));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_enable_destination) {
    const pg::SpiConnection spi;
    catalog::set_destination_enabled(pg::required_text(fcinfo, 0, "name"), true);
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_disable_destination) {
    const pg::SpiConnection spi;
    catalog::set_destination_enabled(pg::required_text(fcinfo, 0, "name"), false);
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_drop_destination) {
    const pg::SpiConnection spi;
    catalog::drop_destination(pg::required_text(fcinfo, 0, "name"), pg::required_bool(fcinfo, 1, "cascade"));
    PG_RETURN_VOID();
}

REVERSE_ETL_VIEW_FUNCTION(reverse_etl_mask_settings) {
    std::string masked;
    {
        const pg::SpiConnection spi;
        masked = catalog::masked_settings(pg::required_text(fcinfo, 0, "type"),
                                          pg::required_jsonb_text(fcinfo, 1, "settings"));
    }
    return pg::jsonb_datum(masked);
}

// Mappings -------------------------------------------------------------------

REVERSE_ETL_FUNCTION(reverse_etl_create_mapping) {
    catalog::MappingDefinition definition;
    definition.model = pg::required_text(fcinfo, 0, "model");
    definition.destination = pg::required_text(fcinfo, 1, "destination");
    definition.action = pg::required_text(fcinfo, 2, "action");
    definition.fields_json = pg::required_jsonb_text(fcinfo, 3, "fields");
    definition.sync_mode = pg::optional_text(fcinfo, 4);
    definition.schedule = pg::required_text(fcinfo, 5, "schedule");
    definition.name = pg::optional_text(fcinfo, 6);
    definition.filter = pg::optional_text(fcinfo, 7);
    definition.timezone = pg::required_text(fcinfo, 8, "timezone");
    definition.enabled = pg::required_bool(fcinfo, 9, "enabled");
    definition.action_settings_json = pg::required_jsonb_text(fcinfo, 10, "action_settings");
    definition.retry_failed_records = pg::required_bool(fcinfo, 11, "retry_failed_records");
    std::string name;
    {
        const pg::SpiConnection spi;
        name = catalog::create_mapping(definition);
    }
    return pg::text_datum(name);
}

REVERSE_ETL_FUNCTION(reverse_etl_alter_mapping) {
    catalog::MappingChanges changes;
    const std::string name = pg::required_text(fcinfo, 0, "name");
    changes.fields_json = pg::optional_jsonb_text(fcinfo, 1);
    changes.sync_mode = pg::optional_text(fcinfo, 2);
    changes.schedule = pg::optional_text(fcinfo, 3);
    changes.filter = pg::optional_text(fcinfo, 4);
    changes.timezone = pg::optional_text(fcinfo, 5);
    changes.new_name = pg::optional_text(fcinfo, 6);
    changes.action_settings_json = pg::optional_jsonb_text(fcinfo, 7);
    changes.retry_failed_records = pg::optional_bool(fcinfo, 8);
    const pg::SpiConnection spi;
    catalog::alter_mapping(name, changes);
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_enable_mapping) {
    const pg::SpiConnection spi;
    catalog::set_mapping_enabled(pg::required_text(fcinfo, 0, "name"), true);
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_disable_mapping) {
    const pg::SpiConnection spi;
    catalog::set_mapping_enabled(pg::required_text(fcinfo, 0, "name"), false);
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_duplicate_mapping) {
    std::string copy_name;
    {
        const pg::SpiConnection spi;
        copy_name = catalog::duplicate_mapping(pg::required_text(fcinfo, 0, "name"), pg::optional_text(fcinfo, 1));
    }
    return pg::text_datum(copy_name);
}

REVERSE_ETL_FUNCTION(reverse_etl_drop_mapping) {
    const pg::SpiConnection spi;
    catalog::drop_mapping(pg::required_text(fcinfo, 0, "name"));
    PG_RETURN_VOID();
}

REVERSE_ETL_FUNCTION(reverse_etl_suggest_mappings) {
    const std::string model = pg::required_text(fcinfo, 0, "model");
    const std::string destination = pg::required_text(fcinfo, 1, "destination");
    const std::string action = pg::required_text(fcinfo, 2, "action");
    const pg::SpiConnection spi;
    pg::MaterializedRows result(fcinfo);
    for (const catalog::ColumnSuggestion &suggestion : catalog::suggest_mappings(model, destination, action)) {
        Datum values[3] = {pg::text_datum(suggestion.field), pg::text_datum(suggestion.column),
                           Float4GetDatum(static_cast<float4>(suggestion.score))};
        bool nulls[3] = {false, false, false};
        result.add(values, nulls);
    }
    return static_cast<Datum>(0);
}

REVERSE_ETL_FUNCTION(reverse_etl_next_run_times) {
    const std::string schedule = pg::required_text(fcinfo, 0, "schedule");
    const std::string timezone = pg::required_text(fcinfo, 1, "timezone");
    if (PG_ARGISNULL(2))
        throw Error(sqlstate::kNullValueNotAllowed, "after must not be null");
    const int64_t after = PG_GETARG_TIMESTAMPTZ(2);
    const int count = pg::required_int32(fcinfo, 3, "count");
    const pg::SpiConnection spi;
    pg::MaterializedRows result(fcinfo);
    for (const int64_t time : catalog::next_run_times(schedule, timezone, after, count)) {
        Datum value = TimestampTzGetDatum(time);
        bool is_null = false;
        result.add(&value, &is_null);
    }
    return static_cast<Datum>(0);
}
