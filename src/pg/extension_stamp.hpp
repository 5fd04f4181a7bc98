// Which version of the extension's row in pg_extension this backend sees:
// CREATE EXTENSION, ALTER EXTENSION ... UPDATE and DROP EXTENSION each make
// a new one, and they are the only statements that change what the
// extension's scripts installed (the destination types). Caches of such
// things compare it to decide whether they still hold.
#pragma once

#include <cstddef>
#include <cstdint>

namespace reverse_etl::pg {

struct ExtensionStamp {
    unsigned int oid = 0;      // 0: the extension is not installed
    uint32_t xmin = 0;         // of the row version, as the system column xmin shows it

    bool operator==(const ExtensionStamp &other) const { return oid == other.oid && xmin == other.xmin; }
    bool operator!=(const ExtensionStamp &other) const { return !(*this == other); }
};

// The row version committed last (the catalog snapshot's): no SQL, a lookup
// by the catalog's name index. `written_here` is set when this transaction
// wrote that version (its changes to the extension are not committed: cache
// nothing read now).
ExtensionStamp extension_stamp(bool &written_here);

// The same, and the installed version (pg_extension.extversion) in
// `version`, a buffer of `size` bytes ("" when not installed; cut to fit).
ExtensionStamp extension_stamp(bool &written_here, char *version, size_t size);

}  // namespace reverse_etl::pg
