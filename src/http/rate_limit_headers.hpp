// What a destination's answer says about its rate limits, beyond what the
// retry policy reads for the request that failed (http/retry_policy.hpp):
// these notices concern every later request to the destination, from this
// run and from others (engine/request_pacing.hpp feeds them to the shared
// limiter). Pure functions: the clock reading is a parameter.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "http/http_types.hpp"

namespace reverse_etl::http {

struct RateLimitNotice {
    // No request to the destination for this long: a 429/503 with
    // Retry-After (or a 429's X-RateLimit-Reset), or any answer announcing
    // X-RateLimit-Remaining: 0 (or RateLimit-Remaining: 0) with a reset time
    // (HubSpot, Intercom, Braze). Capped like Retry-After.
    std::optional<int64_t> pause_ms;
    // The destination's daily allowance is used up (Salesforce's
    // Sforce-Limit-Info: api-usage=N/M with N >= M): waiting would last
    // hours, so the run fails with this message instead.
    std::optional<std::string> exhausted;
};

// `retryable`: the answer is retried though its status is final
// (HttpRequest::retry_also), so its Retry-After counts as a 429's.
RateLimitNotice read_rate_limit_notice(const HttpResponse &response, std::chrono::system_clock::time_point now,
                                       int64_t cap_ms, bool retryable = false);

}  // namespace reverse_etl::http
