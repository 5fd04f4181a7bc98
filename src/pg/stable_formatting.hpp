// Pins the settings that change how values print (time zone, date style,
// interval style, float digits) for the duration of a scope. Record hashes
// are computed over printed values and payloads carry them, so a run in the
// worker and a preview in a user's session must print values identically.
#pragma once

#include "pg/scoped_settings.hpp"

namespace reverse_etl::pg {

// The same settings for the rest of the session (a sync worker's). Raises
// PostgreSQL errors as PostgreSQL does (longjmp), owning no C++ object: call
// it from C code, such as a worker's main function.
void pin_formatting_for_session();

class StableFormatting {
  public:
    StableFormatting();

  private:
    ScopedSettings settings_;
};

}  // namespace reverse_etl::pg
