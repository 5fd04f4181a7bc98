// A mapping's run lock: the session-level advisory lock (kRunLockClass,
// mapping id) that a sync worker holds for as long as it runs the mapping.
// Whoever holds it, run or not, keeps any run of the mapping from starting.
#pragma once

#include <cstdint>
#include <string>

namespace reverse_etl::catalog {

inline constexpr int32_t kRunLockClass = 1380275282;  // "RETR"

// "class, key": the arguments of pg_try_advisory_lock() and its kin. Mapping
// ids wrap at 2^31 here; two mappings sharing a key only wait for each other.
inline std::string run_lock_args(int64_t mapping_id) {
    return std::to_string(kRunLockClass) + ", " + std::to_string(static_cast<int32_t>(mapping_id));
}

}  // namespace reverse_etl::catalog
