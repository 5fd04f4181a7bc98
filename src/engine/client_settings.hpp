// HTTP client options from the reverse_etl.* settings of this session.
#pragma once

#include "http/http_client.hpp"

namespace reverse_etl::engine {

// Concurrency, timeouts, attempts, allowed hosts and blocked networks from
// the settings; the client stops when this process is asked to cancel or
// terminate.
http::ClientOptions client_options_from_settings();

}  // namespace reverse_etl::engine
