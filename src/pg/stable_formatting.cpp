#include "pg/stable_formatting.hpp"

#include "pg/error_crossing.hpp"

namespace reverse_etl::pg {

namespace {

struct PinnedSetting {
    const char *name;
    const char *value;
};

// UTC and ISO make timestamps ISO 8601 with a +00:00 offset in JSON.
constexpr PinnedSetting kPinned[] = {
    {"TimeZone", "UTC"},
    {"DateStyle", "ISO, YMD"},
    {"IntervalStyle", "postgres"},
    {"extra_float_digits", "1"},
};

}  // namespace

StableFormatting::StableFormatting() {
    guc_nest_level_ = pg_guard([] {
        const int level = NewGUCNestLevel();
        for (const PinnedSetting &setting : kPinned)
            set_config_option(setting.name, setting.value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                              false);
        return level;
    });
}

StableFormatting::~StableFormatting() { AtEOXact_GUC(false, guc_nest_level_); }

}  // namespace reverse_etl::pg
