#include "pg/scoped_settings.hpp"

#include "pg/error_crossing.hpp"

namespace reverse_etl::pg {

ScopedSettings::ScopedSettings(const std::vector<Setting> &settings) {
    guc_nest_level_ = pg_guard([] { return NewGUCNestLevel(); });
    try {
        pg_guard([&] {
            for (const auto &[name, value] : settings)
                set_config_option(name.c_str(), value.c_str(), PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                                  false);
        });
    } catch (...) {
        // A constructor that throws runs no destructor: put back the
        // settings changed so far here.
        restore();
        throw;
    }
}

ScopedSettings::~ScopedSettings() { restore(); }

// Also runs while an exception unwinds the stack: guarded, and it cannot
// fail (restore_or_exit ends the session should it ever).
void ScopedSettings::restore() noexcept {
    const int nest_level = guc_nest_level_;
    restore_or_exit("settings changed for a statement", [&] { AtEOXact_GUC(false, nest_level); });
}

}  // namespace reverse_etl::pg
