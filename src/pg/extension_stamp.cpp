#include "pg/extension_stamp.hpp"

#include "pg/error_crossing.hpp"
#include "pg/postgres_headers.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "catalog/pg_extension.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
}

namespace reverse_etl::pg {

ExtensionStamp extension_stamp(bool &written_here) {
    return extension_stamp(written_here, nullptr, 0);
}

ExtensionStamp extension_stamp(bool &written_here, char *version, size_t size) {
    if (version != nullptr && size > 0)
        version[0] = '\0';
    ExtensionStamp stamp;
    bool mine = false;
    pg_guard([&] {
        Relation extensions = table_open(ExtensionRelationId, AccessShareLock);
        ScanKeyData key;
        ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
                    CStringGetDatum("reverse_etl"));
        SysScanDesc scan = systable_beginscan(extensions, ExtensionNameIndexId, true, nullptr, 1, &key);
        const HeapTuple tuple = systable_getnext(scan);
        if (HeapTupleIsValid(tuple)) {
            stamp.oid = reinterpret_cast<Form_pg_extension>(GETSTRUCT(tuple))->oid;
            // The raw xmin, as SQL's xmin column shows it, frozen or not.
            const TransactionId xmin = HeapTupleHeaderGetRawXmin(tuple->t_data);
            stamp.xmin = xmin;
            mine = TransactionIdIsCurrentTransactionId(xmin);
            bool is_null = true;
            const Datum value = heap_getattr(tuple, Anum_pg_extension_extversion, RelationGetDescr(extensions),
                                            &is_null);
            if (version != nullptr && size > 0 && !is_null) {
                char *const installed = TextDatumGetCString(value);
                strlcpy(version, installed, size);
                pfree(installed);
            }
        }
        systable_endscan(scan);
        table_close(extensions, AccessShareLock);
    });
    written_here = mine;
    return stamp;
}

}  // namespace reverse_etl::pg
