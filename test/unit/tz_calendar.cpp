#include "tz_calendar.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <utility>

namespace reverse_etl::test {
namespace {

constexpr int64_t kUsecPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;
// 2000-01-01 00:00 UTC, PostgreSQL's epoch, in Unix seconds.
constexpr int64_t kPostgresEpoch = 946684800;

int64_t floor_div(int64_t value, int64_t divisor) {
    const int64_t quotient = value / divisor;
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient;
}

// Unix seconds of the given fields read as UTC (timegm normalises overflowing
// days, which add_days relies on).
int64_t fields_as_utc(int year, int month, int day, int hour, int minute) {
    std::tm fields{};
    fields.tm_year = year - 1900;
    fields.tm_mon = month - 1;
    fields.tm_mday = day;
    fields.tm_hour = hour;
    fields.tm_min = minute;
    return static_cast<int64_t>(timegm(&fields));
}

std::tm utc_fields(int64_t unix_seconds) {
    const auto time = static_cast<time_t>(unix_seconds);
    std::tm fields{};
    gmtime_r(&time, &fields);
    return fields;
}

// The zone whose rules localtime_r applies now; switched only when needed.
void use_zone(const std::string &zone) {
    static std::string current;
    if (current == zone)
        return;
    setenv("TZ", (":" + zone).c_str(), 1);
    tzset();
    current = zone;
}

}  // namespace

TzCalendar::TzCalendar(std::string zone) : zone_(std::move(zone)) {
    // The C library quietly falls back to UTC for a zone it cannot read.
    if (zone_ != "UTC" && !std::ifstream("/usr/share/zoneinfo/" + zone_))
        throw std::runtime_error("no time zone data for \"" + zone_ + "\" (is tzdata installed?)");
}

long TzCalendar::offset_at(int64_t unix_seconds) const {
    use_zone(zone_);
    const auto time = static_cast<time_t>(unix_seconds);
    std::tm local{};
    localtime_r(&time, &local);
    return local.tm_gmtoff;
}

int64_t TzCalendar::to_utc(const common::LocalDateTime &local) const {
    // The local fields as if they were UTC; the instant is that minus the offset.
    const int64_t wall = fields_as_utc(local.year, local.month, local.day, local.hour, local.minute);
    // Offsets are under 24 hours and changes 48 hours apart or more, so at
    // most one change lies between these two probes.
    const long before = offset_at(wall - kSecondsPerDay);
    const long after = offset_at(wall + kSecondsPerDay);
    const int64_t by_before = wall - before;
    const int64_t by_after = wall - after;
    int64_t unix_seconds = by_before;
    if (before != after) {
        const bool before_holds = offset_at(by_before) == before;
        const bool after_holds = offset_at(by_after) == after;
        if (before_holds != after_holds)
            unix_seconds = before_holds ? by_before : by_after;   // exists exactly once
        else
            unix_seconds = std::max(by_before, by_after);   // gap or overlap: the later one
    }
    return (unix_seconds - kPostgresEpoch) * kUsecPerSecond;
}

common::LocalDateTime TzCalendar::to_local(int64_t utc) const {
    const int64_t unix_seconds = floor_div(utc, kUsecPerSecond) + kPostgresEpoch;
    const std::tm fields = utc_fields(unix_seconds + offset_at(unix_seconds));
    return {fields.tm_year + 1900, fields.tm_mon + 1, fields.tm_mday, fields.tm_hour, fields.tm_min};
}

common::LocalDateTime TzCalendar::add_days(const common::LocalDateTime &date, int days) const {
    const std::tm fields = utc_fields(fields_as_utc(date.year, date.month, date.day + days, 12, 0));
    return {fields.tm_year + 1900, fields.tm_mon + 1, fields.tm_mday, date.hour, date.minute};
}

int TzCalendar::day_of_week(const common::LocalDateTime &date) const {
    return utc_fields(fields_as_utc(date.year, date.month, date.day, 12, 0)).tm_wday;
}

int64_t utc_timestamp(int year, int month, int day, int hour, int minute) {
    return (fields_as_utc(year, month, day, hour, minute) - kPostgresEpoch) * kUsecPerSecond;
}

std::string utc_text(int64_t timestamp) {
    const int64_t unix_seconds = floor_div(timestamp, kUsecPerSecond) + kPostgresEpoch;
    const std::tm fields = utc_fields(unix_seconds);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d %02d:%02d", fields.tm_year + 1900,
                  fields.tm_mon + 1, fields.tm_mday, fields.tm_hour, fields.tm_min);
    return text;
}

}  // namespace reverse_etl::test
