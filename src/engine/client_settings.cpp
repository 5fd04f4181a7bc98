#include "engine/client_settings.hpp"

#include "common/setting_list.hpp"
#include "pg/guc.hpp"
#include "pg/transaction.hpp"

namespace reverse_etl::engine {

http::ClientOptions client_options_from_settings() {
    http::ClientOptions options;
    options.max_concurrent = pg::max_concurrent_requests();
    options.request_timeout_ms = pg::request_timeout_ms();
    options.max_attempts = pg::max_request_attempts();
    options.allowed_hosts = split_setting_list(pg::allowed_hosts());
    options.blocked_networks = split_setting_list(pg::blocked_networks());
    options.should_stop = [] { return pg::cancel_requested() || pg::termination_requested(); };
    return options;
}

}  // namespace reverse_etl::engine
