#include "http/rate_limiter.hpp"

#include <algorithm>

namespace reverse_etl::http {

int64_t emission_interval_ns(const RateLimit &limit) {
    if (limit.requests <= 0 || limit.per_ms <= 0)
        return 0;
    // per_ms is bounded by the definition reader (a day at most), so the
    // product fits easily in 64 bits.
    const int64_t per_ns = limit.per_ms * 1000000;
    return (per_ns + limit.requests - 1) / limit.requests;
}

RateLimit with_catch_up(int64_t requests, int64_t per_ms) {
    // Spaced 100 ms or more, a late wakeup costs under 1%.
    if (requests < 3 || per_ms >= 100 * requests)
        return RateLimit{requests, per_ms, 1};
    const int64_t burst = std::max<int64_t>(2, requests / 100);
    return RateLimit{requests - burst + 1, per_ms, burst};
}

namespace {

// How far ahead of the steady rate a request may be: burst - 1 intervals.
int64_t tolerance_ns(const RateLimit &limit) {
    return emission_interval_ns(limit) * std::max<int64_t>(0, std::min(limit.burst, limit.requests) - 1);
}

}  // namespace

Admission gcra_admit(int64_t &tat_ns, int64_t now_ns, const RateLimit &limit) {
    const int64_t start = std::max(tat_ns, now_ns);
    const int64_t tolerance = tolerance_ns(limit);
    if (start - now_ns > tolerance)
        return Admission{false, start - tolerance};
    tat_ns = start + emission_interval_ns(limit);
    return Admission{true, now_ns};
}

void gcra_hold(int64_t &tat_ns, int64_t until_ns, const RateLimit &limit) {
    // With TAT = until + tolerance, the first request is allowed at `until`
    // exactly and leaves no burst behind it.
    tat_ns = std::max(tat_ns, until_ns + tolerance_ns(limit));
}

int64_t steady_ns(RequestPacer::Clock::time_point time) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

RequestPacer::Clock::time_point steady_time(int64_t ns) {
    return RequestPacer::Clock::time_point(
        std::chrono::duration_cast<RequestPacer::Clock::duration>(std::chrono::nanoseconds(ns)));
}

std::optional<RequestPacer::Clock::time_point> LocalPacer::admit(Clock::time_point now) {
    const Admission admission = gcra_admit(tat_ns_, steady_ns(now), limit_);
    if (admission.allowed)
        return std::nullopt;
    return steady_time(admission.retry_at_ns);
}

void LocalPacer::hold(Clock::time_point until) { gcra_hold(tat_ns_, steady_ns(until), limit_); }

}  // namespace reverse_etl::http
