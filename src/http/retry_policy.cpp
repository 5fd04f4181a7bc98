#include "http/retry_policy.hpp"

#include <algorithm>
#include <string>

#include <curl/curl.h>

#include "common/parse_number.hpp"
#include "common/text.hpp"

namespace reverse_etl::http {
namespace {

// delta-seconds: digits only (RFC 9110 10.2.3). A number too big for
// milliseconds in 64 bits is far beyond any cap, so it saturates.
std::optional<int64_t> delta_seconds_ms(const std::string &value) {
    if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    const std::optional<int64_t> seconds = parse_integer<int64_t>(value);
    if (!seconds || *seconds > INT64_MAX / 1000)
        return INT64_MAX;
    return *seconds * 1000;
}

// HTTP-date in any of the three forms RFC 9110 requires recipients to accept;
// curl_getdate reads them all, so no date parsing is written here.
std::optional<int64_t> http_date_ms(const std::string &value, std::chrono::system_clock::time_point now) {
    const time_t date = curl_getdate(value.c_str(), nullptr);
    if (date == -1)
        return std::nullopt;
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    return std::max<int64_t>(0, static_cast<int64_t>(date) * 1000 - now_ms);
}

// min(cap, base * 2^(attempt-1)) without overflowing for large attempts.
int64_t backoff_ceiling_ms(int attempt, const BackoffSettings &settings) {
    const int64_t cap = std::max<int64_t>(0, settings.cap_ms);
    int64_t ceiling = std::max<int64_t>(0, std::min(settings.base_ms, cap));
    for (int doubling = 1; doubling < attempt && ceiling < cap; ++doubling)
        ceiling = (ceiling > cap / 2) ? cap : ceiling * 2;
    return ceiling;
}

}  // namespace

std::optional<int64_t> rate_limit_reset_ms(const HttpResponse &response, std::chrono::system_clock::time_point now) {
    constexpr int64_t kEpochSecondsFrom = 1000000000;
    for (const char *name : {"X-RateLimit-Reset", "RateLimit-Reset"}) {
        const std::string *header = find_header(response.headers, name);
        if (!header)
            continue;
        const std::optional<int64_t> ms = delta_seconds_ms(trimmed(*header));
        if (!ms)
            continue;
        if (*ms < kEpochSecondsFrom * 1000)
            return ms;
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
        return std::max<int64_t>(0, *ms - now_ms);
    }
    return std::nullopt;
}

bool is_retryable(const HttpResponse &response) {
    if (response.refused)
        return false;  // reverse_etl.blocked_networks will refuse the next attempt too
    const long status = response.status;
    return status == 0 || status == 408 || status == 429 || (status >= 500 && status <= 599);
}

std::optional<int64_t> retry_after_ms(const HttpResponse &response,
                                      std::chrono::system_clock::time_point now, int64_t cap_ms) {
    std::optional<int64_t> delay;
    if (const std::string *header = find_header(response.headers, "Retry-After")) {
        const std::string value = trimmed(*header);
        delay = delta_seconds_ms(value);
        if (!delay)
            delay = http_date_ms(value, now);
    }
    // A 429's vendor reset time says when the server takes requests again.
    if (!delay && response.status == 429)
        delay = rate_limit_reset_ms(response, now);
    if (!delay)
        return std::nullopt;
    return std::min(*delay, std::max<int64_t>(0, cap_ms));
}

int64_t retry_delay_ms(int attempt, const HttpResponse &response, uint64_t random,
                       const BackoffSettings &settings, std::chrono::system_clock::time_point now) {
    if (const auto server_says = retry_after_ms(response, now, settings.max_retry_after_ms))
        return *server_says;
    const auto ceiling = static_cast<uint64_t>(backoff_ceiling_ms(std::max(attempt, 1), settings));
    // The modulo bias is at most ceiling/2^64: irrelevant for a delay.
    return static_cast<int64_t>(random % (ceiling + 1));
}

}  // namespace reverse_etl::http
