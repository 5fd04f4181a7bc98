// How many requests a run keeps in flight to one destination (SPEC section 6,
// reverse_etl.max_concurrent_requests and reverse_etl.adaptive_concurrency).
//
// A fixed number is wrong for most destinations: too few for one that takes
// 200 ms an answer and would take many more at once, too many for one that
// answers 429 when pushed. The limit here adapts as TCP's congestion window
// does (AIMD):
//   - slow start: from the initial limit, one more slot for each answer that
//     came back promptly while every slot was busy (the limit doubles each
//     round trip) until the first sign of overload or of queueing;
//   - then additive increase: one more slot per limit's worth of such answers
//     (one a round trip);
//   - no growth while the answers' latency rises above what it was at a lower
//     limit (the destination is queueing our requests: more in flight would
//     only wait longer), nor while the run sends fewer than the limit (paced
//     by a rate limit, or nothing to send: the limit would grow untested),
//     nor while the run is the bottleneck rather than the destination: it
//     grows only while the run spends most of its time between answers
//     waiting for them with every slot busy (a destination that answers at
//     once leaves a run busy building requests; more of them in flight would
//     only hold more memory);
//   - multiplicative decrease: an overload answer (429, 408, 5xx, a timeout or
//     a lost connection, a vendor's "too many concurrent requests") halves the
//     limit, once per round trip: the answers to requests sent before the cut
//     say nothing about the new limit.
// It never leaves [1, maximum]. Pure arithmetic on times the caller passes, so
// tests pin every decision down.
#pragma once

#include <chrono>
#include <cstdint>

namespace reverse_etl::http {

class ConcurrencyLimit {
  public:
    using Clock = std::chrono::steady_clock;

    // `adaptive` false: always `maximum` (the limit of older releases).
    // Otherwise it starts at min(initial, maximum). Both at least 1.
    ConcurrencyLimit(int initial, int maximum, bool adaptive);

    // Requests that may be in flight now.
    int current() const { return window_; }
    int peak() const { return peak_; }
    int decreases() const { return decreases_; }

    // What an attempt's answer says of the destination's load.
    enum class Signal {
        Answered,    // an answer (2xx to 4xx) that is no overload
        Overloaded,  // 429, 408, 5xx, timeout, connection lost or refused, a vendor's "busy"
    };

    // One attempt ended at `now`: it started at `started`, taking the last
    // slot the limit allowed then if `filled_limit`, and took `latency_ms`.
    void on_answer(Signal signal, double latency_ms, bool filled_limit, Clock::time_point started,
                   Clock::time_point now);

    // The run waited `waited` for answers, with every slot busy if `slots_full`.
    void on_wait(Clock::duration waited, bool slots_full);

  private:
    void on_prompt_answer(double latency_ms, bool filled_limit, Clock::time_point now);
    void note_waiting_share(Clock::time_point now);
    bool mostly_waiting() const;
    bool latency_is_flat() const;

    const int maximum_;
    const bool adaptive_;
    int window_;
    bool slow_start_ = true;
    int answers_since_growth_ = 0;  // after slow start: one slot more per window_ of them
    // Latency, smoothed over the last answers (their mean while warming up),
    // and the least it has been since (the destination's latency when it is
    // not queueing our requests).
    double smoothed_ms_ = 0;
    double baseline_ms_ = 0;
    int64_t answers_ = 0;
    Clock::time_point last_decrease_{};
    // How long the run waited for answers with every slot busy, and how much
    // time passed, both decaying (the last second or so counts most); their
    // ratio is the share of its time the run spends waiting on the destination.
    double waited_full_s_ = 0;
    double elapsed_s_ = 0;
    Clock::time_point last_answer_at_{};
    Clock::duration waited_full_{};
    int peak_;
    int decreases_ = 0;
};

}  // namespace reverse_etl::http
