// Library entry: the module magic and _PG_init.
#include "pg/postgres_headers.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_init(void) {
    // Settings and the launcher worker are registered here by later parts.
}
}
