// Schedules: the text create_mapping and alter_mapping take (catalog/schedule:
// "manual", "dbt", days and times, cron, intervals), and the next run of an
// accepted one in UTC. The cron target goes deeper into cron and time zones.
#include <algorithm>
#include <functional>
#include <string>

#include "catalog/schedule.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;
using catalog::Schedule;

namespace {

void check_shape(const Schedule &schedule) {
    if (schedule.kind == Schedule::Kind::Interval)
        FUZZ_CHECK(schedule.interval_usec >= fuzz::kUsecPerMinute, "an interval under a minute was accepted");
    if (schedule.kind != Schedule::Kind::DayAndTime && schedule.kind != Schedule::Kind::Cron)
        return;
    const std::vector<int> &minutes = schedule.minutes_of_day;
    FUZZ_CHECK(!minutes.empty(), "a schedule with no time of day");
    FUZZ_CHECK(std::is_sorted(minutes.begin(), minutes.end()) &&
                   std::adjacent_find(minutes.begin(), minutes.end()) == minutes.end(),
               "minutes of day not sorted and unique");
    FUZZ_CHECK(minutes.front() >= 0 && minutes.back() < 1440, "a minute of day out of range");
    FUZZ_CHECK(schedule.months.any() && !schedule.months[0], "no month, or month 0");
    FUZZ_CHECK(!schedule.days_of_month[0], "day of month 0");
    FUZZ_CHECK(schedule.days_of_week.any() || schedule.either_day_field, "no day of week");
}

bool fires_at(const Schedule &schedule, const catalog::LocalDateTime &local, const catalog::Calendar &calendar) {
    if (!schedule.months[local.month])
        return false;
    const bool day_of_month = schedule.days_of_month[local.day];
    const bool day_of_week = schedule.days_of_week[calendar.day_of_week(local)];
    const bool day = schedule.either_day_field ? day_of_month || day_of_week : day_of_month && day_of_week;
    return day && std::binary_search(schedule.minutes_of_day.begin(), schedule.minutes_of_day.end(),
                                     local.hour * 60 + local.minute);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = fuzz::text_of(data, size);
    Schedule schedule;
    try {
        schedule = catalog::parse_schedule(text, fuzz::read_interval);
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "parse_schedule");
        FUZZ_CHECK(problem.message().rfind("invalid schedule", 0) == 0 ||
                       problem.message().rfind("schedule interval", 0) == 0,
                   "unexpected message: " + problem.message());
        return 0;
    }
    (void)catalog::schedule_kind_name(schedule.kind);
    check_shape(schedule);

    const fuzz::ZoneCalendar utc(false);
    // 2026-01-05 10:00:00.5 UTC, and a time from the input's hash in 1901..2399.
    const int64_t hashed = static_cast<int64_t>(std::hash<std::string>()(text) % (INT64_C(498) * 365 * 1440));
    const int64_t starts[] = {fuzz::days_from_civil(2026, 1, 5) * fuzz::kUsecPerDay + 10 * fuzz::kUsecPerHour + 500000,
                              fuzz::days_from_civil(1901, 1, 1) * fuzz::kUsecPerDay + hashed * fuzz::kUsecPerMinute};
    for (const int64_t after : starts) {
        const std::optional<int64_t> next = catalog::next_run_after(schedule, after, utc);
        switch (schedule.kind) {
        case Schedule::Kind::Manual:
        case Schedule::Kind::Dbt:
        case Schedule::Kind::Live: FUZZ_CHECK(!next, "manual, dbt and live schedules never run on a timer"); break;
        case Schedule::Kind::Interval:
            FUZZ_CHECK(next && *next == after + schedule.interval_usec, "interval arithmetic");
            break;
        case Schedule::Kind::DayAndTime:
        case Schedule::Kind::Cron:
            FUZZ_CHECK(next.has_value(), "an accepted schedule never fires: " + text);
            FUZZ_CHECK(*next > after, "next run not after the last");
            FUZZ_CHECK(*next % fuzz::kUsecPerMinute == 0, "next run not on a minute");
            FUZZ_CHECK(fires_at(schedule, utc.to_local(*next), utc), "next run at a time the schedule does not name");
            break;
        }
    }
    return 0;
}
