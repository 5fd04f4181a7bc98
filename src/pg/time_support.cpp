#include "pg/time_support.hpp"

#include "pg/error_crossing.hpp"

extern "C" {
#include "access/xact.h"
#include "datatype/timestamp.h"
#include "pgtime.h"
#include "utils/datetime.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"
}

namespace reverse_etl::pg {

namespace {

struct ParsedInterval {
    bool ok;
    int32_t months;
    int32_t days;
    int64_t time;
};

// Runs interval_in in a subtransaction, the way PL/pgSQL's exception blocks do:
// on error the subtransaction is rolled back and the error discarded.
ParsedInterval try_parse_interval(const char *text) {
    const MemoryContext caller_context = CurrentMemoryContext;
    const ResourceOwner caller_owner = CurrentResourceOwner;
    const uint32 interrupt_holdoff = InterruptHoldoffCount;
    const uint32 query_cancel_holdoff = QueryCancelHoldoffCount;
    ParsedInterval parsed{false, 0, 0, 0};
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(caller_context);
    PG_TRY();
    {
        const Interval *interval = DatumGetIntervalP(DirectFunctionCall3(
            interval_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
        // Summed later, by interval_length(): adding them here could overflow.
        parsed.months = interval->month;
        parsed.days = interval->day;
        parsed.time = interval->time;
        parsed.ok = true;
        ReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
    }
    PG_CATCH();
    {
        // errfinish zeroed the holdoff counts before its longjmp (see
        // call_guarded in error_crossing.cpp): put back the caller's.
        InterruptHoldoffCount = interrupt_holdoff;
        QueryCancelHoldoffCount = query_cancel_holdoff;
        MemoryContextSwitchTo(caller_context);
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(caller_context);
        CurrentResourceOwner = caller_owner;
        parsed.ok = false;
    }
    PG_END_TRY();
    return parsed;
}

class PostgresCalendar final : public common::Calendar {
  public:
    explicit PostgresCalendar(pg_tz *zone) : zone_(zone) {}

    int64_t to_utc(const common::LocalDateTime &local) const override {
        return pg_guard([&] {
            struct pg_tm tm = to_pg_tm(local);
            // PostgreSQL's own rule for local times in DST gaps and overlaps,
            // the same one '2026-03-29 02:30'::timestamp AT TIME ZONE uses.
            int offset = DetermineTimeZoneOffset(&tm, zone_);
            TimestampTz result = 0;
            if (tm2timestamp(&tm, 0, &offset, &result) != 0)
                ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                                errmsg("timestamp out of range")));
            return static_cast<int64_t>(result);
        });
    }

    common::LocalDateTime to_local(int64_t utc) const override {
        struct pg_tm tm {};
        pg_guard([&] {
            int offset = 0;
            fsec_t fsec = 0;
            if (timestamp2tm(utc, &offset, &tm, &fsec, nullptr, zone_) != 0)
                ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
                                errmsg("timestamp out of range")));
        });
        return {tm.tm_year, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min};
    }

    common::LocalDateTime add_days(const common::LocalDateTime &date, int days) const override {
        int year = 0, month = 0, day = 0;
        j2date(date2j(date.year, date.month, date.day) + days, &year, &month, &day);
        return {year, month, day, date.hour, date.minute};
    }

    int day_of_week(const common::LocalDateTime &date) const override {
        return j2day(date2j(date.year, date.month, date.day));
    }

  private:
    static struct pg_tm to_pg_tm(const common::LocalDateTime &local) {
        struct pg_tm tm {};
        tm.tm_year = local.year;
        tm.tm_mon = local.month;
        tm.tm_mday = local.day;
        tm.tm_hour = local.hour;
        tm.tm_min = local.minute;
        tm.tm_isdst = -1;
        return tm;
    }

    pg_tz *zone_;  // owned by PostgreSQL's time zone cache, never freed
};

pg_tz *find_zone(const std::string &name) {
    return pg_guard([&] { return pg_tzset(name.c_str()); });
}

}  // namespace

std::optional<IntervalLength> parse_interval_length(const std::string &text) {
    // Guarded too: starting the subtransaction can fail, outside its PG_TRY.
    const ParsedInterval parsed = pg_guard([&] { return try_parse_interval(text.c_str()); });
    if (!parsed.ok)
        return std::nullopt;
    return interval_length(parsed.months, parsed.days, parsed.time);
}

bool is_known_time_zone(const std::string &name) {
    return !name.empty() && find_zone(name) != nullptr;
}

std::unique_ptr<common::Calendar> make_calendar(const std::string &time_zone) {
    pg_tz *zone = find_zone(time_zone);
    if (zone == nullptr)
        throw Error(sqlstate::kInvalidParameterValue, "time zone \"" + time_zone + "\" not recognized",
                    "", "Use a name from pg_timezone_names, such as \"Europe/Paris\" or \"UTC\".");
    return std::make_unique<PostgresCalendar>(zone);
}

int64_t transaction_timestamp() { return GetCurrentTransactionStartTimestamp(); }

std::string timestamptz_text(int64_t timestamp) {
    const char *text = pg_guard([&] {
        return DatumGetCString(DirectFunctionCall1(timestamptz_out, TimestampTzGetDatum(timestamp)));
    });
    return text;
}

int64_t timestamptz_from_text(const std::string &text) {
    return pg_guard([&] {
        return static_cast<int64_t>(DatumGetTimestampTz(DirectFunctionCall3(
            timestamptz_in, CStringGetDatum(text.c_str()), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1))));
    });
}

}  // namespace reverse_etl::pg
