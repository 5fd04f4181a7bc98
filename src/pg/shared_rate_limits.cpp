#include "pg/shared_rate_limits.hpp"

#include "pg/postgres_headers.hpp"

extern "C" {
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
}

namespace reverse_etl::pg {

namespace {

// Destinations paced at the same moment, across all databases. A slot is
// 32 bytes: the table is 2 kB.
constexpr int kSlots = 64;

struct Slot {
    bool used;
    Oid database;
    int64 destination_id;
    uint64 scope_hash;
    int64 tat_ns;
};

struct SharedRateLimits {
    slock_t mutex;
    Slot slots[kSlots];
};

SharedRateLimits *shared = nullptr;
shmem_request_hook_type previous_shmem_request_hook = nullptr;
shmem_startup_hook_type previous_shmem_startup_hook = nullptr;

void rate_limit_shmem_request() {
    if (previous_shmem_request_hook)
        previous_shmem_request_hook();
    RequestAddinShmemSpace(MAXALIGN(sizeof(SharedRateLimits)));
}

void rate_limit_shmem_startup() {
    if (previous_shmem_startup_hook)
        previous_shmem_startup_hook();
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found = false;
    shared = static_cast<SharedRateLimits *>(
        ShmemInitStruct("reverse_etl rate limits", sizeof(SharedRateLimits), &found));
    if (!found) {
        SpinLockInit(&shared->mutex);
        for (Slot &slot : shared->slots)
            slot = Slot{false, InvalidOid, 0, 0, 0};
    }
    LWLockRelease(AddinShmemInitLock);
}

// The key's slot, or a free one claimed for it; nullptr when the table is
// full. Call with the mutex held (plain code: nothing here can ereport).
Slot *slot_for(const RateLimitKey &key, int64_t now_ns) {
    Slot *reusable = nullptr;
    for (Slot &slot : shared->slots) {
        if (slot.used && slot.database == MyDatabaseId && slot.destination_id == key.destination_id &&
            slot.scope_hash == key.scope_hash)
            return &slot;
        if (!reusable && (!slot.used || http::gcra_idle(slot.tat_ns, now_ns)))
            reusable = &slot;
    }
    if (reusable)
        *reusable = Slot{true, MyDatabaseId, key.destination_id, key.scope_hash, INT64_MIN};
    return reusable;
}

// Runs `step` on the key's slot under the mutex; false when there is none.
template <typename Step>
bool with_slot(const RateLimitKey &key, int64_t now_ns, Step step) {
    if (shared == nullptr)
        return false;
    SpinLockAcquire(&shared->mutex);
    Slot *const slot = slot_for(key, now_ns);
    if (slot)
        step(slot->tat_ns);
    SpinLockRelease(&shared->mutex);
    return slot != nullptr;
}

}  // namespace

void request_rate_limit_shmem() {
    previous_shmem_request_hook = shmem_request_hook;
    shmem_request_hook = rate_limit_shmem_request;
    previous_shmem_startup_hook = shmem_startup_hook;
    shmem_startup_hook = rate_limit_shmem_startup;
}

std::optional<http::Admission> shared_rate_limit_admit(const RateLimitKey &key, int64_t now_ns,
                                                       const http::RateLimit &limit) {
    http::Admission admission;
    if (!with_slot(key, now_ns, [&](int64_t &tat) { admission = http::gcra_admit(tat, now_ns, limit); }))
        return std::nullopt;
    return admission;
}

bool shared_rate_limit_hold(const RateLimitKey &key, int64_t now_ns, int64_t until_ns,
                            const http::RateLimit &limit) {
    return with_slot(key, now_ns, [&](int64_t &tat) { http::gcra_hold(tat, until_ns, limit); });
}

}  // namespace reverse_etl::pg
