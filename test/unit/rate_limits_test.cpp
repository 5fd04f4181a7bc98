// Declared rate limits: the GCRA arithmetic (http/rate_limiter) on an
// injected clock, what answers announce (http/rate_limit_headers), the
// definitions' "rate_limit" member (catalog/destination_type) and its value
// for a run (destinations/request_builder).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/destination_type.hpp"
#include "catalog/settings.hpp"
#include "destinations/request_builder.hpp"
#include "http/rate_limit_headers.hpp"
#include "http/rate_limiter.hpp"
#include "test_support.hpp"

namespace reverse_etl {
namespace {

using test::error_of;
using test::json;

constexpr int64_t kMs = 1000000;     // nanoseconds
constexpr int64_t kStart = 5000 * kMs;  // any time: only differences matter

// The times at which `count` requests asked for at `asked` (ns, ascending,
// each asking again when refused) were admitted.
std::vector<int64_t> admitted(int64_t &tat, const http::RateLimit &limit, std::vector<int64_t> asked) {
    std::vector<int64_t> times;
    for (int64_t now : asked) {
        http::Admission admission = http::gcra_admit(tat, now, limit);
        while (!admission.allowed) {
            EXPECT_GT(admission.retry_at_ns, now);
            now = admission.retry_at_ns;
            admission = http::gcra_admit(tat, now, limit);
        }
        times.push_back(now);
    }
    return times;
}

TEST(RateLimiter, EmissionInterval) {
    EXPECT_EQ(http::emission_interval_ns({10, 1000, 1}), 100 * kMs);
    EXPECT_EQ(http::emission_interval_ns({3000, 3000, 1}), 1 * kMs);
    // Rounded up: never faster than declared.
    EXPECT_EQ(http::emission_interval_ns({3, 1000, 1}), 333333334);
    EXPECT_EQ(http::emission_interval_ns({0, 1000, 1}), 0);
}

TEST(RateLimiter, EvenlySpacedWithoutBurst) {
    const http::RateLimit limit{10, 1000, 1};  // every 100 ms
    int64_t tat = INT64_MIN;
    // Five requests asked for at once go 100 ms apart.
    EXPECT_EQ(admitted(tat, limit, {kStart, kStart, kStart, kStart, kStart}),
              (std::vector<int64_t>{kStart, kStart + 100 * kMs, kStart + 200 * kMs, kStart + 300 * kMs,
                                    kStart + 400 * kMs}));
    // A refusal says when to ask again, and changes nothing.
    const int64_t before = tat;
    const http::Admission refused = http::gcra_admit(tat, kStart + 450 * kMs, limit);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_at_ns, kStart + 500 * kMs);
    EXPECT_EQ(tat, before);
    // After a quiet spell, no credit piles up beyond the burst of 1.
    EXPECT_EQ(admitted(tat, limit, {kStart + 10000 * kMs, kStart + 10000 * kMs}),
              (std::vector<int64_t>{kStart + 10000 * kMs, kStart + 10100 * kMs}));
}

TEST(RateLimiter, BurstThenSteadyRate) {
    const http::RateLimit limit{10, 1000, 4};
    int64_t tat = INT64_MIN;
    const std::vector<int64_t> times = admitted(tat, limit, std::vector<int64_t>(7, kStart));
    // Four at once, then one every 100 ms.
    EXPECT_EQ(times, (std::vector<int64_t>{kStart, kStart, kStart, kStart, kStart + 100 * kMs, kStart + 200 * kMs,
                                           kStart + 300 * kMs}));
    // Over any second, at most burst + rate: here 4 + 10.
    int64_t tat2 = INT64_MIN;
    const std::vector<int64_t> many = admitted(tat2, limit, std::vector<int64_t>(100, kStart));
    for (size_t i = 0; i + 14 < many.size(); ++i)
        EXPECT_GE(many[i + 14] - many[i], 1000 * kMs - 100 * kMs) << i;
    // The burst is never above the rate's requests.
    int64_t tat3 = INT64_MIN;
    EXPECT_EQ(admitted(tat3, {2, 1000, 50}, {kStart, kStart, kStart})[2], kStart + 500 * kMs);
}

// The largest number of `times` (ascending) inside any half-open window of `window_ns`.
size_t most_in_window(const std::vector<int64_t> &times, int64_t window_ns) {
    size_t most = 0;
    for (size_t first = 0, last = 0; last < times.size(); ++last) {
        while (times[last] - times[first] >= window_ns)
            ++first;
        most = std::max(most, last - first + 1);
    }
    return most;
}

TEST(RateLimiter, CatchUpKeepsEveryWindowWithinTheDeclaredLimit) {
    // Spaced 100 ms or more: evenly, as declared.
    EXPECT_EQ(http::with_catch_up(4, 1000), (http::RateLimit{4, 1000, 1}));
    EXPECT_EQ(http::with_catch_up(100, 10000), (http::RateLimit{100, 10000, 1}));
    EXPECT_EQ(http::with_catch_up(2, 1), (http::RateLimit{2, 1, 1}));
    EXPECT_EQ(http::with_catch_up(100, 1000), (http::RateLimit{99, 1000, 2}));
    EXPECT_EQ(http::with_catch_up(3000, 3000), (http::RateLimit{2971, 3000, 30}));
    for (const auto &[requests, per_ms] : {std::pair<int64_t, int64_t>{3000, 3000}, {100, 1000}, {25, 1000}}) {
        const http::RateLimit paced = http::with_catch_up(requests, per_ms);
        // Asked for all at once, and asked for late by up to 1.5 ms each
        // time (the poll's rounding): never more than declared in a window.
        int64_t tat = INT64_MIN;
        const std::vector<int64_t> eager = admitted(tat, paced, std::vector<int64_t>(3 * requests, kStart));
        EXPECT_LE(most_in_window(eager, per_ms * kMs), static_cast<size_t>(requests)) << requests;
        int64_t tat_late = INT64_MIN;
        std::vector<int64_t> late;
        int64_t now = kStart;
        for (int64_t i = 0; i < 3 * requests; ++i) {
            late.push_back(admitted(tat_late, paced, {now})[0]);
            now = late.back() + (i % 3) * kMs / 2;   // 0, 0.5 or 1 ms late for the next one
        }
        EXPECT_LE(most_in_window(late, per_ms * kMs), static_cast<size_t>(requests)) << requests;
        // ... and the lateness is caught up: the 3 windows take no longer
        // than at the paced rate, give or take the burst.
        EXPECT_LE(late.back() - late.front(), (3 * requests - 1) * http::emission_interval_ns(paced)) << requests;
    }
}

TEST(RateLimiter, TwoClientsShareOneState) {
    // Two runs alternating on one (shared) state together keep the rate.
    const http::RateLimit limit{5, 1000, 1};
    int64_t tat = INT64_MIN;
    std::vector<int64_t> all;
    for (int i = 0; i < 6; ++i) {
        const std::vector<int64_t> one = admitted(tat, limit, {kStart});
        all.push_back(one[0]);
    }
    EXPECT_EQ(all.back() - all.front(), 5 * 200 * kMs);
}

TEST(RateLimiter, HoldPushesTheNextSendOut) {
    const http::RateLimit limit{10, 1000, 3};
    int64_t tat = INT64_MIN;
    http::gcra_hold(tat, kStart + 2000 * kMs, limit);
    EXPECT_FALSE(http::gcra_idle(tat, kStart + 2000 * kMs));
    // Nothing before the hold ends; then one, and the rest at the rate (no burst).
    EXPECT_EQ(admitted(tat, limit, {kStart, kStart, kStart}),
              (std::vector<int64_t>{kStart + 2000 * kMs, kStart + 2100 * kMs, kStart + 2200 * kMs}));
    // A hold in the past changes nothing.
    const int64_t before = tat;
    http::gcra_hold(tat, kStart, limit);
    EXPECT_EQ(tat, before);
    // Without a declared limit a hold is all there is.
    int64_t unlimited = INT64_MIN;
    http::gcra_hold(unlimited, kStart + 300 * kMs, {0, 1000, 1});
    EXPECT_EQ(admitted(unlimited, {0, 1000, 1}, {kStart, kStart, kStart}),
              (std::vector<int64_t>{kStart + 300 * kMs, kStart + 300 * kMs, kStart + 300 * kMs}));
    EXPECT_TRUE(http::gcra_idle(unlimited, kStart + 300 * kMs));
}

TEST(RateLimiter, IdleStateIsAFreshOne) {
    const http::RateLimit limit{10, 1000, 2};
    int64_t used = INT64_MIN;
    admitted(used, limit, {kStart, kStart, kStart});
    // Admitted at 0, 0 and 100 ms: the steady rate's next slot is at 300 ms.
    EXPECT_FALSE(http::gcra_idle(used, kStart + 299 * kMs));
    EXPECT_TRUE(http::gcra_idle(used, kStart + 300 * kMs));
    int64_t fresh = INT64_MIN;
    const int64_t later = kStart + 300 * kMs;
    EXPECT_EQ(admitted(used, limit, {later, later, later}), admitted(fresh, limit, {later, later, later}));
}

TEST(RateLimiter, LocalPacer) {
    using Clock = std::chrono::steady_clock;
    http::LocalPacer pacer({2, 1000, 1});
    const Clock::time_point t0 = http::steady_time(kStart);
    EXPECT_EQ(pacer.admit(t0), std::nullopt);
    const auto again = pacer.admit(t0);
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(http::steady_ns(*again), kStart + 500 * kMs);
    EXPECT_EQ(pacer.admit(*again), std::nullopt);
    pacer.hold(t0 + std::chrono::seconds(3));
    EXPECT_EQ(http::steady_ns(*pacer.admit(t0 + std::chrono::seconds(1))), kStart + 3000 * kMs);
}

// ---- what answers say

using WallClock = std::chrono::system_clock;
const WallClock::time_point kWallNow = WallClock::time_point(std::chrono::seconds(1445412480));

http::HttpResponse answer(long status, http::Headers headers) {
    http::HttpResponse response;
    response.status = status;
    response.headers = std::move(headers);
    return response;
}

TEST(RateLimitNotice, SuccessAnnouncingExhaustion) {
    // HubSpot / Intercom / Braze: the window is used up, reset in 7 s.
    auto notice = http::read_rate_limit_notice(
        answer(200, {{"x-ratelimit-remaining", "0"}, {"X-RateLimit-Reset", "7"}}), kWallNow, 600000);
    EXPECT_EQ(notice.pause_ms, 7000);
    EXPECT_EQ(notice.exhausted, std::nullopt);
    // As Unix time (Braze).
    notice = http::read_rate_limit_notice(
        answer(201, {{"X-RateLimit-Remaining", " 0 "}, {"X-RateLimit-Reset", "1445412490"}}), kWallNow, 600000);
    EXPECT_EQ(notice.pause_ms, 10000);
    // The IETF draft's names; capped.
    notice = http::read_rate_limit_notice(answer(200, {{"RateLimit-Remaining", "0"}, {"RateLimit-Reset", "3600"}}),
                                          kWallNow, 60000);
    EXPECT_EQ(notice.pause_ms, 60000);
    // Requests left, or no reset given: nothing to do.
    EXPECT_EQ(http::read_rate_limit_notice(answer(200, {{"X-RateLimit-Remaining", "3"}, {"X-RateLimit-Reset", "7"}}),
                                           kWallNow, 600000)
                  .pause_ms,
              std::nullopt);
    EXPECT_EQ(http::read_rate_limit_notice(answer(200, {{"X-RateLimit-Remaining", "0"}}), kWallNow, 600000).pause_ms,
              std::nullopt);
    EXPECT_EQ(http::read_rate_limit_notice(answer(200, {}), kWallNow, 600000).pause_ms, std::nullopt);
}

TEST(RateLimitNotice, RefusalsWithRetryAfter) {
    EXPECT_EQ(http::read_rate_limit_notice(answer(429, {{"Retry-After", "4"}}), kWallNow, 600000).pause_ms, 4000);
    EXPECT_EQ(http::read_rate_limit_notice(answer(429, {{"X-RateLimit-Reset", "2"}}), kWallNow, 600000).pause_ms,
              2000);
    EXPECT_EQ(http::read_rate_limit_notice(answer(503, {{"Retry-After", "4"}}), kWallNow, 600000).pause_ms, 4000);
    // A 400 with Retry-After is final: it says nothing about the next requests.
    EXPECT_EQ(http::read_rate_limit_notice(answer(400, {{"Retry-After", "4"}}), kWallNow, 600000).pause_ms,
              std::nullopt);
    EXPECT_EQ(http::read_rate_limit_notice(answer(429, {}), kWallNow, 600000).pause_ms, std::nullopt);
}

TEST(RateLimitNotice, SalesforceDailyAllowance) {
    auto notice = http::read_rate_limit_notice(answer(200, {{"Sforce-Limit-Info", "api-usage=10018/100000"}}),
                                               kWallNow, 600000);
    EXPECT_EQ(notice.exhausted, std::nullopt);
    notice = http::read_rate_limit_notice(
        answer(200, {{"Sforce-Limit-Info", "per-app-api-usage=5/10(appName=x), api-usage=100000/100000"}}), kWallNow,
        600000);
    EXPECT_EQ(notice.exhausted,
              "the destination's daily API request limit is used up (Sforce-Limit-Info: api-usage=100000/100000)");
    EXPECT_EQ(notice.pause_ms, std::nullopt);
    EXPECT_TRUE(http::read_rate_limit_notice(answer(200, {{"Sforce-Limit-Info", "api-usage=100001/100000"}}),
                                             kWallNow, 600000)
                    .exhausted);
    for (const char *unreadable : {"api-usage=", "api-usage=5", "api-usage=x/10", "api-usage=5/0", "usage=9/1"})
        EXPECT_EQ(http::read_rate_limit_notice(answer(200, {{"Sforce-Limit-Info", unreadable}}), kWallNow, 600000)
                      .exhausted,
                  std::nullopt)
            << unreadable;
}

// ---- definitions

catalog::DestinationType shipped(const std::string &type) {
    return catalog::parse_destination_type(test::repository_file("src/destinations/" + type + ".json"));
}

std::string mini(const std::string &rate_limit, const std::string &settings_extra = {}) {
    return R"({"type": "mini", "name": "Mini", "description": "A test type.",
        "settings": [{"key": "url", "type": "string", "required": true, "description": "Where."})" +
           settings_extra + R"(],
        "request": {"method": "POST", "url": "{{settings.url}}", "body": "array", "rate_limit": )" +
           rate_limit + R"(},
        "actions": [{"key": "put", "name": "Put", "description": "Puts.", "sync_modes": ["upsert"],
                     "default_sync_mode": "upsert", "fields": [{"key": "id", "type": "string", "description": "Id."}],
                     "max_batch_records": 10}]})";
}

std::string definition_error(const std::string &text) {
    const Error error = error_of([&] { catalog::parse_destination_type(text); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    return error.message();
}

TEST(RateLimitDefinition, ShippedLimits) {
    const catalog::DestinationType braze = shipped("braze");
    const catalog::ActionDef &attributes = *braze.find_action("user_attributes");
    ASSERT_TRUE(attributes.request.rate_limit);
    EXPECT_EQ(attributes.request.rate_limit->requests.fallback, 3000);
    EXPECT_EQ(attributes.request.rate_limit->per_seconds, 3);
    EXPECT_EQ(attributes.request.rate_limit->scope, "users/track");
    // Deletes go to another endpoint, which Braze limits on its own.
    const catalog::RequestSpec &deletes = attributes.request_for("delete");
    ASSERT_TRUE(deletes.rate_limit);
    EXPECT_EQ(deletes.rate_limit->requests.fallback, 20000);
    EXPECT_EQ(deletes.rate_limit->per_seconds, 60);
    EXPECT_EQ(deletes.rate_limit->scope, "users/delete");
    EXPECT_EQ(braze.find_action("track_event")->request.rate_limit->scope, "users/track");
    EXPECT_EQ(shipped("segment").request.rate_limit->requests.fallback, 500);
    EXPECT_EQ(shipped("customerio").request.rate_limit->requests.fallback, 100);
    // Mixpanel and Amplitude state no request rate (theirs count events and bytes).
    EXPECT_FALSE(shipped("mixpanel").request.rate_limit);
    EXPECT_FALSE(shipped("amplitude").request.rate_limit);
    const catalog::DestinationType webhook = shipped("webhook");
    EXPECT_EQ(webhook.request.rate_limit->requests.setting, "max_requests_per_second");
    EXPECT_EQ(webhook.find_setting("max_requests_per_second")->minimum, 1);
}

TEST(RateLimitDefinition, BadRateLimitsNameTheKey) {
    const std::string prefix = "invalid definition of destination type \"mini\": ";
    EXPECT_NO_THROW(catalog::parse_destination_type(mini(R"({"requests": 5, "per_seconds": 2, "burst": 5})")));
    EXPECT_EQ(definition_error(mini(R"([])")), prefix + "request.rate_limit must be an object");
    EXPECT_EQ(definition_error(mini(R"({"per_seconds": 1})")), prefix + "request.rate_limit.requests is missing");
    EXPECT_EQ(definition_error(mini(R"({"requests": 0, "per_seconds": 1})")),
              prefix + "request.rate_limit.requests must be between 1 and 2147483647");
    EXPECT_EQ(definition_error(mini(R"({"requests": 5})")), prefix + "request.rate_limit.per_seconds is missing");
    EXPECT_EQ(definition_error(mini(R"({"requests": 5, "per_seconds": 86401})")),
              prefix + "request.rate_limit.per_seconds must be at most 86400");
    EXPECT_EQ(definition_error(mini(R"({"requests": 5, "per_seconds": 1, "burst": 6})")),
              prefix + "request.rate_limit.burst must not exceed requests");
    EXPECT_EQ(definition_error(mini(R"({"requests": 5, "per": "1 second"})")),
              prefix + "request.rate_limit has unknown key \"per\" (requests, per_seconds, burst, scope)");
    EXPECT_EQ(definition_error(mini(R"({"requests": {"setting": "nope"}, "per_seconds": 1})")),
              prefix + "request.rate_limit.requests.setting names unknown setting \"nope\"");
    EXPECT_EQ(definition_error(mini(R"({"requests": {"setting": "rps"}, "per_seconds": 1})",
                                    R"(, {"key": "rps", "type": "integer", "description": "Rate."})")),
              prefix + "request.rate_limit.requests names setting \"rps\", which must have a minimum of at least 1");
}

destinations::RequestBuilder webhook_builder(const std::string &settings) {
    static const catalog::DestinationType type = shipped("webhook");
    return destinations::RequestBuilder(type, type.actions[0], json(settings).get());
}

TEST(RateLimitDefinition, RunsReadTheLimitFromSettings) {
    EXPECT_EQ(webhook_builder(R"({"url": "https://h.example"})").rate_limit(), std::nullopt);
    const destinations::RequestBuilder paced = webhook_builder(R"({"url": "https://h.example", "max_requests_per_second": 25})");
    ASSERT_TRUE(paced.rate_limit());
    // 40 ms apart: paced with a catch-up burst of 2 (with_catch_up).
    EXPECT_EQ(paced.rate_limit()->requests, 24);
    EXPECT_EQ(paced.rate_limit()->per_ms, 1000);
    EXPECT_EQ(paced.rate_limit()->burst, 2);
    EXPECT_EQ(paced.rate_limit_scope(), "");
    const catalog::DestinationType braze = shipped("braze");
    const destinations::RequestBuilder deletes(braze, *braze.find_action("user_attributes"),
                                               json(R"({"endpoint": "https://rest.example", "api_key": "k"})").get(),
                                               "delete");
    EXPECT_EQ(deletes.rate_limit()->requests, 20000 - 200 + 1);
    EXPECT_EQ(deletes.rate_limit()->burst, 200);
    EXPECT_EQ(deletes.rate_limit()->per_ms, 60000);
    EXPECT_EQ(deletes.rate_limit_scope(), "users/delete");
}

TEST(RateLimitDefinition, WebhookSettingIsValidated) {
    const catalog::DestinationType webhook = shipped("webhook");
    for (const char *value : {"0", "10001", "\"5\""}) {
        const Error error = error_of([&] {
            catalog::validate_settings(
                webhook, json(std::string(R"({"url": "https://h.example", "max_requests_per_second": )") + value + "}").get(),
                test::read_test_interval);
        });
        EXPECT_EQ(error.sqlstate(), "22023") << value;
        EXPECT_NE(error.message().find("max_requests_per_second"), std::string::npos) << error.message();
    }
    EXPECT_NO_THROW(catalog::validate_settings(
        webhook, json(R"({"url": "https://h.example", "max_requests_per_second": 10000})").get(), test::read_test_interval));
}

}  // namespace
}  // namespace reverse_etl
