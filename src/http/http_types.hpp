// Plain HTTP request/response values shared by the client, the request
// builders and the engine. No libcurl or PostgreSQL types here.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace reverse_etl::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse;

struct HttpRequest {
    std::string method = "POST";
    std::string url;
    Headers headers;
    std::string body;
    // Answers retried with backoff like a 429 though their status is final
    // (a definition's "retry" answers: Salesforce's 403 for too many
    // concurrent requests). Empty: the status alone decides (is_retryable).
    std::function<bool(const HttpResponse &)> retry_also;
};

struct HttpResponse {
    long status = 0;             // 0 when no response arrived (see transport_error)
    Headers headers;             // names as received
    std::string body;            // as received, up to ClientOptions::max_response_body_bytes
    std::string transport_error; // "timeout (libcurl: ...)": see describe_failure; empty otherwise
    double duration_ms = 0;      // of the last attempt
    // Set (with status 0) when no connection was opened because every address
    // tried is in reverse_etl.blocked_networks: Error 42501 naming the host
    // and the address. This server's own policy, not the destination's
    // answer: never retried.
    std::optional<Error> refused;
};

// Case-insensitive header lookup; nullptr when absent.
const std::string *find_header(const Headers &headers, const std::string &name);

}  // namespace reverse_etl::http
