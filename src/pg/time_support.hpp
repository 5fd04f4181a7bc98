// PostgreSQL's interval parser, time zones and calendar, for C++ code that
// must not include PostgreSQL headers (schedules, settings validation).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/calendar.hpp"
#include "common/interval_length.hpp"

namespace reverse_etl::pg {

// The interval's length (see IntervalLength: a month counts 30 days, a day 24
// hours, as EXTRACT(epoch FROM interval) does; never overflows), or nullopt when
// PostgreSQL's interval input rejects the text. Runs the input function in a
// subtransaction, so a rejected value leaves no error state behind.
std::optional<IntervalLength> parse_interval_length(const std::string &text);

// Whether PostgreSQL knows the time zone name (IANA names such as
// "Europe/Paris", or "UTC"); used to validate a mapping's timezone.
bool is_known_time_zone(const std::string &name);

// Local-time arithmetic in one time zone, delegated to PostgreSQL (pg_tz,
// DetermineTimeZoneOffset, date2j/j2date), so DST follows the tz database.
std::unique_ptr<common::Calendar> make_calendar(const std::string &time_zone);

// now() of the current transaction, as a PostgreSQL TimestampTz.
int64_t transaction_timestamp();

// A TimestampTz printed as timestamptz_out prints it (for SQL parameters).
std::string timestamptz_text(int64_t timestamp);
int64_t timestamptz_from_text(const std::string &text);

}  // namespace reverse_etl::pg
