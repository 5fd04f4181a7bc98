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

void pin_formatting_for_session() {
    for (const PinnedSetting &setting : kPinned)
        SetConfigOption(setting.name, setting.value, PGC_USERSET, PGC_S_SESSION);
}

StableFormatting::StableFormatting() {
    guc_nest_level_ = pg_guard([] { return NewGUCNestLevel(); });
    try {
        pg_guard([] {
            for (const PinnedSetting &setting : kPinned)
                set_config_option(setting.name, setting.value, PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                                  false);
        });
    } catch (...) {
        // No destructor runs for a constructor that throws: put back the
        // settings pinned so far here.
        restore();
        throw;
    }
}

StableFormatting::~StableFormatting() { restore(); }

// Also runs while an exception unwinds the stack: guarded, and it cannot
// fail (restore_or_exit ends the session should it ever).
void StableFormatting::restore() noexcept {
    const int nest_level = guc_nest_level_;
    restore_or_exit("the value formatting settings", [&] { AtEOXact_GUC(false, nest_level); });
}

}  // namespace reverse_etl::pg
