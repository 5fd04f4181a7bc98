// Pacing requests to a destination's declared request rate (SPEC section 3:
// rate limits declared per action, honoured per destination across runs).
//
// The arithmetic is GCRA, the generic cell rate algorithm: a limiter is one
// number, the "theoretical arrival time" (TAT) of the next request if
// requests went exactly at the declared rate. A request may go when it is
// no more than the burst tolerance ahead of that time. One number per
// limiter is what lets a fixed-size table in shared memory hold every
// destination's limiter (pg/shared_rate_limits.hpp), and a limiter whose TAT
// has passed is the same as a new one, so its slot can be reused.
//
// Times are nanoseconds of one monotonic clock (steady_clock: on Linux
// CLOCK_MONOTONIC, the same in every process of the machine). Pure code: the
// caller passes the time in, so tests pin every decision down.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace reverse_etl::http {

// At most `requests` requests per `per_ms` milliseconds, of which `burst` may
// go at once after a quiet spell (1: evenly spaced). requests == 0: no
// declared limit; the limiter then only keeps holds (see gcra_hold).
struct RateLimit {
    int64_t requests = 0;
    int64_t per_ms = 1000;
    int64_t burst = 1;
};

inline bool operator==(const RateLimit &a, const RateLimit &b) {
    return a.requests == b.requests && a.per_ms == b.per_ms && a.burst == b.burst;
}

// A limit of `requests` per `per_ms` declared without a burst, as paced:
// when requests are under 100 ms apart, a small burst B (1% of the requests,
// at least 2) over a steady rate of requests - B + 1 per window. Any window of `per_ms` still
// holds at most `requests`; the burst is what lets a run that woke up late
// (the poll's millisecond rounding, the scheduler) send its next request at
// once instead of losing that slot: evenly spaced at the full rate, a 1 ms
// interval became ~2 ms in practice.
RateLimit with_catch_up(int64_t requests, int64_t per_ms);

// The spacing of requests at the declared rate, rounded up (never faster
// than declared); 0 without a limit.
int64_t emission_interval_ns(const RateLimit &limit);

struct Admission {
    bool allowed = false;
    int64_t retry_at_ns = 0;  // when not allowed: the earliest time it may be
};

// One request at `now_ns` against the limiter state `tat_ns`: allowed (and
// `tat_ns` advanced by one emission interval), or not (state unchanged) with
// the time to ask again.
Admission gcra_admit(int64_t &tat_ns, int64_t now_ns, const RateLimit &limit);

// The destination said no request before `until_ns` (its window is used
// up): the first request after it goes at `until_ns`, the next ones at the
// declared rate, without a burst.
void gcra_hold(int64_t &tat_ns, int64_t until_ns, const RateLimit &limit);

// True when the state says nothing a new limiter would not: its TAT has
// passed, so any request now is judged as by a fresh limiter.
inline bool gcra_idle(int64_t tat_ns, int64_t now_ns) { return tat_ns <= now_ns; }

// What the HTTP client asks before each attempt it starts (retries
// included), and tells when a destination announces its limit is used up.
// Implementations: LocalPacer (this run only) and the engine's shared pacer.
class RequestPacer {
  public:
    using Clock = std::chrono::steady_clock;
    virtual ~RequestPacer() = default;
    // Takes the right to send one request now, or says when to ask again.
    virtual std::optional<Clock::time_point> admit(Clock::time_point now) = 0;
    // No request before `until`.
    virtual void hold(Clock::time_point until) = 0;
};

int64_t steady_ns(RequestPacer::Clock::time_point time);
RequestPacer::Clock::time_point steady_time(int64_t ns);

// A limiter this process alone uses: a run's own pacing when no shared one
// is available (library not preloaded, shared table full).
class LocalPacer final : public RequestPacer {
  public:
    explicit LocalPacer(RateLimit limit) : limit_(limit) {}
    std::optional<Clock::time_point> admit(Clock::time_point now) override;
    void hold(Clock::time_point until) override;

  private:
    RateLimit limit_;
    int64_t tat_ns_ = INT64_MIN;
};

}  // namespace reverse_etl::http
