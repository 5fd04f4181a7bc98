// The destinations' rate limiters in shared memory, so that every run
// sending to one destination (sync() in any backend, sync workers) paces
// against one limit. A small fixed table of slots, one per (database,
// destination, scope), each holding one GCRA timestamp (http/rate_limiter.hpp),
// under one spinlock: each access is a scan of the table and a few
// additions. A slot whose timestamp has passed holds nothing a new limiter
// would not, so it is reused for any key: the table is full only while more
// destinations than it has slots are being paced at the same moment.
//
// Only when the library is in shared_preload_libraries: elsewhere these
// functions answer nullopt / false and callers pace within their run.
#pragma once

#include <cstdint>
#include <optional>

#include "http/rate_limiter.hpp"

namespace reverse_etl::pg {

// From _PG_init, when preloading: asks for the table and creates it at startup.
void request_rate_limit_shmem();

// This database's destination `destination_id`, requests of `scope_hash`.
struct RateLimitKey {
    int64_t destination_id = 0;
    uint64_t scope_hash = 0;
};

// gcra_admit on the key's shared slot. nullopt: no shared table in this
// process, or every slot is in use by another destination.
std::optional<http::Admission> shared_rate_limit_admit(const RateLimitKey &key, int64_t now_ns,
                                                       const http::RateLimit &limit);

// gcra_hold on the key's shared slot; false when there is none (as above).
bool shared_rate_limit_hold(const RateLimitKey &key, int64_t now_ns, int64_t until_ns,
                            const http::RateLimit &limit);

}  // namespace reverse_etl::pg
