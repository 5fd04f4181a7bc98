// The extension's settings (reverse_etl.*), read from C++ without PostgreSQL
// headers. Defined in _PG_init (src/sql_api/module.cpp).
#pragma once

#include <string>

namespace reverse_etl::pg {

void define_settings();

int max_concurrent_requests();
bool adaptive_concurrency();
long request_timeout_ms();
int max_request_attempts();
std::string allowed_hosts();
std::string blocked_networks();
std::string history_retention();  // interval text, as checked when set (pg/history_retention.hpp)
std::string launcher_database();
int max_parallel_syncs();
int naptime_ms();
// reverse_etl.live_max_backlog: changed records an incremental live mapping
// may have waiting before it falls back to a full diff.
int live_max_backlog();
int give_up_after_seconds();   // 0: never give up

// Whether the session gave the setting its value (SET, or the connection's
// options), rather than the server, the database or the role. Needs SPI.
bool set_in_session(const std::string &name);

}  // namespace reverse_etl::pg
