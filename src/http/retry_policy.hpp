// Which failed requests are tried again, and how long each waits first (SPEC
// section 6): exponential backoff with full jitter, honouring Retry-After.
// Pure functions: the random number and the clock reading are parameters, so a
// test pins every delay down.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "http/http_types.hpp"

namespace reverse_etl::http {

struct BackoffSettings {
    int64_t base_ms = 1000;              // ceiling of the delay after the first failure
    int64_t cap_ms = 60000;              // the ceiling stops doubling here
    int64_t max_retry_after_ms = 600000; // a server's Retry-After is obeyed up to this
};

// Network errors and timeouts (status 0), 408, 429 and 5xx: the same request
// may well succeed later. Everything else (2xx, 3xx, other 4xx, and a
// connection refused by reverse_etl.blocked_networks) is final.
bool is_retryable(const HttpResponse &response);

// The response's Retry-After, delta-seconds or an HTTP-date, as milliseconds
// from `now` (a date in the past gives 0), at most `cap_ms`. nullopt when the
// header is absent or unreadable.
std::optional<int64_t> retry_after_ms(const HttpResponse &response,
                                      std::chrono::system_clock::time_point now, int64_t cap_ms);

// The vendor rate-limit reset (Braze, Intercom, Segment, HubSpot:
// X-RateLimit-Reset; the IETF draft: RateLimit-Reset) as milliseconds from
// `now`: the header gives seconds until the window resets or, as some vendors
// send it, the Unix time it resets at (a value past 2001-09-09, which no
// window lasts). nullopt when absent or unreadable. Not capped.
std::optional<int64_t> rate_limit_reset_ms(const HttpResponse &response, std::chrono::system_clock::time_point now);

// How long to wait before the next attempt, after attempt number `attempt`
// (1-based) failed with `response`: the server's Retry-After when it gives a
// readable one, else a uniformly random delay in
// [0, min(cap_ms, base_ms * 2^(attempt-1))] drawn from `random` ("full jitter",
// which spreads out clients that failed together).
int64_t retry_delay_ms(int attempt, const HttpResponse &response, uint64_t random,
                       const BackoffSettings &settings = {},
                       std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace reverse_etl::http
