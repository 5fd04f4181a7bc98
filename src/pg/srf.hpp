// Set-returning functions in materialize mode: rows go into the tuplestore
// PostgreSQL set up for the call, which copies them into its own memory.
#pragma once

#include "pg/error_crossing.hpp"

namespace reverse_etl::pg {

class MaterializedRows {
  public:
    explicit MaterializedRows(FunctionCallInfo fcinfo);
    // One row: as many values and null flags as the result has columns.
    void add(Datum *values, bool *nulls);

  private:
    ReturnSetInfo *rsinfo_;
};

}  // namespace reverse_etl::pg
