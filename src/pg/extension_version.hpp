// The library and the installed extension must be of one version: the code
// reads and writes the catalog and the sync state that its own version's
// scripts make. They differ between a package upgrade (a new library, loaded
// at the next connection or restart) and ALTER EXTENSION reverse_etl UPDATE
// (the new objects); in that window nothing that syncs or changes the catalog
// may run, or it could misread the state and send records again.
#pragma once

#include <optional>
#include <string>

namespace reverse_etl::pg {

// The installed version when it is not the library's; nullopt when they
// match, when the extension is not installed, and while an extension script
// (CREATE or ALTER EXTENSION) runs. Cached per version of the extension's
// pg_extension row: one index lookup a call.
std::optional<std::string> installed_version_mismatch();

// Throws 55000 naming both versions when installed_version_mismatch() finds one.
void require_installed_version();

}  // namespace reverse_etl::pg
