#include "http/concurrency_limit.hpp"

#include <algorithm>
#include <cmath>

namespace reverse_etl::http {
namespace {

// Latency is smoothed as TCP smooths its round-trip time (RFC 6298: 1/8).
constexpr double kSmoothing = 0.125;
// Answers taken before the latency counts as known.
constexpr int64_t kWarmUpAnswers = 8;
// Latency "stays flat" while it is within this of the least seen: a
// destination's latency wanders (50 to 200 ms for many APIs) without queueing,
// and a local one's is mostly how soon the run gets round to reading it.
constexpr double kFlatFactor = 1.5;
constexpr double kFlatSlackMs = 5.0;
// The (smoothed) share of its time the run must spend waiting for answers
// with every slot busy for the limit to grow.
constexpr double kWaitingShare = 0.5;
constexpr double kWaitingMemorySeconds = 1.0;

}  // namespace

ConcurrencyLimit::ConcurrencyLimit(int initial, int maximum, bool adaptive)
    : maximum_(std::max(1, maximum)), adaptive_(adaptive),
      window_(adaptive ? std::clamp(initial, 1, std::max(1, maximum)) : std::max(1, maximum)),
      peak_(window_) {}

void ConcurrencyLimit::on_answer(Signal signal, double latency_ms, bool filled_limit, Clock::time_point started,
                                 Clock::time_point now) {
    if (!adaptive_)
        return;
    if (signal == Signal::Answered)
        return on_prompt_answer(latency_ms, filled_limit, now);
    // Requests sent before the last cut were sent at the old limit: their
    // overload answers are the same event, not a new one.
    if (decreases_ > 0 && started < last_decrease_)
        return;
    window_ = std::max(1, window_ / 2);
    slow_start_ = false;
    answers_since_growth_ = 0;
    last_decrease_ = now;
    decreases_++;
}

void ConcurrencyLimit::on_wait(Clock::duration waited, bool slots_full) {
    if (adaptive_ && slots_full)
        waited_full_ += waited;
}

void ConcurrencyLimit::on_prompt_answer(double latency_ms, bool filled_limit, Clock::time_point now) {
    note_waiting_share(now);
    ++answers_;
    // The warm-up's plain mean: an average that started from the first
    // answer alone would keep its luck (or bad luck) for a while.
    const double weight = answers_ <= kWarmUpAnswers ? 1.0 / static_cast<double>(answers_) : kSmoothing;
    smoothed_ms_ += weight * (latency_ms - smoothed_ms_);
    if (answers_ < kWarmUpAnswers)
        return;
    baseline_ms_ = answers_ == kWarmUpAnswers ? smoothed_ms_ : std::min(baseline_ms_, smoothed_ms_);
    if (!latency_is_flat()) {
        slow_start_ = false;  // queueing: from now on, grow a round trip at a time
        return;
    }
    // Only a limit that was reached was tested: every slot was busy.
    if (!filled_limit)
        return;
    if (!mostly_waiting())
        return;
    if (!slow_start_ && ++answers_since_growth_ < window_)
        return;
    answers_since_growth_ = 0;
    window_ = std::min(maximum_, window_ + 1);
    peak_ = std::max(peak_, window_);
}

// Weighted by time, not by answer: the answers one poll takes share the wait
// before the first of them.
void ConcurrencyLimit::note_waiting_share(Clock::time_point now) {
    if (last_answer_at_ != Clock::time_point{} && now > last_answer_at_) {
        const double elapsed = std::chrono::duration<double>(now - last_answer_at_).count();
        const double waited = std::min(elapsed, std::chrono::duration<double>(waited_full_).count());
        const double keep = std::exp(-elapsed / kWaitingMemorySeconds);
        waited_full_s_ = waited_full_s_ * keep + waited;
        elapsed_s_ = elapsed_s_ * keep + elapsed;
    }
    waited_full_ = Clock::duration::zero();
    if (now > last_answer_at_)
        last_answer_at_ = now;
}

bool ConcurrencyLimit::mostly_waiting() const {
    return elapsed_s_ > 0 && waited_full_s_ >= kWaitingShare * elapsed_s_;
}

bool ConcurrencyLimit::latency_is_flat() const { return smoothed_ms_ <= baseline_ms_ * kFlatFactor + kFlatSlackMs; }

}  // namespace reverse_etl::http
