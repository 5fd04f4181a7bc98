// A mapping's run lock: the session-level advisory lock (kRunLockClass,
// mapping id) that a sync worker holds for as long as it runs the mapping.
// Whoever holds it, run or not, keeps any run of the mapping from starting.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::catalog {

inline constexpr int32_t kRunLockClass = 1380275282;  // "RETR"

// "class, key": the arguments of pg_try_advisory_lock() and its kin. The key
// is the mapping id modulo 2^32 (as an int4); two mappings sharing a key only
// wait for each other.
inline std::string run_lock_args(int64_t mapping_id) {
    return std::to_string(kRunLockClass) + ", " + std::to_string(static_cast<int32_t>(mapping_id));
}

// SQL for the pg_locks.objid of the run lock of the bigint mapping id in
// `column`: the same key, read back as the unsigned oid pg_locks shows. (A
// cast through int would fail for ids of 2^31 and above.)
inline std::string run_lock_objid_sql(const std::string &column) {
    return "(" + column + " % 4294967296)::oid";
}

}  // namespace reverse_etl::catalog
