#include "engine/client_settings.hpp"

#include "pg/guc.hpp"
#include "pg/transaction.hpp"

namespace reverse_etl::engine {

namespace {

std::vector<std::string> split_patterns(const std::string &setting) {
    std::vector<std::string> patterns;
    std::string current;
    for (const char c : setting + ",") {
        if (c != ',') {
            current += c;
            continue;
        }
        if (current.find_first_not_of(" \t") != std::string::npos)
            patterns.push_back(current);
        current.clear();
    }
    return patterns;
}

}  // namespace

http::ClientOptions client_options_from_settings() {
    http::ClientOptions options;
    options.max_concurrent = pg::max_concurrent_requests();
    options.request_timeout_ms = pg::request_timeout_ms();
    options.max_attempts = pg::max_request_attempts();
    options.allowed_hosts = split_patterns(pg::allowed_hosts());
    options.blocked_networks = split_patterns(pg::blocked_networks());
    options.should_stop = [] { return pg::cancel_requested() || pg::termination_requested(); };
    return options;
}

}  // namespace reverse_etl::engine
