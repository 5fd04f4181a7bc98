#include "catalog/schedule.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "common/text.hpp"

namespace reverse_etl::catalog {
namespace {

constexpr const char *kFormsHint =
    "Use \"manual\", an interval such as \"15 minutes\" or \"1 hour\", days and times such as "
    "\"mon,wed,fri 09:00\" or \"daily 06:30,18:00\", a five-field cron expression such as "
    "\"*/20 * * * *\", \"dbt\", or \"live\".";

constexpr int64_t kUsecPerSecond = 1000000;
constexpr int64_t kUsecPerMinute = 60 * kUsecPerSecond;
constexpr int64_t kUsecPerDay = 24 * 60 * kUsecPerMinute;
constexpr int kMinutesPerHour = 60;
constexpr int kHoursPerDay = 24;
constexpr int kDaysPerWeek = 7;
constexpr std::size_t kCronFieldCount = 5;

// Every schedule parse_schedule accepts fires at least once in any 400-year
// Gregorian cycle (146097 days: dates and weekdays repeat exactly, and each
// possible date falls on every weekday within it). Scanning one cycle, plus the
// day before `after` where a scan may start, makes nullopt mean "never", not
// "not soon"; ordinary schedules stop within a day or a week, "0 0 29 2 *"
// within eight years.
constexpr int kMaxScanDays = 146097 + 1;

// Raised by the form parsers with the DETAIL to show; parse_schedule turns it
// into the user-facing Error, which also needs the text exactly as given.
class ScheduleSyntaxError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_digit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

std::string trim(const std::string &text) {
    const auto first = std::find_if_not(text.begin(), text.end(), is_space);
    const auto last = std::find_if_not(text.rbegin(), text.rend(), is_space).base();
    return first < last ? std::string(first, last) : std::string();
}

std::vector<std::string> split_words(const std::string &text) {
    std::vector<std::string> words;
    auto cursor = text.begin();
    while (true) {
        const auto start = std::find_if_not(cursor, text.end(), is_space);
        if (start == text.end())
            return words;
        cursor = std::find_if(start, text.end(), is_space);
        words.emplace_back(start, cursor);
    }
}

// Keeps empty items, so "1,,2" can be reported rather than silently accepted.
std::vector<std::string> split(const std::string &text, char separator) {
    std::vector<std::string> items;
    std::string::size_type start = 0;
    while (true) {
        const auto end = text.find(separator, start);
        items.push_back(text.substr(start, end - start));
        if (end == std::string::npos)
            return items;
        start = end + 1;
    }
}

// "mon, wed" -> "mon,wed": people put spaces after commas in day and time lists.
std::string tighten_commas(const std::string &text) {
    std::string result;
    for (const char c : text) {
        if (c == ',')
            while (!result.empty() && is_space(result.back()))
                result.pop_back();
        if (is_space(c) && !result.empty() && result.back() == ',')
            continue;
        result.push_back(c);
    }
    return result;
}

bool all_digits(const std::string &text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_digit);
}

// Digits only (no sign, no spaces); nullopt when the text is not all digits or
// the value does not fit an int.
std::optional<int> parse_unsigned(const std::string &text) {
    int value = 0;
    const char *const end = text.data() + text.size();
    if (!all_digits(text))
        return std::nullopt;
    const auto [parsed_to, error] = std::from_chars(text.data(), end, value);
    if (error != std::errc() || parsed_to != end)
        return std::nullopt;
    return value;
}

// ---------------------------------------------------------------- day and time

constexpr std::array<std::string_view, kDaysPerWeek> kDayNames = {
    "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};

// A day is its full name or any prefix of it of at least three letters, so
// "mon", "tues", "thurs" and "wednesday" all work.
std::optional<int> day_number(const std::string &word) {
    constexpr std::size_t kShortestPrefix = 3;
    const std::string name = lower(word);
    if (name.size() < kShortestPrefix)
        return std::nullopt;
    for (int day = 0; day < kDaysPerWeek; ++day)
        if (kDayNames[day].substr(0, name.size()) == name)
            return day;
    return std::nullopt;
}

std::optional<std::bitset<7>> day_group(const std::string &word) {
    const std::string name = lower(word);
    if (name == "daily")
        return std::bitset<7>("1111111");
    if (name == "weekdays")
        return std::bitset<7>("0111110");  // bit 0 (Sunday) is the rightmost
    if (name == "weekends")
        return std::bitset<7>("1000001");
    return std::nullopt;
}

std::string unknown_day_detail(const std::string &word) {
    return "Unknown day " + quoted(word) +
           ". Write days as mon to sun (or monday to sunday), ranges such as mon-fri, "
           "daily, weekdays or weekends, separated by commas.";
}

int required_day_number(const std::string &word) {
    if (const auto day = day_number(word))
        return *day;
    throw ScheduleSyntaxError(unknown_day_detail(word));
}

// "fri-mon" wraps past Sunday: a range of weekdays reads naturally either way.
std::bitset<7> day_range(int first, int last) {
    std::bitset<7> days;
    for (int day = first;; day = (day + 1) % kDaysPerWeek) {
        days.set(day);
        if (day == last)
            return days;
    }
}

std::bitset<7> parse_day_item(const std::string &item) {
    if (item.empty())
        throw ScheduleSyntaxError("The list of days has an empty item.");
    if (const auto group = day_group(item))
        return *group;
    const auto dash = item.find('-');
    if (dash == std::string::npos)
        return day_range(required_day_number(item), required_day_number(item));
    return day_range(required_day_number(item.substr(0, dash)),
                     required_day_number(item.substr(dash + 1)));
}

std::bitset<7> parse_days(const std::string &word) {
    std::bitset<7> days;
    for (const std::string &item : split(word, ','))
        days |= parse_day_item(item);
    return days;
}

// Decides the form: a word whose first item starts with a day or a day group
// commits the text to "days and times", so mistakes later in it are reported
// as such instead of being handed to the interval parser (which, for one,
// reads "mon 09:00" as nine hours).
bool starts_with_day(const std::string &word) {
    const std::string first_item = split(word, ',').front();
    const std::string first_day = first_item.substr(0, first_item.find('-'));
    return day_group(first_day) || day_number(first_day);
}

std::optional<int> parse_time(const std::string &text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos || colon < 1 || colon > 2 || text.size() != colon + 3)
        return std::nullopt;
    const auto hour = parse_unsigned(text.substr(0, colon));
    const auto minute = parse_unsigned(text.substr(colon + 1));
    if (!hour || !minute || *hour >= kHoursPerDay || *minute >= kMinutesPerHour)
        return std::nullopt;
    return *hour * kMinutesPerHour + *minute;
}

int required_time(const std::string &text) {
    if (text.empty())
        throw ScheduleSyntaxError("The list of times has an empty item.");
    if (const auto minute_of_day = parse_time(text))
        return *minute_of_day;
    throw ScheduleSyntaxError("Time " + quoted(text) +
                              " is not valid. Write times as H:MM or HH:MM on a 24-hour "
                              "clock, such as 9:00 or 18:30.");
}

std::vector<int> sorted_unique(std::vector<int> values) {
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    return values;
}

Schedule day_and_time_schedule(const std::bitset<7> &days, std::vector<int> minutes_of_day) {
    Schedule schedule;
    schedule.kind = Schedule::Kind::DayAndTime;
    schedule.minutes_of_day = sorted_unique(std::move(minutes_of_day));
    schedule.days_of_week = days;
    schedule.days_of_month.set().reset(0);
    schedule.months.set().reset(0);
    return schedule;
}

// Day words first ("mon,wed", "mon wed", "weekdays"), then times ("09:00",
// "06:30,18:00", "06:30 18:00"). nullopt when the text does not start with a day.
std::optional<Schedule> try_day_and_time(const std::string &text) {
    const std::vector<std::string> words = split_words(tighten_commas(text));
    std::size_t next = 0;
    std::bitset<7> days;
    for (; next < words.size() && starts_with_day(words[next]); ++next)
        days |= parse_days(words[next]);
    if (next == 0)
        return std::nullopt;
    if (next == words.size())
        throw ScheduleSyntaxError(
            "Days must be followed by one or more times, such as \"mon,wed,fri 09:00\".");
    std::vector<int> minutes_of_day;
    for (; next < words.size(); ++next)
        for (const std::string &item : split(words[next], ','))
            minutes_of_day.push_back(required_time(item));
    return day_and_time_schedule(days, std::move(minutes_of_day));
}

// ------------------------------------------------------------------------ cron

constexpr std::array<std::string_view, 12> kMonthAbbreviations = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, kDaysPerWeek> kDayAbbreviations = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct CronField {
    const char *name;  // as details name the field
    int min;
    int max;
    int star_max;  // upper end of "*" and of "a/n": day of week accepts 7 but "*" stops at 6
    const char *expected;  // what a value must be, for details
    // Three-letter names of the values min, min + 1, ... (months and days only).
    const std::string_view *names;
    int name_count;
};

constexpr CronField kMinuteField{"minute", 0, 59, 59, "a number", nullptr, 0};
constexpr CronField kHourField{"hour", 0, 23, 23, "a number", nullptr, 0};
constexpr CronField kDayOfMonthField{"day of month", 1, 31, 31, "a number", nullptr, 0};
constexpr CronField kMonthField{"month", 1, 12, 12, "a number or a month name",
                                kMonthAbbreviations.data(), 12};
constexpr CronField kDayOfWeekField{"day of week", 0, 7, 6, "a number or a day name",
                                    kDayAbbreviations.data(), kDaysPerWeek};

// Longest month lengths, leap years included: enough to reject a cron
// expression that names no real date ("0 0 31 2 *") without doing calendar math.
constexpr std::array<int, 13> kLongestMonth = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

// Values 0..63 cover every field; bit n set means value n is listed.
using CronValues = std::bitset<64>;

[[noreturn]] void throw_field_error(const CronField &field, const std::string &problem) {
    throw ScheduleSyntaxError("Cron field " + quoted(field.name) + " " + problem + ".");
}

std::optional<int> cron_name_value(const CronField &field, const std::string &word) {
    const std::string name = lower(word);
    for (int index = 0; index < field.name_count; ++index)
        if (field.names[index] == name)
            return field.min + index;
    return std::nullopt;
}

int cron_value(const CronField &field, const std::string &text) {
    if (all_digits(text)) {
        const auto value = parse_unsigned(text);
        if (!value || *value < field.min || *value > field.max)
            throw_field_error(field, "value " + text + " is out of range " +
                                         std::to_string(field.min) + "-" +
                                         std::to_string(field.max));
        return *value;
    }
    if (const auto value = cron_name_value(field, text))
        return *value;
    throw_field_error(field, "value " + quoted(text) + " is not " + field.expected);
}

int cron_step(const CronField &field, const std::string &text) {
    const int largest = field.star_max - field.min + 1;
    if (!all_digits(text))
        throw_field_error(field, "step " + quoted(text) + " is not a number");
    const auto step = parse_unsigned(text);
    if (!step || *step < 1 || *step > largest)
        throw_field_error(field, "step " + text + " is out of range 1-" + std::to_string(largest));
    return *step;
}

[[noreturn]] void throw_backwards_range(const CronField &field, const std::string &range,
                                        int first, int last) {
    const std::string upper = first >= field.star_max
                                  ? std::to_string(first)
                                  : std::to_string(first) + "-" + std::to_string(field.star_max);
    const std::string lower_part = last == field.min
                                       ? std::to_string(last)
                                       : std::to_string(field.min) + "-" + std::to_string(last);
    throw_field_error(field, "range " + range + " runs backwards; split it in two, such as " +
                                 upper + "," + lower_part);
}

// One list item: "*", "a", "a-b", each optionally followed by "/step";
// "a/step" runs from a to the end of the field, as in cronie.
CronValues parse_cron_item(const CronField &field, const std::string &item) {
    if (item.empty())
        throw_field_error(field, "has an empty list item");
    const auto slash = item.find('/');
    const std::string range = item.substr(0, slash);
    const bool stepped = slash != std::string::npos;
    const int step = stepped ? cron_step(field, item.substr(slash + 1)) : 1;
    const auto dash = range.find('-');
    int first = field.min;
    int last = field.star_max;
    if (range != "*" && dash == std::string::npos) {
        first = cron_value(field, range);
        last = stepped ? field.star_max : first;
    } else if (range != "*") {
        if (dash == 0 || dash + 1 == range.size())
            throw_field_error(field, "range " + quoted(range) + " is incomplete");
        first = cron_value(field, range.substr(0, dash));
        last = cron_value(field, range.substr(dash + 1));
        if (first > last)
            throw_backwards_range(field, range, first, last);
    }
    CronValues values;
    for (int value = first; value <= last; value += step)
        values.set(value);
    return values;
}

CronValues parse_cron_field(const CronField &field, const std::string &text) {
    CronValues values;
    for (const std::string &item : split(text, ','))
        values |= parse_cron_item(field, item);
    return values;
}

template <std::size_t N>
std::bitset<N> narrow(const CronValues &values) {
    std::bitset<N> result;
    for (std::size_t bit = 0; bit < N; ++bit)
        result[bit] = values[bit];
    return result;
}

std::vector<int> cron_minutes_of_day(const CronValues &hours, const CronValues &minutes) {
    std::vector<int> minutes_of_day;
    for (int hour = 0; hour < kHoursPerDay; ++hour)
        for (int minute = 0; minute < kMinutesPerHour; ++minute)
            if (hours[hour] && minutes[minute])
                minutes_of_day.push_back(hour * kMinutesPerHour + minute);
    return minutes_of_day;  // already sorted
}

// Only "day of month AND month" can be impossible: when days of week are
// restricted they either match on their own (Vixie's OR) or meet every date
// somewhere in the Gregorian cycle.
bool names_a_real_date(const Schedule &schedule) {
    if (schedule.either_day_field)
        return true;
    for (int month = 1; month <= 12; ++month)
        for (int day = 1; day <= kLongestMonth[month]; ++day)
            if (schedule.months[month] && schedule.days_of_month[day])
                return true;
    return false;
}

Schedule parse_cron(const std::vector<std::string> &fields) {
    Schedule schedule;
    schedule.kind = Schedule::Kind::Cron;
    schedule.minutes_of_day = cron_minutes_of_day(parse_cron_field(kHourField, fields[1]),
                                                  parse_cron_field(kMinuteField, fields[0]));
    schedule.days_of_month = narrow<32>(parse_cron_field(kDayOfMonthField, fields[2]));
    schedule.months = narrow<13>(parse_cron_field(kMonthField, fields[3]));
    const CronValues days_of_week = parse_cron_field(kDayOfWeekField, fields[4]);
    schedule.days_of_week = narrow<7>(days_of_week);
    schedule.days_of_week[0] = days_of_week[0] || days_of_week[7];  // 7 is Sunday too
    // Vixie cron looks only at the first character: "*/2" still counts as "*".
    schedule.either_day_field = fields[2].front() != '*' && fields[4].front() != '*';
    if (!names_a_real_date(schedule))
        throw ScheduleSyntaxError(
            "Cron fields \"day of month\" and \"month\" never match a real date.");
    return schedule;
}

std::optional<std::string> cron_shortcut(const std::string &text) {
    constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kShortcuts = {{
        {"@hourly", "0 * * * *"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},
        {"@monthly", "0 0 1 * *"},
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
    }};
    const std::string name = lower(text);
    for (const auto &[shortcut, expression] : kShortcuts)
        if (name == shortcut)
            return std::string(expression);
    return std::nullopt;
}

// -------------------------------------------------------------------- interval

std::string describe_seconds(int64_t usec) {
    if (usec % kUsecPerSecond != 0)
        return std::to_string(usec) + " microseconds";
    const int64_t seconds = usec / kUsecPerSecond;
    return std::to_string(seconds) + (seconds == 1 ? " second" : " seconds");
}

// 1000 years of 12 months of 30 days, as interval comparison counts them
// ('365000 days'::interval > '1000 years' is true): from any time before the
// year 293000 the next run stays inside timestamptz's range.
constexpr int64_t kMaxIntervalUsec = INT64_C(1000) * 12 * 30 * kUsecPerDay;

Schedule interval_schedule(const std::string &text, const IntervalLength &length) {
    // Shorter periods would keep a sync running back to back and flood the destination.
    if (length.usec < kUsecPerMinute)
        throw Error(sqlstate::kInvalidParameterValue, "schedule interval must be at least 1 minute",
                    "The interval " + quoted(text) + " is " +
                        (length.clamped ? std::string("negative") : describe_seconds(length.usec)) + ".");
    if (length.usec > kMaxIntervalUsec)
        throw Error(sqlstate::kInvalidParameterValue, "schedule interval must be at most 1000 years",
                    "The interval " + quoted(text) + " is longer than 1000 years.");
    Schedule schedule;
    schedule.kind = Schedule::Kind::Interval;
    schedule.interval_usec = length.usec;
    return schedule;
}

// ----------------------------------------------------------------- dispatching

// What to say when no form accepted the text: a best guess at the intended form.
std::string diagnose(const std::vector<std::string> &words) {
    const bool looks_like_cron = std::any_of(words.begin(), words.end(), [](const std::string &word) {
        return word.find('*') != std::string::npos;
    });
    if (words.size() == 1 && words[0].front() == '@')
        return "Unknown cron shortcut " + quoted(words[0]) +
               ". Use @hourly, @daily, @weekly, @monthly or @yearly.";
    if (looks_like_cron)
        return "A cron expression has five fields (minute, hour, day of month, month, day of "
               "week), but this one has " +
               std::to_string(words.size()) + ".";
    // "mnday 09:00": a misspelt day in front of times.
    const std::string first_item = split(words.front(), ',').front();
    if (words.size() >= 2 && !first_item.empty() &&
        std::isalpha(static_cast<unsigned char>(first_item.front())) &&
        parse_time(split(words.back(), ',').front()))
        return unknown_day_detail(first_item.substr(0, first_item.find('-')));
    return {};
}

Schedule parse_trimmed(const std::string &text, const IntervalParser &parse_interval) {
    if (text.empty())
        throw ScheduleSyntaxError("The schedule is empty.");
    const std::string name = lower(text);
    if (name == "manual" || name == "dbt" || name == "live") {
        Schedule schedule;
        schedule.kind = name == "manual" ? Schedule::Kind::Manual
                        : name == "dbt"  ? Schedule::Kind::Dbt
                                         : Schedule::Kind::Live;
        return schedule;
    }
    if (const auto expression = cron_shortcut(text))
        return parse_cron(split_words(*expression));
    if (auto schedule = try_day_and_time(text))
        return std::move(*schedule);
    // Cron before interval, but a five-word text that is not valid cron may
    // still be an interval ("1 day 2 hours 3"); keep the cron problem for when it is not.
    const std::vector<std::string> words = split_words(text);
    std::optional<ScheduleSyntaxError> cron_problem;
    if (words.size() == kCronFieldCount) {
        try {
            return parse_cron(words);
        } catch (const ScheduleSyntaxError &problem) {
            cron_problem = problem;
        }
    }
    // PostgreSQL's interval input skips characters such as '*' and '/' (it
    // reads "60 * * * *" as one minute), so text with cron syntax is cron.
    const bool looks_like_cron = text.find_first_of("*/") != std::string::npos;
    if (!looks_like_cron) {
        if (const auto length = parse_interval(text))
            return interval_schedule(text, *length);
    }
    if (cron_problem)
        throw *cron_problem;
    throw ScheduleSyntaxError(diagnose(words));
}

// -------------------------------------------------------------- next run

LocalDateTime at_minute_of_day(LocalDateTime date, int minute_of_day) {
    date.hour = minute_of_day / kMinutesPerHour;
    date.minute = minute_of_day % kMinutesPerHour;
    return date;
}

bool same_minute(const LocalDateTime &a, const LocalDateTime &b) {
    return a.year == b.year && a.month == b.month && a.day == b.day && a.hour == b.hour &&
           a.minute == b.minute;
}

bool fires_on(const Schedule &schedule, const LocalDateTime &date, const Calendar &calendar) {
    if (!schedule.months[date.month])
        return false;
    const bool day_of_month = schedule.days_of_month[date.day];
    if (!schedule.either_day_field && !day_of_month)
        return false;  // skips the weekday lookup on most days of a monthly schedule
    const bool day_of_week = schedule.days_of_week[calendar.day_of_week(date)];
    return schedule.either_day_field ? day_of_month || day_of_week : day_of_week;
}

// Where the scan for the next run starts: a local midnight, and the minutes of
// that first day known to resolve to `after` or earlier (-1: none known).
struct ScanStart {
    LocalDateTime date;
    int past_through_minute = -1;
};

// True when the zone's offset is the same a day before, at, and a day after
// `after`. PostgreSQL assumes offset changes are at least 48 hours apart, so
// then none happens in between: every wall-clock minute from a day before to a
// day after exists exactly once, in order.
bool steady_offset_around(int64_t after, const LocalDateTime &now, const Calendar &calendar) {
    if (after < std::numeric_limits<int64_t>::min() + kUsecPerDay ||
        after > std::numeric_limits<int64_t>::max() - kUsecPerDay)
        return false;
    return same_minute(calendar.to_local(after - kUsecPerDay), calendar.add_days(now, -1)) &&
           same_minute(calendar.to_local(after + kUsecPerDay), calendar.add_days(now, 1));
}

// Near an offset change, local order says little about which minutes lie past
// `after`: a minute inside a DST gap resolves past the gap (PostgreSQL applies
// the offset from before the jump), up to a whole day later when Samoa skipped
// 2011-12-30; a minute inside an overlap resolves to its second pass, after a
// `after` in the first. So scan from the day before and convert every minute.
// Away from changes (nearly always) start at `after`'s own minute.
ScanStart scan_start(int64_t after, const Calendar &calendar) {
    const LocalDateTime now = calendar.to_local(after);
    const LocalDateTime midnight = at_minute_of_day(now, 0);
    if (steady_offset_around(after, now, calendar))
        return {midnight, now.hour * kMinutesPerHour + now.minute};
    return {calendar.add_days(midnight, -1), -1};
}

// Folds one day's firing instants later than `after` into `earliest`. Returns
// true when no later local minute can resolve earlier: a minute that exists on
// the clock (converting back gives it again) resolves before every later local
// minute, gap or not, so the first such minute past `after` ends the search.
bool scan_day(const Schedule &schedule, const LocalDateTime &date, int past_through_minute,
              int64_t after, const Calendar &calendar, std::optional<int64_t> &earliest) {
    const auto first = std::upper_bound(schedule.minutes_of_day.begin(),
                                        schedule.minutes_of_day.end(), past_through_minute);
    for (auto minute_of_day = first; minute_of_day != schedule.minutes_of_day.end();
         ++minute_of_day) {
        const LocalDateTime local = at_minute_of_day(date, *minute_of_day);
        const int64_t utc = calendar.to_utc(local);
        if (utc <= after)
            continue;
        if (!earliest || utc < *earliest)
            earliest = utc;
        if (same_minute(calendar.to_local(utc), local))
            return true;
    }
    return false;
}

std::optional<int64_t> next_wall_clock_run(const Schedule &schedule, int64_t after,
                                           const Calendar &calendar) {
    const ScanStart start = scan_start(after, calendar);
    std::optional<int64_t> earliest;
    for (int offset = 0; offset < kMaxScanDays; ++offset) {
        const LocalDateTime date = calendar.add_days(start.date, offset);
        const int past_through_minute = offset == 0 ? start.past_through_minute : -1;
        if (fires_on(schedule, date, calendar) &&
            scan_day(schedule, date, past_through_minute, after, calendar, earliest))
            break;
    }
    return earliest;
}

}  // namespace

const char *schedule_kind_name(Schedule::Kind kind) {
    switch (kind) {
    case Schedule::Kind::Manual: return "manual";
    case Schedule::Kind::Interval: return "interval";
    case Schedule::Kind::DayAndTime: return "day_and_time";
    case Schedule::Kind::Cron: return "cron";
    case Schedule::Kind::Dbt: return "dbt";
    case Schedule::Kind::Live: return "live";
    }
    return "unknown";
}

bool is_dbt_schedule(const std::string &text) { return lower(trim(text)) == "dbt"; }

bool is_live_schedule(const std::string &text) { return lower(trim(text)) == "live"; }

Schedule parse_schedule(const std::string &text, const IntervalParser &parse_interval) {
    try {
        return parse_trimmed(trim(text), parse_interval);
    } catch (const ScheduleSyntaxError &problem) {
        throw Error(sqlstate::kInvalidParameterValue, "invalid schedule " + quoted(text),
                    problem.what(), kFormsHint);
    }
}

std::optional<int64_t> next_run_after(const Schedule &schedule, int64_t after,
                                      const Calendar &calendar) {
    switch (schedule.kind) {
    case Schedule::Kind::Manual:
    case Schedule::Kind::Dbt:
    case Schedule::Kind::Live: return std::nullopt;
    case Schedule::Kind::Interval: {
        // parse_schedule guarantees a positive interval; a hand-built one that
        // is not, or an `after` near +infinity, never fires.
        const int64_t interval = schedule.interval_usec;
        if (interval <= 0 || after > std::numeric_limits<int64_t>::max() - interval)
            return std::nullopt;
        // PostgreSQL's timestamps end before 294277-01-01 00:00 UTC (END_TIMESTAMP).
        constexpr int64_t kEndTimestamp = INT64_C(9223371331200000000);
        if (after + interval >= kEndTimestamp)
            throw Error("22008", "timestamp out of range");
        return after + interval;
    }
    case Schedule::Kind::DayAndTime:
    case Schedule::Kind::Cron: return next_wall_clock_run(schedule, after, calendar);
    }
    return std::nullopt;
}

}  // namespace reverse_etl::catalog
