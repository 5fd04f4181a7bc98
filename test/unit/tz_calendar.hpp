// A common::Calendar over the C library's time zones (the system tz database,
// the same data PostgreSQL's Debian packages use), for testing schedules
// without the server. It resolves local times in DST gaps and overlaps by the
// rule PostgreSQL's DetermineTimeZoneOffset applies (src/backend/utils/adt/
// datetime.c): a local time that exists once maps to that instant; one in a
// gap or an overlap maps to the later of the two readings, i.e. the offset
// from before a spring-forward jump, the offset from after a fall-back one.
// Like PostgreSQL it assumes offset changes are at least 48 hours apart.
//
// Not thread-safe: it switches the process's TZ for each conversion.
#pragma once

#include <cstdint>
#include <string>

#include "common/calendar.hpp"

namespace reverse_etl::test {

class TzCalendar final : public common::Calendar {
  public:
    // An IANA zone name such as "America/New_York".
    explicit TzCalendar(std::string zone);

    int64_t to_utc(const common::LocalDateTime &local) const override;
    common::LocalDateTime to_local(int64_t utc) const override;
    common::LocalDateTime add_days(const common::LocalDateTime &date, int days) const override;
    int day_of_week(const common::LocalDateTime &date) const override;

  private:
    long offset_at(int64_t unix_seconds) const;   // UTC offset in seconds
    std::string zone_;
};

// A TimestampTz (microseconds since 2000-01-01 00:00 UTC) from UTC fields, and back
// as "YYYY-MM-DD HH:MM" UTC: for readable expectations.
int64_t utc_timestamp(int year, int month, int day, int hour, int minute);
std::string utc_text(int64_t timestamp);

}  // namespace reverse_etl::test
