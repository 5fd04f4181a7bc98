// What the fuzz targets share: the destination types, a stand-in for
// PostgreSQL's interval input and calendar (the server-free code takes both as
// parameters), and the checks that turn a broken invariant into a crash
// libFuzzer reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/destination_type.hpp"
#include "catalog/field_mapping.hpp"
#include "catalog/schedule.hpp"
#include "common/error.hpp"
#include "common/interval_length.hpp"
#include "common/json_text.hpp"

namespace fuzz {

// The input as text (any bytes, NULs included).
std::string text_of(const uint8_t *data, size_t size);

// The input cut at every `separator` byte.
std::vector<std::string> split(std::string_view text, char separator);

// Aborts with `what` (libFuzzer then saves the input) when `condition` fails.
#define FUZZ_CHECK(condition, what) \
    ((condition) ? (void)0 : ::fuzz::fail(__FILE__, __LINE__, #condition, (what)))
[[noreturn]] void fail(const char *file, int line, const char *condition, const std::string &what);

// For a reverse_etl::Error the code under test threw at input it should
// refuse: fine, unless its SQLSTATE is XX000 (internal error), which the code
// reserves for its own bugs.
void expect_user_error(const reverse_etl::Error &error, const std::string &where);

// True if a string or key of `value` holds a NUL character (written \u0000):
// jsonb refuses those, so text that went through jsonb never has one.
bool holds_nul(const reverse_etl::JsonValue &value);

// The destination types shipped in src/destinations/ plus test/fuzz/fuzz_type.json
// (every setting and field type), parsed once.
const std::vector<reverse_etl::catalog::DestinationType> &destination_types();
const reverse_etl::catalog::DestinationType &destination_type(const std::string &type);

// A model with a column of each type PostgreSQL renders differently, named as
// the pg_regress tests name theirs (so their field mappings are valid seeds).
const std::vector<reverse_etl::Column> &model_columns();

// Rows of that model as the engine gets them: each column rendered by
// PostgreSQL's to_json(), nullopt for NULL. The first is a typical row, the
// second all NULL but its key, the third has odd values for every type.
using Row = std::vector<std::optional<std::string>>;
const std::vector<Row> &sample_rows();

// Settings of each destination type that validate and make requests.
std::string valid_settings(const std::string &type);

// The action as a mapping sends it: every action setting it declares given a
// value of its type (a run binds them before it builds requests).
reverse_etl::catalog::ActionDef bound(const reverse_etl::catalog::ActionDef &action);

// A small subset of PostgreSQL's interval input: "N unit" groups ("90 seconds",
// "1 day 2 hours", "-5 min", "2 mons"), units from microseconds to years. Its
// answers are what IntervalReader promises: nullopt, never an exception.
std::optional<reverse_etl::IntervalLength> read_interval(const std::string &text);

// A calendar with one time zone: UTC, or a zone at UTC+1 that moves to UTC+2
// from the last Sunday of March to the last Sunday of October at 01:00 UTC,
// resolving times in the gap and in the overlap as PostgreSQL does.
class ZoneCalendar : public reverse_etl::catalog::Calendar {
  public:
    explicit ZoneCalendar(bool daylight_saving) : dst_(daylight_saving) {}
    int64_t to_utc(const reverse_etl::catalog::LocalDateTime &local) const override;
    reverse_etl::catalog::LocalDateTime to_local(int64_t utc) const override;
    reverse_etl::catalog::LocalDateTime add_days(const reverse_etl::catalog::LocalDateTime &date,
                                                 int days) const override;
    int day_of_week(const reverse_etl::catalog::LocalDateTime &date) const override;

  private:
    int64_t offset_at(int64_t utc) const;
    bool dst_;
};

constexpr int64_t kUsecPerMinute = INT64_C(60000000);
constexpr int64_t kUsecPerHour = 60 * kUsecPerMinute;
constexpr int64_t kUsecPerDay = 24 * kUsecPerHour;

// Days from 2000-01-01 to a date of the proleptic Gregorian calendar.
int64_t days_from_civil(int64_t year, int month, int day);

}  // namespace fuzz
