#include "common/interval_length.hpp"

#include <limits>

namespace reverse_etl {

namespace {

constexpr int64_t kUsecPerDay = INT64_C(86400000000);
constexpr int64_t kDaysPerMonth = 30;

}  // namespace

IntervalLength interval_length(int32_t months, int32_t days, int64_t time_usec) {
    // Exact in 128 bits: |months| * 30 days < 2^73 microseconds, |days| * 1 day
    // < 2^68, |time| < 2^63, so neither a product nor the sum can overflow.
    const __int128 exact = static_cast<__int128>(months) * (kDaysPerMonth * kUsecPerDay) +
                           static_cast<__int128>(days) * kUsecPerDay + time_usec;
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    if (exact > kMax)
        return {kMax, true};
    if (exact < kMin)
        return {kMin, true};
    return {static_cast<int64_t>(exact), false};
}

}  // namespace reverse_etl
