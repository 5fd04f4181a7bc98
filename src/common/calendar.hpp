// Local wall-clock time and the calendar of one time zone, as an interface:
// schedules compute with it (catalog/schedule.hpp), PostgreSQL's time zone code
// implements it (pg/time_support.hpp), and tests can give a calendar of their own.
#pragma once

#include <cstdint>

namespace reverse_etl::common {

// Wall-clock time in the mapping's time zone, to the minute.
struct LocalDateTime {
    int year = 2000;
    int month = 1;   // 1..12
    int day = 1;     // 1..31
    int hour = 0;    // 0..23
    int minute = 0;  // 0..59
};

// PostgreSQL's calendar and one time zone, as the caller adapts them (pg_tz,
// date2j/j2date/j2day, DetermineTimeZoneOffset). Times in UTC are TimestampTz
// values: microseconds since 2000-01-01 00:00 UTC.
class Calendar {
  public:
    virtual ~Calendar() = default;
    // Resolves DST gaps and overlaps exactly as timestamptz input does.
    virtual int64_t to_utc(const LocalDateTime &local) const = 0;
    // Seconds are truncated.
    virtual LocalDateTime to_local(int64_t utc) const = 0;
    // Moves the date by `days`, keeping hour and minute.
    virtual LocalDateTime add_days(const LocalDateTime &date, int days) const = 0;
    // 0 = Sunday .. 6 = Saturday.
    virtual int day_of_week(const LocalDateTime &date) const = 0;
};

}  // namespace reverse_etl::common
