// Library entry: the module magic and _PG_init.
#include "http/http_client.hpp"
#include "pg/guc.hpp"
#include "pg/postgres_headers.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_init(void) {
    reverse_etl::pg::define_settings();
    // libcurl's global state, once per process, before any thread could exist.
    try {
        reverse_etl::http::http_global_init();
    } catch (...) {
        elog(WARNING, "reverse_etl: libcurl could not be initialised; syncs will fail");
    }
}
}
