// The length of a PostgreSQL interval in microseconds, computed without
// overflow. Pure C++: the boundary (src/pg/time_support.cpp) reads the
// interval's fields, everything else compares lengths.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace reverse_etl {

// Microseconds as EXTRACT(epoch FROM interval) and interval comparison count
// them: a month is 30 days, a day 24 hours. The exact length of an interval can
// lie beyond int64 (its months alone reach about 176 million years); `usec` is
// then clamped to INT64_MIN or INT64_MAX and `clamped` is set. A clamped length
// still compares correctly with any limit, but is not a value to print.
struct IntervalLength {
    int64_t usec = 0;
    bool clamped = false;
};

IntervalLength interval_length(int32_t months, int32_t days, int64_t time_usec);

// The length of the interval PostgreSQL reads from a text, or nullopt when its
// interval input rejects the text (pg::parse_interval_length). Pure code takes
// one of these instead of calling PostgreSQL. Must not throw for text that is
// merely not an interval.
using IntervalReader = std::function<std::optional<IntervalLength>(const std::string &)>;

}  // namespace reverse_etl
