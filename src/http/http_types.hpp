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
    // Headers made again just before each attempt starts, the first one
    // included, each replacing the request's header of that name: a signature
    // over the time of sending (Standard Webhooks' receivers refuse one more
    // than 5 minutes old, and a retry can come long after the request was
    // built). Empty: the headers are the same for every attempt.
    std::function<Headers(const HttpRequest &)> attempt_headers;
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
// Sets header `name` to `value`: the existing one of that name (any case)
// keeps its place, else it is appended.
void replace_header(Headers &headers, std::string name, std::string value);

}  // namespace reverse_etl::http
