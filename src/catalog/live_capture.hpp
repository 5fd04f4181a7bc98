// Live syncs' change capture (schedule "live"; docs/live-syncs.md): which
// tables a live mapping's model reads, the statement-level trigger on each
// that records a committed change (reverse_etl_state.capture_change), and
// the pending flag per mapping that tells the launcher to run it.
//
// Why a flag and a full diff, not the changed rows: the diff against the
// checkpoint already finds exactly what changed, and a flag that stays set
// until a run that started after the change succeeds cannot lose a change
// to a crash, a failed run or a rollback (a rolled-back change recorded
// nothing, and a run never sees uncommitted rows).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog_store.hpp"
#include "pg/query_analysis.hpp"

namespace reverse_etl::catalog {

// The name of the capture trigger on every captured table.
inline constexpr const char *kLiveTrigger = "reverse_etl_live_capture";

// The SQL test of a live schedule on mapping_catalog row `alias` (schedules
// are stored as written: " LIVE " is live, as is_live_schedule reads it).
std::string live_schedule_sql(const std::string &alias);

// The tables whose changes a live mapping of `model` captures, as the current
// role analyzes its query. Throws 0A000 for a model on a remote source, one
// that reads a materialized view or a foreign table (no trigger of this
// database sees their changes), or one that reads no table.
std::vector<pg::ReadRelation> live_tables(const ModelRow &model);

// live_tables() as the model runs: as its owner, with its search_path, as a
// security-restricted operation (analyzing a query may run its functions).
// For create_mapping and alter_model, which refuse what a run would fail on.
void check_live_model(const ModelRow &model);

// Creates the capture trigger on each table that lacks it, as the current
// role (who needs the TRIGGER privilege on it), waiting at most a few seconds
// for writers to let go of the table, and records the tables as the
// mapping's capture.
void set_up_live_capture(int64_t mapping_id, const std::vector<pg::ReadRelation> &tables);

// Records that the table changed in the current transaction (the capture
// trigger; once per transaction and table is enough).
void record_live_change(unsigned int relid);

// Marks a live mapping as having changes to deliver (its first run, which
// also sets its capture up; the run after its model changed or its
// checkpoint was reset) and wakes the launcher at commit.
void request_live_run(int64_t mapping_id);

// Forgets a mapping's capture and pending changes (its schedule is no longer
// live). The triggers stay: others may share them, and dropping one takes
// the table's owner.
void forget_live_capture(int64_t mapping_id);

// Forgets the capture of every live mapping of the model and asks each for a
// run, which sets the capture up for the model's new query.
void renew_live_capture_of_model(int64_t model_id);

// The count of changes pending for the mapping when a run starts; nullopt
// when none is pending.
std::optional<int64_t> live_changes_pending(int64_t mapping_id);

// After a run that delivered everything: nothing is pending any more, unless
// more changes came in since the run read `seen`.
void settle_live_changes(int64_t mapping_id, int64_t seen);

// Turns the changes the triggers recorded into pending flags of the live
// mappings that capture the changed tables, and gives a pending flag to each
// live mapping whose capture is not set up (a restored database, a changed
// model). Run by the launcher (and run_due_syncs) only.
void collect_live_changes();

}  // namespace reverse_etl::catalog
