#include "http/rate_limit_headers.hpp"

#include <algorithm>

#include "common/parse_number.hpp"
#include "common/text.hpp"
#include "http/retry_policy.hpp"

namespace reverse_etl::http {
namespace {

bool announces_exhaustion(const HttpResponse &response) {
    for (const char *name : {"X-RateLimit-Remaining", "RateLimit-Remaining"}) {
        if (const std::string *header = find_header(response.headers, name))
            return trimmed(*header) == "0";
    }
    return false;
}

// "api-usage=10018/100000" (possibly among other comma-separated entries,
// e.g. "per-app-api-usage=..."): the daily usage and allowance.
std::optional<std::pair<int64_t, int64_t>> salesforce_api_usage(const HttpResponse &response) {
    const std::string *header = find_header(response.headers, "Sforce-Limit-Info");
    if (!header)
        return std::nullopt;
    const std::string &text = *header;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        const std::string entry = trimmed(text.substr(start, comma - start));
        start = comma + 1;
        constexpr std::string_view kName = "api-usage=";
        if (entry.compare(0, kName.size(), kName) != 0)
            continue;
        const std::string counts = entry.substr(kName.size());
        const size_t slash = counts.find('/');
        if (slash == std::string::npos)
            return std::nullopt;
        const std::optional<int64_t> used = parse_integer<int64_t>(trimmed(counts.substr(0, slash)));
        const std::optional<int64_t> allowed = parse_integer<int64_t>(trimmed(counts.substr(slash + 1)));
        if (!used || !allowed || *allowed <= 0 || *used < 0)
            return std::nullopt;
        return std::make_pair(*used, *allowed);
    }
    return std::nullopt;
}

}  // namespace

RateLimitNotice read_rate_limit_notice(const HttpResponse &response, std::chrono::system_clock::time_point now,
                                       int64_t cap_ms, bool retryable) {
    RateLimitNotice notice;
    const int64_t cap = std::max<int64_t>(0, cap_ms);
    if ((retryable || is_retryable(response)) && response.status != 0)
        notice.pause_ms = retry_after_ms(response, now, cap);
    if (!notice.pause_ms && response.status != 0 && announces_exhaustion(response)) {
        if (const std::optional<int64_t> reset = rate_limit_reset_ms(response, now))
            notice.pause_ms = std::min(*reset, cap);
    }
    if (const auto usage = salesforce_api_usage(response); usage && usage->first >= usage->second)
        notice.exhausted = "the destination's daily API request limit is used up (Sforce-Limit-Info: api-usage=" +
                           std::to_string(usage->first) + "/" + std::to_string(usage->second) + ")";
    return notice;
}

}  // namespace reverse_etl::http
