#include "pg/srf.hpp"

extern "C" {
#include "utils/tuplestore.h"
}

namespace reverse_etl::pg {

MaterializedRows::MaterializedRows(FunctionCallInfo fcinfo)
    : rsinfo_(reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo)) {
    // The expected descriptor serves scalar (SETOF jsonb) and composite results alike.
    pg_guard([&] { InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC); });
}

void MaterializedRows::add(Datum *values, bool *nulls) {
    pg_guard([&] { tuplestore_putvalues(rsinfo_->setResult, rsinfo_->setDesc, values, nulls); });
}

}  // namespace reverse_etl::pg
