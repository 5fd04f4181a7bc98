// SQL entry points of the dbt integration: import_dbt_manifest (models from a
// dbt manifest) and notify_dbt_run (dbt's on-run-end hook queues the runs of
// the mappings whose models it built).
#include <string>
#include <vector>

#include "catalog/dbt_import.hpp"
#include "engine/scheduler.hpp"
#include "pg/args.hpp"
#include "pg/error_crossing.hpp"
#include "pg/launcher_signal.hpp"
#include "pg/spi.hpp"
#include "pg/srf.hpp"

using namespace reverse_etl;

REVERSE_ETL_FUNCTION(reverse_etl_import_dbt_manifest) {
    const std::string manifest = pg::required_jsonb_text(fcinfo, 0, "manifest");
    const std::string source = pg::required_text(fcinfo, 1, "source");
    const pg::SpiConnection spi;
    pg::MaterializedRows result(fcinfo);
    for (const catalog::DbtImportResult &row : catalog::import_dbt_manifest(manifest, source)) {
        Datum values[2] = {pg::text_datum(row.model), pg::text_datum(row.action)};
        bool nulls[2] = {false, false};
        result.add(values, nulls);
    }
    return static_cast<Datum>(0);
}

REVERSE_ETL_FUNCTION(reverse_etl_notify_dbt_run) {
    // NULL elements name no node: left out.
    std::optional<std::vector<std::string>> unique_ids;
    if (const auto models = pg::optional_text_array(fcinfo, 0)) {
        unique_ids.emplace();
        for (const auto &model : *models)
            if (model)
                unique_ids->push_back(*model);
    }
    int64_t queued = 0;
    {
        const pg::SpiConnection spi;
        queued = engine::queue_dbt_runs(unique_ids);
        if (queued > 0)
            pg::wake_launcher_at_commit();
    }
    PG_RETURN_INT32(static_cast<int32>(queued));
}
