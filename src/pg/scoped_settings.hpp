// Settings changed for a scope, as SET LOCAL would for a transaction, and
// put back when the scope ends (or when the transaction aborts, whichever
// comes first). Scopes nest with the other GUC nest levels of the engine
// (RoleScope): the innermost ends first.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace reverse_etl::pg {

class ScopedSettings {
  public:
    using Setting = std::pair<std::string, std::string>;  // name, value

    explicit ScopedSettings(const std::vector<Setting> &settings);
    ~ScopedSettings();
    ScopedSettings(const ScopedSettings &) = delete;
    ScopedSettings &operator=(const ScopedSettings &) = delete;

  private:
    void restore() noexcept;

    int guc_nest_level_;
};

}  // namespace reverse_etl::pg
