#include "pg/extension_version.hpp"

#include "common/error.hpp"
#include "common/version.hpp"
#include "pg/extension_stamp.hpp"
#include "pg/postgres_headers.hpp"

extern "C" {
#include "commands/extension.h"
}

namespace reverse_etl::pg {

namespace {

struct CachedCheck {
    ExtensionStamp stamp;
    std::optional<std::string> mismatch;
};

std::optional<CachedCheck> cached;

}  // namespace

std::optional<std::string> installed_version_mismatch() {
    if (creating_extension)
        return std::nullopt;
    bool written_here = false;
    char version[64];
    const ExtensionStamp stamp = extension_stamp(written_here, version, sizeof(version));
    if (cached && cached->stamp == stamp && !written_here)
        return cached->mismatch;
    std::optional<std::string> mismatch;
    if (stamp.oid != 0 && std::string(version) != kExtensionVersion)
        mismatch = std::string(version);
    // A row this transaction wrote may still roll back: keep nothing.
    if (written_here)
        cached.reset();
    else
        cached = CachedCheck{stamp, mismatch};
    return mismatch;
}

void require_installed_version() {
    if (const auto installed = installed_version_mismatch())
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    std::string("reverse_etl library version ") + kExtensionVersion +
                        " does not match the installed extension version " + *installed,
                    "The library was upgraded, and the extension's SQL objects and sync state in this database "
                    "were not. Nothing syncs and the catalog cannot change until they match.",
                    "Run ALTER EXTENSION reverse_etl UPDATE.");
}

}  // namespace reverse_etl::pg
