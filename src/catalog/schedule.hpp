// A mapping's schedule (SPEC section 4, "Schedules"): parsing the text a user
// gives and computing when the mapping runs next. Pure C++: calendar and time
// zone arithmetic come from PostgreSQL through the Calendar the caller passes,
// so this file never disagrees with timestamptz about dates or DST.
#pragma once

#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/calendar.hpp"
#include "common/interval_length.hpp"

namespace reverse_etl::catalog {

using common::Calendar;
using common::LocalDateTime;

// The interval's length if PostgreSQL accepts the text as an interval, else
// nullopt. Must not throw for text that is merely not an interval.
using IntervalParser = IntervalReader;

struct Schedule {
    enum class Kind { Manual, Interval, DayAndTime, Cron, Dbt, Live };
    Kind kind = Kind::Manual;

    // Interval: time from one run's start to the next run's start.
    int64_t interval_usec = 0;

    // DayAndTime and Cron: the schedule fires at every listed local minute of
    // every local day that matches. A day matches when its month is in
    // `months` and its day fields match (see `either_day_field`).
    std::vector<int> minutes_of_day;  // sorted, unique, 0..1439
    std::bitset<7> days_of_week;      // bit 0 = Sunday
    std::bitset<32> days_of_month;    // bits 1..31 (bit 0 unused)
    std::bitset<13> months;           // bits 1..12 (bit 0 unused)
    // Vixie cron's rule: when neither the day-of-month nor the day-of-week
    // field starts with "*", a day matches if EITHER matches; otherwise both
    // must. Always false for DayAndTime (every day of month is listed).
    bool either_day_field = false;
};

// "manual", "interval", "day_and_time", "cron", "dbt" or "live".
const char *schedule_kind_name(Schedule::Kind kind);

// Parses a schedule (case-insensitive, surrounding whitespace ignored):
// "manual", "dbt", "live", days and times ("mon,wed,fri 09:00", "daily 06:30,18:00",
// "weekdays 08:00", "mon-fri 08:00"), a five-field cron expression or an
// @hourly/@daily/@weekly/@monthly/@yearly shortcut, or, tried last, any
// interval PostgreSQL accepts from one minute to 1000 years (the upper limit
// keeps every next run far inside timestamptz's range).
// Throws Error 22023 naming the text, with a detail saying what is wrong where
// it can tell and a hint listing the forms.
Schedule parse_schedule(const std::string &text, const IntervalParser &parse_interval);

// Whether a stored schedule is "dbt", read as parse_schedule reads it (case
// and surrounding whitespace do not matter).
bool is_dbt_schedule(const std::string &text);
// The same for "live" (engine/live_runs.hpp: runs after changes commit).
bool is_live_schedule(const std::string &text);

// The first time strictly after `after` (a TimestampTz) at which the schedule
// fires; nullopt for Manual, Dbt and Live. Interval: `after` + the interval, so pass
// the previous run's start. DayAndTime and Cron: the earliest instant later
// than `after` of any matching local minute, each local minute converted with
// calendar.to_utc() (so a time inside a DST gap fires when PostgreSQL says it
// means, and a time inside an overlap fires once).
std::optional<int64_t> next_run_after(const Schedule &schedule, int64_t after,
                                      const Calendar &calendar);

}  // namespace reverse_etl::catalog
