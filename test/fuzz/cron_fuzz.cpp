// Cron (and days and times): schedules parsed as create_mapping reads them
// (catalog/schedule), then their next runs in a time zone with daylight saving
// time, from instants next to the clock changes. Every run found must be a
// minute the schedule names (or what PostgreSQL makes of one inside a DST
// gap), later than the previous one, and the earliest such: no firing minute
// may resolve between the previous run and it.
#include <algorithm>
#include <functional>
#include <string>

#include "catalog/schedule.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;
using catalog::LocalDateTime;
using catalog::Schedule;

namespace {

bool fires_on(const Schedule &schedule, const LocalDateTime &date, const catalog::Calendar &calendar) {
    if (!schedule.months[date.month])
        return false;
    const bool day_of_month = schedule.days_of_month[date.day];
    const bool day_of_week = schedule.days_of_week[calendar.day_of_week(date)];
    return schedule.either_day_field ? day_of_month || day_of_week : day_of_month && day_of_week;
}

LocalDateTime at_minute(LocalDateTime date, int minute_of_day) {
    date.hour = minute_of_day / 60;
    date.minute = minute_of_day % 60;
    return date;
}

// Some firing minute converts to `run`.
bool is_firing_time(const Schedule &schedule, int64_t run, const catalog::Calendar &calendar) {
    const LocalDateTime local = calendar.to_local(run);
    const int64_t wall = fuzz::days_from_civil(local.year, local.month, local.day) * fuzz::kUsecPerDay +
                         local.hour * fuzz::kUsecPerHour + local.minute * fuzz::kUsecPerMinute;
    // A minute in a spring-forward gap resolves an hour later on the clock.
    for (const int64_t back : {INT64_C(0), fuzz::kUsecPerHour}) {
        const int64_t minutes = (wall - back) / fuzz::kUsecPerMinute - ((wall - back) % fuzz::kUsecPerMinute < 0);
        const int64_t day = minutes / 1440 - (minutes % 1440 < 0);
        const int minute_of_day = static_cast<int>(minutes - day * 1440);
        const LocalDateTime candidate = at_minute(calendar.add_days(LocalDateTime{}, static_cast<int>(day)), minute_of_day);
        if (fires_on(schedule, candidate, calendar) &&
            std::binary_search(schedule.minutes_of_day.begin(), schedule.minutes_of_day.end(), minute_of_day) &&
            calendar.to_utc(candidate) == run)
            return true;
    }
    return false;
}

// No firing minute of the days around [after, run] resolves strictly between them.
void check_earliest(const Schedule &schedule, int64_t after, int64_t run, const catalog::Calendar &calendar) {
    if (run - after > 3 * fuzz::kUsecPerDay)
        return;   // a long wait: too many minutes to look at
    const LocalDateTime first = calendar.add_days(at_minute(calendar.to_local(after), 0), -1);
    const LocalDateTime last = calendar.add_days(at_minute(calendar.to_local(run), 0), 1);
    for (LocalDateTime date = first;; date = calendar.add_days(date, 1)) {
        if (fires_on(schedule, date, calendar))
            for (const int minute_of_day : schedule.minutes_of_day) {
                const int64_t utc = calendar.to_utc(at_minute(date, minute_of_day));
                FUZZ_CHECK(!(utc > after && utc < run), "an earlier firing time was skipped");
            }
        if (date.year == last.year && date.month == last.month && date.day == last.day)
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = fuzz::text_of(data, size);
    Schedule schedule;
    try {
        schedule = catalog::parse_schedule(text, fuzz::read_interval);
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "parse_schedule");
        return 0;
    }
    if (schedule.kind != Schedule::Kind::Cron && schedule.kind != Schedule::Kind::DayAndTime)
        return 0;

    const fuzz::ZoneCalendar zone(true);
    const auto at = [](int year, int month, int day, int hour, int minute) {
        return fuzz::days_from_civil(year, month, day) * fuzz::kUsecPerDay + hour * fuzz::kUsecPerHour +
               minute * fuzz::kUsecPerMinute;
    };
    // Just before and inside the spring gap and the autumn overlap of 2026
    // (changes at 01:00 UTC on March 29 and October 25), and an instant from
    // the input's hash in the years 1970..2369.
    const uint64_t hash = std::hash<std::string>()(text);
    const int64_t starts[] = {
        at(2026, 3, 29, 0, 59) + 59999999,
        at(2026, 3, 28, 23, 30),
        at(2026, 10, 25, 0, 30),
        at(2026, 10, 25, 1, 15),
        at(1970, 1, 1, 0, 0) + static_cast<int64_t>(hash % (UINT64_C(400) * 365 * 1440)) * fuzz::kUsecPerMinute +
            static_cast<int64_t>(hash % 60000000),
    };
    for (int64_t after : starts) {
        for (int step = 0; step < 3; ++step) {
            const std::optional<int64_t> next = catalog::next_run_after(schedule, after, zone);
            FUZZ_CHECK(next.has_value(), "an accepted schedule never fires: " + text);
            FUZZ_CHECK(*next > after, "next run not after the last");
            FUZZ_CHECK(is_firing_time(schedule, *next, zone), "next run at a time the schedule does not name: " + text);
            check_earliest(schedule, after, *next, zone);
            after = *next;
        }
    }
    return 0;
}
