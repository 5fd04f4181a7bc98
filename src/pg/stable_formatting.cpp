#include "pg/stable_formatting.hpp"

#include "pg/postgres_headers.hpp"

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

std::vector<ScopedSettings::Setting> pinned_settings() {
    std::vector<ScopedSettings::Setting> settings;
    for (const PinnedSetting &setting : kPinned)
        settings.emplace_back(setting.name, setting.value);
    return settings;
}

}  // namespace

void pin_formatting_for_session() {
    for (const PinnedSetting &setting : kPinned)
        SetConfigOption(setting.name, setting.value, PGC_USERSET, PGC_S_SESSION);
}

StableFormatting::StableFormatting() : settings_(pinned_settings()) {}

}  // namespace reverse_etl::pg
