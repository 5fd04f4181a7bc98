// A setting changed for a scope, as SET LOCAL would for a transaction, and
// put back when the scope ends (or when the transaction aborts, whichever
// comes first). Scopes nest with the other GUC nest levels of the engine
// (RoleScope, StableFormatting): the innermost ends first.
#pragma once

#include <string>

namespace reverse_etl::pg {

class ScopedSetting {
  public:
    ScopedSetting(const std::string &name, const std::string &value);
    ~ScopedSetting();
    ScopedSetting(const ScopedSetting &) = delete;
    ScopedSetting &operator=(const ScopedSetting &) = delete;

  private:
    void restore() noexcept;

    int guc_nest_level_;
};

}  // namespace reverse_etl::pg
