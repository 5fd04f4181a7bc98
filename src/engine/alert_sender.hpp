// Posts the alerts that alert rules queued (reverse_etl.alert_event_catalog,
// src/sql/45_alerts.sql) to their webhook or Slack destinations.
//
// Each pending alert is claimed FOR UPDATE SKIP LOCKED, so the sync worker
// that ended a run, the launcher and run_due_syncs() can all post without
// posting one twice; the claim and the outcome commit with the caller's
// transaction. One attempt per alert and call; a failed post waits for its
// next try (30 s, then twice as long each time, 8 attempts), which the
// launcher's passes make. The alerts of a call are posted together, each
// attempt bounded (10 s): an alert endpoint that hangs delays the launcher
// by seconds, not minutes, however many alerts wait.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

namespace reverse_etl::engine {

struct AlertPosting {
    std::optional<int64_t> mapping_id;   // only this mapping's alerts; nullopt: any
    int max_alerts = 10;
    std::function<bool()> should_stop;   // polled while a request waits; empty: the process's cancel
};

// Posts up to max_alerts pending alerts in the current transaction; returns
// how many were posted (answered 2xx).
int post_pending_alerts(const AlertPosting &posting);

}  // namespace reverse_etl::engine
