// http/retry_policy: which responses are retried, Retry-After in both forms,
// and the bounds of the exponential backoff with full jitter.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include <gtest/gtest.h>

#include "http/retry_policy.hpp"

namespace reverse_etl::http {
namespace {

using Clock = std::chrono::system_clock;

// 2015-10-21 07:28:00 UTC.
const Clock::time_point kNow = Clock::time_point(std::chrono::seconds(1445412480));

HttpResponse with_status(long status) {
    HttpResponse response;
    response.status = status;
    return response;
}

HttpResponse with_retry_after(const std::string &value, long status = 503) {
    HttpResponse response = with_status(status);
    response.headers = {{"Content-Type", "text/plain"}, {"retry-after", value}};
    return response;
}

std::optional<int64_t> retry_after(const std::string &value, int64_t cap_ms = 600000) {
    return retry_after_ms(with_retry_after(value), kNow, cap_ms);
}

TEST(RetryPolicy, RetryableResponses) {
    for (const long status : {0L, 408L, 429L, 500L, 502L, 503L, 504L, 599L})
        EXPECT_TRUE(is_retryable(with_status(status))) << status;
    for (const long status : {200L, 201L, 204L, 301L, 304L, 400L, 401L, 403L, 404L, 409L, 413L, 422L, 499L, 600L})
        EXPECT_FALSE(is_retryable(with_status(status))) << status;
    // Refused by reverse_etl.blocked_networks: the next attempt would be too.
    HttpResponse refused = with_status(0);
    refused.refused = Error("42501", "destination host \"127.0.0.1\" is in reverse_etl.blocked_networks");
    EXPECT_FALSE(is_retryable(refused));
}

TEST(RetryPolicy, RetryAfterDeltaSeconds) {
    EXPECT_EQ(retry_after_ms(with_status(503), kNow, 600000), std::nullopt);
    EXPECT_EQ(retry_after("120"), 120000);
    EXPECT_EQ(retry_after(" 5\t"), 5000);
    EXPECT_EQ(retry_after("0"), 0);
    EXPECT_EQ(retry_after("007"), 7000);
    // Capped, and huge values saturate instead of overflowing.
    EXPECT_EQ(retry_after("3600"), 600000);
    EXPECT_EQ(retry_after("9223372036854775"), 600000);
    EXPECT_EQ(retry_after("99999999999999999999999"), 600000);
    EXPECT_EQ(retry_after("120", 1000), 1000);
    EXPECT_EQ(retry_after("120", -5), 0);
}

TEST(RetryPolicy, RetryAfterHttpDates) {
    // The three forms RFC 9110 has recipients accept.
    EXPECT_EQ(retry_after("Wed, 21 Oct 2015 07:28:30 GMT"), 30000);
    EXPECT_EQ(retry_after("Wednesday, 21-Oct-15 07:29:00 GMT"), 60000);
    EXPECT_EQ(retry_after("Wed Oct 21 07:28:10 2015"), 10000);
    // In the past: retry now.
    EXPECT_EQ(retry_after("Tue, 20 Oct 2015 07:28:00 GMT"), 0);
    EXPECT_EQ(retry_after("Wed, 21 Oct 2015 09:28:00 GMT"), 600000);
}

TEST(RetryPolicy, VendorRateLimitResetOnA429) {
    const auto reset = [](const char *name, const std::string &value, long status = 429) {
        HttpResponse response = with_status(status);
        response.headers = {{name, value}};
        return retry_after_ms(response, kNow, 600000);
    };
    EXPECT_EQ(reset("X-RateLimit-Reset", "3"), 3000);             // seconds from now
    EXPECT_EQ(reset("x-ratelimit-reset", "1445412490"), 10000);   // the Unix time of the reset
    EXPECT_EQ(reset("X-RateLimit-Reset", "1445412400"), 0);       // already past
    EXPECT_EQ(reset("RateLimit-Reset", "7"), 7000);
    EXPECT_EQ(reset("X-RateLimit-Reset", "2000000000"), 600000);  // capped
    EXPECT_EQ(reset("X-RateLimit-Reset", "soon"), std::nullopt);
    EXPECT_EQ(reset("X-RateLimit-Reset", "3", 503), std::nullopt);  // only a 429 says it is the rate limit
    // Retry-After, when there, wins.
    HttpResponse both = with_retry_after("2", 429);
    both.headers.emplace_back("X-RateLimit-Reset", "30");
    EXPECT_EQ(retry_after_ms(both, kNow, 600000), 2000);
}

TEST(RetryPolicy, UnreadableRetryAfterIsIgnored) {
    for (const char *value : {"", "   ", "soon", "1.5", "-5", "+5", "5s", "0x10"})
        EXPECT_EQ(retry_after(value), std::nullopt) << '"' << value << '"';
}

TEST(RetryPolicy, BackoffDoublesFromBaseToCap) {
    const BackoffSettings settings;   // 1 s doubling up to 60 s
    const HttpResponse failed = with_status(503);
    const uint64_t top = UINT64_MAX;
    // random % (ceiling + 1): the largest delay of each attempt is its ceiling.
    const int64_t ceilings[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (int attempt = 1; attempt <= 8; ++attempt) {
        const int64_t ceiling = ceilings[attempt - 1];
        EXPECT_EQ(retry_delay_ms(attempt, failed, 0, settings, kNow), 0) << attempt;
        EXPECT_EQ(retry_delay_ms(attempt, failed, static_cast<uint64_t>(ceiling), settings, kNow), ceiling)
            << attempt;
        EXPECT_EQ(retry_delay_ms(attempt, failed, static_cast<uint64_t>(ceiling) + 1, settings, kNow), 0)
            << attempt;
        EXPECT_LE(retry_delay_ms(attempt, failed, top, settings, kNow), ceiling) << attempt;
    }
    // Attempts far beyond the doubling, and nonsense attempt numbers.
    EXPECT_EQ(retry_delay_ms(1000000, failed, 60000, settings, kNow), 60000);
    EXPECT_EQ(retry_delay_ms(0, failed, 1000, settings, kNow), 1000);
    EXPECT_EQ(retry_delay_ms(-3, failed, 1001, settings, kNow), 0);
}

TEST(RetryPolicy, BackoffStaysWithinBoundsForAnySettings) {
    std::mt19937_64 random(42);
    const HttpResponse failed = with_status(0);
    const BackoffSettings odd[] = {
        {1000, 60000, 600000}, {7, 100, 0}, {0, 60000, 1}, {5000, 1000, 1}, {-5, 100, 1},
        {INT64_MAX / 2 + 1, INT64_MAX, 1}, {1, INT64_MAX, 1}, {100, -1, 1}};
    for (const BackoffSettings &settings : odd) {
        for (int attempt = 1; attempt <= 80; ++attempt) {
            const int64_t delay = retry_delay_ms(attempt, failed, random(), settings, kNow);
            // min(cap, base * 2^(attempt-1)), with negative settings counting as 0.
            const int64_t cap = std::max<int64_t>(0, settings.cap_ms);
            int64_t ceiling = std::max<int64_t>(0, std::min(settings.base_ms, cap));
            for (int i = 1; i < attempt && ceiling < cap; ++i)
                ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
            EXPECT_GE(delay, 0) << attempt;
            EXPECT_LE(delay, ceiling) << attempt;
        }
    }
    // No randomness left when base or cap is 0.
    EXPECT_EQ(retry_delay_ms(5, failed, 123456, {0, 60000, 1}, kNow), 0);
    EXPECT_EQ(retry_delay_ms(5, failed, 123456, {1000, 0, 1}, kNow), 0);
}

TEST(RetryPolicy, RetryAfterOverridesTheBackoff) {
    const BackoffSettings settings{1000, 60000, 300000};
    EXPECT_EQ(retry_delay_ms(1, with_retry_after("120"), 999, settings, kNow), 120000);
    EXPECT_EQ(retry_delay_ms(9, with_retry_after("0"), 999, settings, kNow), 0);
    // Up to max_retry_after_ms, beyond the backoff cap.
    EXPECT_EQ(retry_delay_ms(1, with_retry_after("86400"), 999, settings, kNow), 300000);
    EXPECT_EQ(retry_delay_ms(1, with_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", 429), 999, settings, kNow),
              60000);
    // Unreadable: the backoff applies.
    EXPECT_EQ(retry_delay_ms(1, with_retry_after("later"), 999, settings, kNow), 999);
}

}  // namespace
}  // namespace reverse_etl::http
