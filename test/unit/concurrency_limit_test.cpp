// Adaptive concurrency (http/concurrency_limit): how the limit of requests in
// flight grows, holds and shrinks with the answers, on an injected clock.
#include <chrono>

#include <gtest/gtest.h>

#include "http/concurrency_limit.hpp"

namespace reverse_etl {
namespace {

using http::ConcurrencyLimit;
using Signal = ConcurrencyLimit::Signal;
using std::chrono::milliseconds;

const ConcurrencyLimit::Clock::time_point kStart{std::chrono::seconds(1000)};

// Answers `count` requests, one every `gap_ms` (the clock moves on by that
// much), each taking `latency_ms`, whose request took the last free slot if
// `filled_limit`; before each, the run waited `waited_ms` with every slot busy.
void answer_each(ConcurrencyLimit &limit, int count, int gap_ms, int waited_ms, double latency_ms, bool filled_limit,
                 ConcurrencyLimit::Clock::time_point &now) {
    for (int i = 0; i < count; i++) {
        const auto started = now;
        limit.on_wait(milliseconds(waited_ms), true);
        now += milliseconds(gap_ms);
        limit.on_answer(Signal::Answered, latency_ms, filled_limit, started, now);
    }
}

// Answers `count` requests that each took the last free slot and took
// `latency_ms`, which the run spent waiting for it with every slot busy (a
// destination that is the bottleneck).
void answer_busy(ConcurrencyLimit &limit, int count, double latency_ms, ConcurrencyLimit::Clock::time_point &now) {
    const int ms = static_cast<int>(latency_ms);
    answer_each(limit, count, ms, ms, latency_ms, true, now);
}

TEST(ConcurrencyLimit, FixedWhenNotAdaptive) {
    ConcurrencyLimit limit(8, 20, false);
    EXPECT_EQ(limit.current(), 20);
    auto now = kStart;
    answer_busy(limit, 100, 50, now);
    limit.on_answer(Signal::Overloaded, 5, true, now, now + milliseconds(5));
    EXPECT_EQ(limit.current(), 20);
    EXPECT_EQ(limit.decreases(), 0);
}

TEST(ConcurrencyLimit, StartsAtTheInitialLimitWithinTheMaximum) {
    EXPECT_EQ(ConcurrencyLimit(8, 64, true).current(), 8);
    EXPECT_EQ(ConcurrencyLimit(8, 2, true).current(), 2);
    EXPECT_EQ(ConcurrencyLimit(0, 64, true).current(), 1);
    EXPECT_EQ(ConcurrencyLimit(8, 0, true).current(), 1);
}

TEST(ConcurrencyLimit, SlowStartDoublesWhileLatencyStaysFlat) {
    ConcurrencyLimit limit(8, 64, true);
    auto now = kStart;
    answer_busy(limit, 7, 100, now);  // warming up: no change yet
    EXPECT_EQ(limit.current(), 8);
    answer_busy(limit, 1, 100, now);  // the 8th answer: +1
    EXPECT_EQ(limit.current(), 9);
    answer_busy(limit, 9, 100, now);  // a round trip's worth: +9
    EXPECT_EQ(limit.current(), 18);
    answer_busy(limit, 100, 100, now);
    EXPECT_EQ(limit.current(), 64);  // never above the maximum
    EXPECT_EQ(limit.peak(), 64);
}

TEST(ConcurrencyLimit, NoGrowthWhenTheLimitWasNotReached) {
    ConcurrencyLimit limit(8, 64, true);
    auto now = kStart;
    // Paced by a rate limit, or little to send: requests start with slots free.
    answer_each(limit, 100, 100, 0, 100, false, now);
    EXPECT_EQ(limit.current(), 8);
}

TEST(ConcurrencyLimit, NoGrowthWhenTheRunIsTheBottleneck) {
    ConcurrencyLimit limit(8, 64, true);
    auto now = kStart;
    // A destination that answers in 2 ms while the run takes 20 ms to build
    // the next requests: every slot was busy when each request left, but the
    // run hardly waited for answers. More in flight would only hold memory.
    answer_each(limit, 200, 20, 1, 2, true, now);
    EXPECT_LE(limit.current(), 9);   // at most the one growth of the first answers
    // Once the run waits on the destination (for the better part of a
    // second: the share is of the last second or so), it grows.
    answer_each(limit, 60, 20, 19, 2, true, now);
    EXPECT_GT(limit.current(), 12);
}

TEST(ConcurrencyLimit, RisingLatencyStopsGrowth) {
    ConcurrencyLimit limit(8, 64, true);
    auto now = kStart;
    answer_busy(limit, 12, 100, now);
    EXPECT_EQ(limit.current(), 13);
    // The destination queues: latency doubles. Once the smoothed latency
    // shows it (a few answers), the limit holds (no cut: no overload was
    // signalled) and slow start is over.
    answer_busy(limit, 5, 220, now);
    const int reached = limit.current();
    EXPECT_LT(reached, 13 + 5);
    answer_busy(limit, 200, 220, now);
    EXPECT_EQ(limit.current(), reached);
    EXPECT_EQ(limit.decreases(), 0);
    // Flat again: growth resumes, one slot a round trip (not one an answer).
    answer_busy(limit, 200, 100, now);
    const int after_recovery = limit.current();
    EXPECT_GT(after_recovery, reached);
    answer_busy(limit, after_recovery, 100, now);
    EXPECT_EQ(limit.current(), after_recovery + 1);
}

TEST(ConcurrencyLimit, LatencyThatWandersIsFlat) {
    ConcurrencyLimit limit(8, 64, true);
    auto now = kStart;
    // 50 to 200 ms at random is one destination's normal, not queueing.
    const double latencies[] = {50, 200, 125, 80, 170, 60, 190, 110, 140, 95};
    for (int i = 0; i < 300; i++)
        answer_each(limit, 1, 10, 10, latencies[i % 10], true, now);
    EXPECT_EQ(limit.current(), 64);
}

TEST(ConcurrencyLimit, ALuckyFirstAnswerSetsNoBaseline) {
    ConcurrencyLimit limit(8, 64, true);
    auto now = kStart;
    // The first answer came back in 10 ms, the usual is 100 ms: the latency
    // known after warming up is their mean, and 100 ms is flat against it.
    answer_busy(limit, 1, 10, now);
    answer_busy(limit, 40, 100, now);
    EXPECT_EQ(limit.current(), 8 + 41 - 7);
}

TEST(ConcurrencyLimit, OverloadHalvesOncePerRoundTrip) {
    ConcurrencyLimit limit(8, 64, true);
    auto now = kStart;
    answer_busy(limit, 39, 100, now);  // 7 to warm up, then one slot an answer
    EXPECT_EQ(limit.current(), 40);
    const auto sent_before = now - milliseconds(50);
    limit.on_answer(Signal::Overloaded, 10, true, sent_before, now);
    EXPECT_EQ(limit.current(), 20);
    // The other 429s of the same burst were sent before the cut: no new cut.
    for (int i = 0; i < 10; i++)
        limit.on_answer(Signal::Overloaded, 10, true, sent_before, now + milliseconds(i));
    EXPECT_EQ(limit.current(), 20);
    EXPECT_EQ(limit.decreases(), 1);
    // A request sent after the cut is overloaded too: halve again.
    now += milliseconds(100);
    limit.on_answer(Signal::Overloaded, 10, true, now - milliseconds(10), now);
    EXPECT_EQ(limit.current(), 10);
    EXPECT_EQ(limit.decreases(), 2);
}

TEST(ConcurrencyLimit, AfterACutGrowthIsAdditive) {
    ConcurrencyLimit limit(8, 64, true);
    auto now = kStart;
    answer_busy(limit, 23, 100, now);
    ASSERT_EQ(limit.current(), 24);
    limit.on_answer(Signal::Overloaded, 5, true, now - milliseconds(1), now);
    ASSERT_EQ(limit.current(), 12);
    answer_busy(limit, 12, 100, now);  // one round trip
    EXPECT_EQ(limit.current(), 13);
    answer_busy(limit, 13, 100, now);
    EXPECT_EQ(limit.current(), 14);
}

TEST(ConcurrencyLimit, NeverBelowOne) {
    ConcurrencyLimit limit(2, 64, true);
    auto now = kStart;
    for (int i = 0; i < 10; i++) {
        now += milliseconds(100);
        limit.on_answer(Signal::Overloaded, 30000, true, now - milliseconds(1), now);
    }
    EXPECT_EQ(limit.current(), 1);
    // And it recovers from there.
    answer_busy(limit, 30, 100, now);
    EXPECT_GT(limit.current(), 1);
}

}  // namespace
}  // namespace reverse_etl
