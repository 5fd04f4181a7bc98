// catalog/schedule: parsing every schedule form, its errors, and the next fire
// time, DST gaps and overlaps included (through TzCalendar, which applies
// PostgreSQL's rule for such local times to the system's tz database).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/schedule.hpp"
#include "test_support.hpp"
#include "tz_calendar.hpp"

namespace reverse_etl::catalog {
namespace {

using test::error_of;
using test::TzCalendar;
using test::utc_text;
using test::utc_timestamp;

constexpr int64_t kMinute = INT64_C(60000000);
constexpr const char *kFormsHint =
    "Use \"manual\", an interval such as \"15 minutes\" or \"1 hour\", days and times such as "
    "\"mon,wed,fri 09:00\" or \"daily 06:30,18:00\", a five-field cron expression such as "
    "\"*/20 * * * *\", \"dbt\", or \"live\".";

Schedule parse(const std::string &text) { return parse_schedule(text, test::read_test_interval); }

// The detail of the error parse_schedule gives for `text`, after checking the
// parts every schedule syntax error shares.
std::string syntax_detail(const std::string &text) {
    const Error error = error_of([&] { parse(text); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "invalid schedule \"" + text + "\"");
    EXPECT_EQ(error.hint(), kFormsHint);
    return error.detail();
}

// The next `count` fire times after `after`, as UTC text.
std::vector<std::string> fires(const std::string &schedule_text, const std::string &zone,
                               int64_t after, int count) {
    const Schedule schedule = parse(schedule_text);
    const TzCalendar calendar(zone);
    std::vector<std::string> times;
    for (int i = 0; i < count; ++i) {
        const std::optional<int64_t> next = next_run_after(schedule, after, calendar);
        if (!next)
            break;
        EXPECT_GT(*next, after);
        times.push_back(utc_text(*next));
        after = *next;
    }
    return times;
}

using Times = std::vector<std::string>;

// ---------------------------------------------------------------- parsing

TEST(ScheduleParse, ManualDbtAndLiveInAnyCaseAndSpacing) {
    EXPECT_EQ(parse("manual").kind, Schedule::Kind::Manual);
    EXPECT_EQ(parse("  MANUAL\t").kind, Schedule::Kind::Manual);
    EXPECT_EQ(parse("dbt").kind, Schedule::Kind::Dbt);
    EXPECT_EQ(parse("Dbt ").kind, Schedule::Kind::Dbt);
    EXPECT_EQ(parse(" LIVE").kind, Schedule::Kind::Live);
    EXPECT_TRUE(is_live_schedule("Live "));
    EXPECT_FALSE(is_live_schedule("lives"));
    EXPECT_STREQ(schedule_kind_name(Schedule::Kind::Live), "live");
    EXPECT_STREQ(schedule_kind_name(Schedule::Kind::DayAndTime), "day_and_time");
}

TEST(ScheduleParse, IntervalsFromOneMinuteToOneThousandYears) {
    const Schedule quarter = parse("15 minutes");
    EXPECT_EQ(quarter.kind, Schedule::Kind::Interval);
    EXPECT_EQ(quarter.interval_usec, 15 * kMinute);
    EXPECT_EQ(parse("60 seconds").interval_usec, kMinute);
    // 1000 years of 360 days, as interval comparison counts them.
    EXPECT_EQ(parse("1000 years").interval_usec, INT64_C(1000) * 12 * 30 * 24 * 60 * kMinute);

    Error error = error_of([] { parse("59 seconds"); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "schedule interval must be at least 1 minute");
    EXPECT_EQ(error.detail(), "The interval \"59 seconds\" is 59 seconds.");
    EXPECT_EQ(error_of([] { parse("1 second"); }).detail(), "The interval \"1 second\" is 1 second.");
    EXPECT_EQ(error_of([] { parse("59999999 microseconds"); }).detail(),
              "The interval \"59999999 microseconds\" is 59999999 microseconds.");
    EXPECT_EQ(error_of([] { parse("-5 minutes"); }).detail(),
              "The interval \"-5 minutes\" is -300 seconds.");

    error = error_of([] { parse("1000 years 1 day"); });
    EXPECT_EQ(error.sqlstate(), "22023");
    EXPECT_EQ(error.message(), "schedule interval must be at most 1000 years");
    EXPECT_EQ(error.detail(), "The interval \"1000 years 1 day\" is longer than 1000 years.");
}

TEST(ScheduleParse, ClampedIntervalLengthsAreReportedWithoutTheirValue) {
    // An interval PostgreSQL accepts whose length does not fit 64 bits.
    const IntervalReader huge = [](const std::string &text) -> std::optional<IntervalLength> {
        if (text == "-huge")
            return interval_length(INT32_MIN, INT32_MIN, INT64_MIN);
        if (text == "huge")
            return interval_length(INT32_MAX, INT32_MAX, INT64_MAX);
        return std::nullopt;
    };
    EXPECT_EQ(error_of([&] { parse_schedule("-huge", huge); }).detail(),
              "The interval \"-huge\" is negative.");
    EXPECT_EQ(error_of([&] { parse_schedule("huge", huge); }).message(),
              "schedule interval must be at most 1000 years");
}

TEST(ScheduleParse, DaysAndTimes) {
    const Schedule schedule = parse("mon,wed,fri 09:00");
    EXPECT_EQ(schedule.kind, Schedule::Kind::DayAndTime);
    EXPECT_EQ(schedule.minutes_of_day, std::vector<int>{9 * 60});
    EXPECT_EQ(schedule.days_of_week.to_string(), "0101010");   // Saturday ... Sunday
    EXPECT_FALSE(schedule.either_day_field);
    EXPECT_EQ(schedule.days_of_month.count(), 31u);
    EXPECT_EQ(schedule.months.count(), 12u);

    // Times sorted and deduplicated, lists with spaces after commas, H:MM.
    EXPECT_EQ(parse("daily 18:00, 6:30,18:00").minutes_of_day, (std::vector<int>{390, 1080}));
    EXPECT_EQ(parse("daily 06:30 18:00").minutes_of_day, (std::vector<int>{390, 1080}));
    EXPECT_EQ(parse("weekdays 08:00").days_of_week.to_string(), "0111110");
    EXPECT_EQ(parse("weekends 10:00").days_of_week.to_string(), "1000001");
    EXPECT_EQ(parse("mon-fri 08:00").days_of_week, parse("weekdays 08:00").days_of_week);
    // Ranges wrap past Sunday; any prefix of three letters or more names a day.
    EXPECT_EQ(parse("fri-mon 12:00").days_of_week.to_string(), "1100011");
    EXPECT_EQ(parse("Tues, THURS 9:05, 23:59").days_of_week.to_string(), "0010100");
    EXPECT_EQ(parse("wednesday 00:00").days_of_week.to_string(), "0001000");
    EXPECT_EQ(parse("sat sun 10:00").days_of_week, parse("weekends 10:00").days_of_week);
}

TEST(ScheduleParse, DaysAndTimesErrors) {
    EXPECT_EQ(syntax_detail("mon,wed"),
              "Days must be followed by one or more times, such as \"mon,wed,fri 09:00\".");
    EXPECT_EQ(syntax_detail("mnday 09:00"),
              "Unknown day \"mnday\". Write days as mon to sun (or monday to sunday), ranges such as "
              "mon-fri, daily, weekdays or weekends, separated by commas.");
    EXPECT_EQ(syntax_detail("mon-frx 09:00"),
              "Unknown day \"frx\". Write days as mon to sun (or monday to sunday), ranges such as "
              "mon-fri, daily, weekdays or weekends, separated by commas.");
    const std::string bad_time =
        " is not valid. Write times as H:MM or HH:MM on a 24-hour clock, such as 9:00 or 18:30.";
    EXPECT_EQ(syntax_detail("mon 24:00"), "Time \"24:00\"" + bad_time);
    EXPECT_EQ(syntax_detail("mon 12:60"), "Time \"12:60\"" + bad_time);
    EXPECT_EQ(syntax_detail("mon 9am"), "Time \"9am\"" + bad_time);
    EXPECT_EQ(syntax_detail("mon,wed,fri 9"), "Time \"9\"" + bad_time);
    EXPECT_EQ(syntax_detail("mon 123:00"), "Time \"123:00\"" + bad_time);
    EXPECT_EQ(syntax_detail("mon 9:0"), "Time \"9:0\"" + bad_time);
    EXPECT_EQ(syntax_detail("mon +9:00"), "Time \"+9:00\"" + bad_time);
    EXPECT_EQ(syntax_detail("mon,,wed 09:00"), "The list of days has an empty item.");
    EXPECT_EQ(syntax_detail("daily 06:30,"), "The list of times has an empty item.");
}

TEST(ScheduleParse, DayTextIsNeverHandedToTheIntervalParser) {
    // PostgreSQL's interval input reads "mon 09:00" as nine hours.
    const IntervalReader must_not_be_called = [](const std::string &text) -> std::optional<IntervalLength> {
        ADD_FAILURE() << "interval parser called with \"" << text << "\"";
        return std::nullopt;
    };
    EXPECT_EQ(parse_schedule("mon 09:00", must_not_be_called).kind, Schedule::Kind::DayAndTime);
    EXPECT_EQ(error_of([&] { parse_schedule("mon 25:00", must_not_be_called); }).sqlstate(), "22023");
    // Nor is text with cron syntax: the interval input skips '*' and '/'.
    EXPECT_EQ(error_of([&] { parse_schedule("60 * * * *", must_not_be_called); }).detail(),
              "Cron field \"minute\" value 60 is out of range 0-59.");
    EXPECT_EQ(error_of([&] { parse_schedule("*/5 * * *", must_not_be_called); }).sqlstate(), "22023");
}

TEST(ScheduleParse, CronFields) {
    const Schedule every_20 = parse("*/20 * * * *");
    EXPECT_EQ(every_20.kind, Schedule::Kind::Cron);
    ASSERT_EQ(every_20.minutes_of_day.size(), 72u);
    EXPECT_EQ(every_20.minutes_of_day[1], 20);
    EXPECT_EQ(every_20.minutes_of_day.back(), 23 * 60 + 40);
    EXPECT_EQ(every_20.days_of_week.count(), 7u);
    EXPECT_FALSE(every_20.either_day_field);

    // "a/step" runs to the end of the field; "a-b/step" within the range.
    EXPECT_EQ(parse("5/15 8 * * *").minutes_of_day, (std::vector<int>{485, 500, 515, 530}));
    EXPECT_EQ(parse("10-20/5 0 * * *").minutes_of_day, (std::vector<int>{10, 15, 20}));
    EXPECT_EQ(parse("0,45 0-12/6 * * *").minutes_of_day,
              (std::vector<int>{0, 45, 360, 405, 720, 765}));
    // Names in any case, 7 is Sunday like 0.
    EXPECT_EQ(parse("0 9 * jan,JUL mon").months.to_string(), "0000010000010");   // bits 12 ... 0
    EXPECT_EQ(parse("0 0 * * 7").days_of_week, parse("0 0 * * 0").days_of_week);
    EXPECT_EQ(parse("0 0 * * 5-7").days_of_week.to_string(), "1100001");
    EXPECT_EQ(parse("0 0 * * MON-FRI").days_of_week.to_string(), "0111110");
    EXPECT_EQ(parse("0 0 * * */2").days_of_week.to_string(), "1010101");   // 0, 2, 4, 6
    // Both day fields restricted: either matches (Vixie cron). Only the first
    // character counts, so "*/10" is "*".
    EXPECT_TRUE(parse("0 0 1 * mon").either_day_field);
    EXPECT_FALSE(parse("0 0 */10 * mon").either_day_field);
    EXPECT_FALSE(parse("0 0 1 * *").either_day_field);
    // Shortcuts, any case.
    EXPECT_EQ(parse("@hourly").minutes_of_day.size(), 24u);
    EXPECT_EQ(parse("@DAILY").minutes_of_day, std::vector<int>{0});
    EXPECT_EQ(parse("@midnight").minutes_of_day, std::vector<int>{0});
    EXPECT_EQ(parse("@weekly").days_of_week.to_string(), "0000001");
    EXPECT_EQ(parse("@monthly").days_of_month.to_string(), std::string(30, '0') + "10");
    EXPECT_EQ(parse("@yearly").months.to_string(), "0000000000010");
    EXPECT_EQ(parse("@annually").months, parse("@yearly").months);
}

TEST(ScheduleParse, CronErrors) {
    EXPECT_EQ(syntax_detail("60 * * * *"), "Cron field \"minute\" value 60 is out of range 0-59.");
    EXPECT_EQ(syntax_detail("0 24 * * *"), "Cron field \"hour\" value 24 is out of range 0-23.");
    EXPECT_EQ(syntax_detail("0 0 0 * *"), "Cron field \"day of month\" value 0 is out of range 1-31.");
    EXPECT_EQ(syntax_detail("0 0 32 * *"), "Cron field \"day of month\" value 32 is out of range 1-31.");
    EXPECT_EQ(syntax_detail("0 0 * 13 *"), "Cron field \"month\" value 13 is out of range 1-12.");
    EXPECT_EQ(syntax_detail("0 0 * * 8"), "Cron field \"day of week\" value 8 is out of range 0-7.");
    // Digits beyond an int are out of range too, not a crash or a wrap-around.
    EXPECT_EQ(syntax_detail("99999999999999999999 * * * *"),
              "Cron field \"minute\" value 99999999999999999999 is out of range 0-59.");
    EXPECT_EQ(syntax_detail("0 0 * foo *"), "Cron field \"month\" value \"foo\" is not a number or a month name.");
    EXPECT_EQ(syntax_detail("0 0 * * -1"), "Cron field \"day of week\" range \"-1\" is incomplete.");
    EXPECT_EQ(syntax_detail("0 0 * * mon-"), "Cron field \"day of week\" range \"mon-\" is incomplete.");
    EXPECT_EQ(syntax_detail("0 0 * * xyz"),
              "Cron field \"day of week\" value \"xyz\" is not a number or a day name.");
    EXPECT_EQ(syntax_detail("*/0 * * * *"), "Cron field \"minute\" step 0 is out of range 1-60.");
    EXPECT_EQ(syntax_detail("*/61 * * * *"), "Cron field \"minute\" step 61 is out of range 1-60.");
    EXPECT_EQ(syntax_detail("0 0 * * */8"), "Cron field \"day of week\" step 8 is out of range 1-7.");
    EXPECT_EQ(syntax_detail("*/x * * * *"), "Cron field \"minute\" step \"x\" is not a number.");
    EXPECT_EQ(syntax_detail("5-1 * * * *"),
              "Cron field \"minute\" range 5-1 runs backwards; split it in two, such as 5-59,0-1.");
    EXPECT_EQ(syntax_detail("0 0 * * 6-0"),
              "Cron field \"day of week\" range 6-0 runs backwards; split it in two, such as 6,0.");
    EXPECT_EQ(syntax_detail("0 0 1, * *"), "Cron field \"day of month\" has an empty list item.");
    EXPECT_EQ(syntax_detail("0 0 30 2 *"), "Cron fields \"day of month\" and \"month\" never match a real date.");
    EXPECT_EQ(syntax_detail("0 0 31 4,6,9,11 *"),
              "Cron fields \"day of month\" and \"month\" never match a real date.");
    // With days of week restricted too, either field matching is enough.
    EXPECT_EQ(parse("0 0 30 2 mon").kind, Schedule::Kind::Cron);
    EXPECT_EQ(syntax_detail("* * * *"),
              "A cron expression has five fields (minute, hour, day of month, month, day of week), "
              "but this one has 4.");
    EXPECT_EQ(syntax_detail("* * * * * *"),
              "A cron expression has five fields (minute, hour, day of month, month, day of week), "
              "but this one has 6.");
    EXPECT_EQ(syntax_detail("@every_5m"),
              "Unknown cron shortcut \"@every_5m\". Use @hourly, @daily, @weekly, @monthly or @yearly.");
    EXPECT_EQ(syntax_detail(""), "The schedule is empty.");
    EXPECT_EQ(syntax_detail("   "), "The schedule is empty.");
    EXPECT_EQ(syntax_detail("sometimes"), "");
}

TEST(ScheduleParse, FiveWordTextIsCronFirstThenAnInterval) {
    // Cron is tried first; five words that are not valid cron may still be an
    // interval, and when they are not, the cron problem is what is reported.
    const IntervalReader digits = [](const std::string &text) -> std::optional<IntervalLength> {
        if (text.find_first_not_of("0123456789 ") != std::string::npos)
            return std::nullopt;
        return IntervalLength{2 * kMinute, false};
    };
    EXPECT_EQ(parse_schedule("1 2 3 4 5", digits).kind, Schedule::Kind::Cron);
    const Schedule interval = parse_schedule("1 2 3 4 99", digits);
    EXPECT_EQ(interval.kind, Schedule::Kind::Interval);
    EXPECT_EQ(interval.interval_usec, 2 * kMinute);
    EXPECT_EQ(error_of([&] { parse_schedule("1 2 3 4 x", digits); }).detail(),
              "Cron field \"day of week\" value \"x\" is not a number or a day name.");
}

// ---------------------------------------------------------------- next run

TEST(ScheduleNextRun, ManualDbtAndLiveNeverFire) {
    const TzCalendar utc("UTC");
    EXPECT_EQ(next_run_after(parse("manual"), 0, utc), std::nullopt);
    EXPECT_EQ(next_run_after(parse("dbt"), 0, utc), std::nullopt);
    EXPECT_EQ(next_run_after(parse("live"), 0, utc), std::nullopt);
}

TEST(ScheduleNextRun, IntervalsAddToThePreviousStart) {
    const TzCalendar utc("UTC");
    const int64_t start = utc_timestamp(2026, 1, 1, 0, 7) + 30 * 1000000;
    EXPECT_EQ(next_run_after(parse("1 hour"), start, utc), start + 60 * kMinute);
    // Hand-built schedules parse_schedule would refuse never fire.
    Schedule zero;
    zero.kind = Schedule::Kind::Interval;
    EXPECT_EQ(next_run_after(zero, start, utc), std::nullopt);
    zero.interval_usec = -kMinute;
    EXPECT_EQ(next_run_after(zero, start, utc), std::nullopt);
    // Past timestamptz's end (294277-01-01 UTC): PostgreSQL's error, not a wrapped value.
    const int64_t end = INT64_C(9223371331200000000);
    const Error error = error_of([&] { next_run_after(parse("1 day"), end - 24 * 60 * kMinute, utc); });
    EXPECT_EQ(error.sqlstate(), "22008");
    EXPECT_EQ(error.message(), "timestamp out of range");
    EXPECT_EQ(next_run_after(parse("1 day"), end - 24 * 60 * kMinute - 1, utc), end - 1);
    EXPECT_EQ(next_run_after(parse("1 minute"), INT64_MAX - 10, utc), std::nullopt);
}

TEST(ScheduleNextRun, DaysAndTimesInUtc) {
    // 2026-01-01 is a Thursday.
    const int64_t new_year = utc_timestamp(2026, 1, 1, 0, 0);
    EXPECT_EQ(fires("mon,wed,fri 09:00", "UTC", new_year, 4),
              (Times{"2026-01-02 09:00", "2026-01-05 09:00", "2026-01-07 09:00", "2026-01-09 09:00"}));
    EXPECT_EQ(fires("daily 06:30,18:00", "UTC", utc_timestamp(2026, 1, 1, 12, 0), 3),
              (Times{"2026-01-01 18:00", "2026-01-02 06:30", "2026-01-02 18:00"}));
    EXPECT_EQ(fires("fri-mon 12:00", "UTC", new_year, 5),
              (Times{"2026-01-02 12:00", "2026-01-03 12:00", "2026-01-04 12:00", "2026-01-05 12:00",
                     "2026-01-09 12:00"}));
    // `after` is exclusive; a microsecond before a fire time still gets it.
    EXPECT_EQ(fires("weekdays 08:00", "UTC", utc_timestamp(2026, 1, 2, 8, 0), 1), Times{"2026-01-05 08:00"});
    EXPECT_EQ(fires("weekdays 08:00", "UTC", utc_timestamp(2026, 1, 2, 8, 0) - 1, 1),
              Times{"2026-01-02 08:00"});
    // Kolkata is UTC+05:30 all year.
    EXPECT_EQ(fires("weekdays 09:00", "Asia/Kolkata", new_year, 2),
              (Times{"2026-01-01 03:30", "2026-01-02 03:30"}));
}

TEST(ScheduleNextRun, CronCalendarRules) {
    const int64_t new_year = utc_timestamp(2026, 1, 1, 0, 0);
    EXPECT_EQ(fires("*/20 * * * *", "UTC", new_year, 3),
              (Times{"2026-01-01 00:20", "2026-01-01 00:40", "2026-01-01 01:00"}));
    // February 29 only in leap years; 2100 is not one.
    EXPECT_EQ(fires("0 0 29 2 *", "UTC", new_year, 2), (Times{"2028-02-29 00:00", "2032-02-29 00:00"}));
    EXPECT_EQ(fires("0 0 29 2 *", "UTC", utc_timestamp(2096, 3, 1, 0, 0), 1), Times{"2104-02-29 00:00"});
    // The 31st skips months without one.
    EXPECT_EQ(fires("0 0 31 * *", "UTC", new_year, 3),
              (Times{"2026-01-31 00:00", "2026-03-31 00:00", "2026-05-31 00:00"}));
    // Either day field: the 1st (a Sunday in February 2026) or any Monday.
    EXPECT_EQ(fires("0 0 1 * mon", "UTC", utc_timestamp(2026, 1, 20, 0, 0), 4),
              (Times{"2026-01-26 00:00", "2026-02-01 00:00", "2026-02-02 00:00", "2026-02-09 00:00"}));
    // "*/10" counts as "*": days 1, 11, 21, 31 that are Mondays.
    EXPECT_EQ(fires("0 0 */10 * mon", "UTC", new_year, 2), (Times{"2026-05-11 00:00", "2026-06-01 00:00"}));
    // Friday the 13th, or any 13th, or any Friday.
    EXPECT_EQ(fires("0 0 13 * fri", "UTC", utc_timestamp(2026, 4, 1, 0, 0), 3),
              (Times{"2026-04-03 00:00", "2026-04-10 00:00", "2026-04-13 00:00"}));
    EXPECT_EQ(fires("@yearly", "UTC", utc_timestamp(2026, 6, 1, 0, 0), 2),
              (Times{"2027-01-01 00:00", "2028-01-01 00:00"}));
}

// America/New_York springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT).
TEST(ScheduleNextRun, DstGapFiresOnceWherePostgresPutsTheTime) {
    // 02:30 does not exist that day; '2026-03-08 02:30' in that zone is 03:30 EDT.
    EXPECT_EQ(fires("daily 02:30", "America/New_York", utc_timestamp(2026, 3, 6, 12, 0), 4),
              (Times{"2026-03-07 07:30", "2026-03-08 07:30", "2026-03-09 06:30", "2026-03-10 06:30"}));
    EXPECT_EQ(fires("30 2 * * *", "America/New_York", utc_timestamp(2026, 3, 6, 12, 0), 4),
              fires("daily 02:30", "America/New_York", utc_timestamp(2026, 3, 6, 12, 0), 4));
    EXPECT_EQ(fires("daily 02:30", "America/New_York", utc_timestamp(2026, 3, 8, 7, 30), 1),
              Times{"2026-03-09 06:30"});
    // Every 30 minutes across the gap: 02:00 and 02:30 resolve to 03:00 and
    // 03:30, which fire once each.
    EXPECT_EQ(fires("*/30 * * * *", "America/New_York", utc_timestamp(2026, 3, 8, 5, 45), 6),
              (Times{"2026-03-08 06:00", "2026-03-08 06:30", "2026-03-08 07:00", "2026-03-08 07:30",
                     "2026-03-08 08:00", "2026-03-08 08:30"}));
}

// America/New_York falls back on 2026-11-01 (02:00 EDT -> 01:00 EST).
TEST(ScheduleNextRun, DstOverlapFiresOnceOnTheSecondPass) {
    EXPECT_EQ(fires("daily 01:30", "America/New_York", utc_timestamp(2026, 10, 30, 12, 0), 4),
              (Times{"2026-10-31 05:30", "2026-11-01 06:30", "2026-11-02 06:30", "2026-11-03 06:30"}));
    // During the first pass of 01:30 (05:30 UTC) the day's run is still ahead.
    EXPECT_EQ(fires("30 1 * * *", "America/New_York", utc_timestamp(2026, 11, 1, 5, 30), 2),
              (Times{"2026-11-01 06:30", "2026-11-02 06:30"}));
    EXPECT_EQ(fires("*/30 * * * *", "America/New_York", utc_timestamp(2026, 11, 1, 3, 45), 6),
              (Times{"2026-11-01 04:00", "2026-11-01 04:30", "2026-11-01 06:00", "2026-11-01 06:30",
                     "2026-11-01 07:00", "2026-11-01 07:30"}));
}

TEST(ScheduleNextRun, HalfHourAndWholeDayShifts) {
    // Lord Howe Island: 2026-04-05 02:00 (+11) -> 01:30 (+10:30), 2026-10-04
    // 02:00 (+10:30) -> 02:30 (+11).
    EXPECT_EQ(fires("daily 01:45", "Australia/Lord_Howe", utc_timestamp(2026, 4, 3, 0, 0), 3),
              (Times{"2026-04-03 14:45", "2026-04-04 15:15", "2026-04-05 15:15"}));
    EXPECT_EQ(fires("daily 02:15", "Australia/Lord_Howe", utc_timestamp(2026, 10, 2, 0, 0), 3),
              (Times{"2026-10-02 15:45", "2026-10-03 15:45", "2026-10-04 15:15"}));
    // Samoa skipped 2011-12-30 (UTC-10 to UTC+14): noon of the missing day
    // resolves with the offset from before the jump, the same instant as noon
    // of the 31st, and fires once.
    EXPECT_EQ(fires("daily 12:00", "Pacific/Apia", utc_timestamp(2011, 12, 28, 0, 0), 4),
              (Times{"2011-12-28 22:00", "2011-12-29 22:00", "2011-12-30 22:00", "2011-12-31 22:00"}));
}

// The definition next_run_after implements, by brute force: the earliest
// instant later than `after` of any matching local minute, each converted with
// the calendar, over the days from two before to `days` after `after`.
std::optional<int64_t> brute_force_next(const Schedule &schedule, int64_t after, const TzCalendar &calendar,
                                        int days) {
    LocalDateTime day = calendar.to_local(after);
    day.hour = day.minute = 0;
    std::optional<int64_t> earliest;
    for (int offset = -2; offset <= days; ++offset) {
        const LocalDateTime date = calendar.add_days(day, offset);
        const bool dom = schedule.days_of_month[date.day];
        const bool dow = schedule.days_of_week[calendar.day_of_week(date)];
        const bool matches = schedule.months[date.month] &&
                             (schedule.either_day_field ? dom || dow : dom && dow);
        if (!matches)
            continue;
        for (const int minute_of_day : schedule.minutes_of_day) {
            LocalDateTime local = date;
            local.hour = minute_of_day / 60;
            local.minute = minute_of_day % 60;
            const int64_t utc = calendar.to_utc(local);
            if (utc > after && (!earliest || utc < *earliest))
                earliest = utc;
        }
    }
    return earliest;
}

TEST(ScheduleNextRun, MatchesBruteForceAroundTransitions) {
    struct Transition {
        const char *zone;
        int64_t at;
    };
    const std::vector<Transition> transitions = {
        {"America/New_York", utc_timestamp(2026, 3, 8, 7, 0)},
        {"America/New_York", utc_timestamp(2026, 11, 1, 6, 0)},
        {"Europe/Paris", utc_timestamp(2026, 3, 29, 1, 0)},
        {"Europe/Paris", utc_timestamp(2026, 10, 25, 1, 0)},
        {"Australia/Lord_Howe", utc_timestamp(2026, 4, 4, 15, 0)},
        {"Australia/Lord_Howe", utc_timestamp(2026, 10, 3, 15, 30)},
        {"Pacific/Apia", utc_timestamp(2011, 12, 30, 10, 0)},
        {"Asia/Kolkata", utc_timestamp(2026, 3, 8, 7, 0)},
    };
    const std::vector<std::string> schedules = {
        "*/15 * * * *", "*/7 0-3 * * *",  "30 1,2 * * *",   "daily 00:30,01:30,02:30,03:00",
        "0 2 * * sun",  "45 1 1,8 * mon", "weekdays 02:15", "59 23 * * *"};
    std::mt19937_64 random(20260308);   // fixed: the same cases every run
    std::uniform_int_distribution<int64_t> jitter(-36 * 60 * kMinute, 36 * 60 * kMinute);
    int compared = 0;
    for (const Transition &transition : transitions) {
        const TzCalendar calendar(transition.zone);
        for (const std::string &text : schedules) {
            const Schedule schedule = parse(text);
            for (int i = 0; i < 6; ++i) {
                // Whole minutes and odd microseconds, around the change.
                int64_t after = transition.at + jitter(random);
                if (i % 2 == 0)
                    after -= after % kMinute;
                const std::optional<int64_t> expected = brute_force_next(schedule, after, calendar, 9);
                ASSERT_TRUE(expected.has_value()) << text << " " << transition.zone;
                EXPECT_EQ(next_run_after(schedule, after, calendar), expected)
                    << text << " in " << transition.zone << " after " << utc_text(after);
                ++compared;
            }
        }
    }
    EXPECT_EQ(compared, 8 * 8 * 6);
}

}  // namespace
}  // namespace reverse_etl::catalog
