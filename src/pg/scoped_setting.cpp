#include "pg/scoped_setting.hpp"

#include "pg/error_crossing.hpp"

namespace reverse_etl::pg {

ScopedSetting::ScopedSetting(const std::string &name, const std::string &value) {
    guc_nest_level_ = pg_guard([] { return NewGUCNestLevel(); });
    try {
        pg_guard([&] {
            set_config_option(name.c_str(), value.c_str(), PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
                              false);
        });
    } catch (...) {
        // A constructor that throws runs no destructor.
        restore();
        throw;
    }
}

ScopedSetting::~ScopedSetting() { restore(); }

void ScopedSetting::restore() noexcept {
    const int nest_level = guc_nest_level_;
    restore_or_exit("a planner setting", [&] { AtEOXact_GUC(false, nest_level); });
}

}  // namespace reverse_etl::pg
