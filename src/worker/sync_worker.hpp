// The per-sync background worker: what its starter passes it, and what it
// reports back. A worker runs one sync of one mapping, connected as the
// model's owner, and commits the run's progress as it goes.
#pragma once

#include <cstdint>

namespace reverse_etl::worker {

// Passed in bgw_extra (at most BGW_EXTRALEN bytes).
struct SyncWorkerArgs {
    uint32_t database;
    uint32_t role;          // the model's owner: the worker connects as it
    int64_t mapping_id;
    int64_t queued_run_id;  // 0: create a new run
    uint32_t dsm_handle;    // 0: nobody waits (scheduled runs); else a waiting sync() call
    char trigger[16];
    // The caller's session settings for the run (sync() carries them over, so
    // SET reverse_etl.max_concurrent_requests = 16 before sync() works); 0 keeps
    // the server's value.
    int32_t max_concurrent_requests;
    int32_t request_timeout_ms;
    int32_t max_request_attempts;
    // reverse_etl.give_up_after in seconds plus one, as 0 is a value of it.
    int32_t give_up_after_s_plus_one;
    // reverse_etl.adaptive_concurrency: 0 the server's, 1 off, 2 on.
    int32_t adaptive_concurrency;
};

// How a run ended, as the waiting sync() call needs to know.
enum class SyncOutcome : int32_t { NotStarted = 0, Finished = 1, MappingBusy = 2, Failed = 3 };

// Head of the DSM segment shared with a waiting sync() call; the message queue
// that carries the worker's NOTICEs follows it.
struct SyncWorkerShared {
    SyncOutcome outcome;
    int64_t run_id;        // the run, or the one already running when busy
    char message[1024];    // why the run could not start
    // The caller's reverse_etl.allowed_hosts and blocked_networks (too long
    // for bgw_extra), applied as they are, "" included: a superuser may have
    // changed them for the session. Scheduled runs (no caller) keep the
    // server's. Their texts follow this header (caller_settings_offset()),
    // each NUL-terminated, this many bytes in all; the message queue follows
    // them (message_queue_offset()). Lists of any length fit.
    uint32_t caller_settings_bytes;
};

constexpr uint64_t kMessageQueueBytes = 64 * 1024;

// 8 is MAXALIGN on every platform PostgreSQL 15 builds on (the .cpp files
// check it): shm_mq wants its queue so aligned.
constexpr uint64_t aligned8(uint64_t bytes) { return (bytes + 7) & ~uint64_t{7}; }
constexpr uint64_t caller_settings_offset() { return aligned8(sizeof(SyncWorkerShared)); }
constexpr uint64_t message_queue_offset(uint32_t caller_settings_bytes) {
    return aligned8(caller_settings_offset() + caller_settings_bytes);
}

}  // namespace reverse_etl::worker
