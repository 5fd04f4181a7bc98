// Which values of reverse_etl.history_retention a run can prune by, for the
// setting's check hook. The hook runs in the postmaster at startup and in any
// process on SIGHUP, outside a transaction: no SPI, no subtransaction, and
// nothing here may ereport or throw.
#pragma once

#include <cstdint>

namespace reverse_etl::pg {

enum class RetentionProblem {
    None,
    NotInterval,  // PostgreSQL's interval input refuses the text
    Negative,     // now minus it is later than now: it would prune the run that just ended
    OutOfRange,   // the interval, or now minus it, is beyond what PostgreSQL can represent
};

// What is wrong with `text` as a retention at time `now` (a TimestampTz).
// Mirrors what a run does with it at its end, "finished_at < now() -
// $1::interval" in a sync worker (IntervalStyle postgres, TimeZone UTC): a
// value accepted here makes that statement work at `now`, one refused here
// makes it fail or delete the run that just ended. An accepted value stays
// usable later, unless it mixes signs so that the length of a month decides
// (from March, '1 mon -30 days' counts forward).
RetentionProblem history_retention_problem(const char *text, int64_t now) noexcept;

}  // namespace reverse_etl::pg
