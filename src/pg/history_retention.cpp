#include "pg/history_retention.hpp"

#include <algorithm>
#include <climits>

#include "common/interval_length.hpp"
#include "pg/postgres_headers.hpp"

extern "C" {
#include "datatype/timestamp.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
}

namespace reverse_etl::pg {

namespace {

// DecodeInterval reads a leading minus differently under IntervalStyle
// sql_standard; the sync worker, which prunes, reads the value under
// 'postgres' (sync_worker.cpp pins it). Nothing between setting and restoring
// the variable can raise an error.
class PostgresIntervalStyle {
  public:
    PostgresIntervalStyle() noexcept : saved_(IntervalStyle) { IntervalStyle = INTSTYLE_POSTGRES; }
    ~PostgresIntervalStyle() { IntervalStyle = saved_; }
    PostgresIntervalStyle(const PostgresIntervalStyle &) = delete;
    PostgresIntervalStyle &operator=(const PostgresIntervalStyle &) = delete;

  private:
    const int saved_;
};

// interval_in's own steps, which report by return code where interval_in
// raises the error. Sets `interval` only when the text is one.
RetentionProblem read_interval(const char *text, Interval &interval) noexcept {
    const PostgresIntervalStyle style;
    char workbuf[256];  // interval_in's size: a longer text is refused alike
    char *field[MAXDATEFIELDS];
    int ftype[MAXDATEFIELDS];
    int fields = 0;
    int dtype = 0;
    struct pg_itm_in itm_in {};
    int dterr = ParseDateTime(text, workbuf, sizeof(workbuf), field, ftype, MAXDATEFIELDS, &fields);
    if (dterr == 0)
        dterr = DecodeInterval(field, ftype, fields, INTERVAL_FULL_RANGE, &dtype, &itm_in);
    if (dterr == DTERR_BAD_FORMAT)  // "P1Y2M": ISO 8601, as interval_in tries next
        dterr = DecodeISO8601Interval(const_cast<char *>(text), &dtype, &itm_in);  // only reads it
    if (dterr == DTERR_FIELD_OVERFLOW || dterr == DTERR_INTERVAL_OVERFLOW)
        return RetentionProblem::OutOfRange;
    if (dterr != 0 || dtype != DTK_DELTA)
        return RetentionProblem::NotInterval;
    if (itmin2interval(&itm_in, &interval) != 0)
        return RetentionProblem::OutOfRange;
    return RetentionProblem::None;
}

// now - interval as timestamptz_mi_interval computes it under TimeZone UTC:
// months first (the day clamped to the new month's length), then days, then
// the time. False where it raises "timestamp out of range". Sums are taken
// wide, where PostgreSQL 15 could overflow an int for some of the same values
// (and then fails as well, in practice).
bool subtract(Timestamp now, const Interval &interval, Timestamp &result) noexcept {
    Timestamp stamp = now;
    struct pg_tm tm {};
    fsec_t fsec = 0;
    if (interval.month != 0) {
        if (timestamp2tm(stamp, nullptr, &tm, &fsec, nullptr, nullptr) != 0)
            return false;
        // Months since year 0, then back to a year and a month, rounding down.
        const int64_t months = int64_t{tm.tm_year} * MONTHS_PER_YEAR + (tm.tm_mon - 1) - interval.month;
        const int64_t year = (months >= 0 ? months : months - (MONTHS_PER_YEAR - 1)) / MONTHS_PER_YEAR;
        tm.tm_year = static_cast<int>(year);  // within 2^31 / 12 years of now: fits
        tm.tm_mon = static_cast<int>(months - year * MONTHS_PER_YEAR) + 1;
        tm.tm_mday = std::min(tm.tm_mday, day_tab[isleap(tm.tm_year)][tm.tm_mon - 1]);
        if (tm2timestamp(&tm, fsec, nullptr, &stamp) != 0)
            return false;
    }
    if (interval.day != 0) {
        if (timestamp2tm(stamp, nullptr, &tm, &fsec, nullptr, nullptr) != 0)
            return false;
        const int64_t julian = int64_t{date2j(tm.tm_year, tm.tm_mon, tm.tm_mday)} - interval.day;
        if (julian < 0 || julian > INT_MAX)  // day 0 is already before the first timestamp
            return false;
        j2date(static_cast<int>(julian), &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
        if (tm2timestamp(&tm, fsec, nullptr, &stamp) != 0)
            return false;
    }
    const __int128 shifted = static_cast<__int128>(stamp) - interval.time;
    if (shifted < MIN_TIMESTAMP || shifted >= END_TIMESTAMP)
        return false;
    result = static_cast<Timestamp>(shifted);
    return true;
}

}  // namespace

RetentionProblem history_retention_problem(const char *text, int64_t now) noexcept {
    if (text == nullptr)
        return RetentionProblem::NotInterval;
    Interval interval{};
    const RetentionProblem problem = read_interval(text, interval);
    if (problem != RetentionProblem::None)
        return problem;
    const bool negative = interval_length(interval.month, interval.day, interval.time).usec < 0;
    Timestamp cutoff = 0;
    if (!subtract(now, interval, cutoff))  // "-300000 years" is negative before it is too long
        return negative ? RetentionProblem::Negative : RetentionProblem::OutOfRange;
    // Later than now, even when the calendar does it to mixed signs ("1 mon -30 days" from March).
    return cutoff > now ? RetentionProblem::Negative : RetentionProblem::None;
}

}  // namespace reverse_etl::pg
