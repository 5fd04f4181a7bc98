// Live syncs' change capture (schedule "live"; docs/live-syncs.md): which
// tables a live mapping's model reads, the triggers that record their
// committed changes (reverse_etl_state.capture_change, and capture_keys on
// the table whose key the records' ids are), and the pending work per
// mapping that tells the launcher to run it: a count of batches of changes
// seen, the changed records' ids when the mapping is incremental, and
// whether a full diff is needed.
//
// Nothing is cleared before a run that started after it has delivered it:
// a crash, a failed run or a rollback cannot lose a change (a rolled-back
// change recorded nothing, and a run never sees uncommitted rows).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog_store.hpp"
#include "catalog/live_run_scope.hpp"
#include "pg/incremental_key.hpp"
#include "pg/query_analysis.hpp"
#include "pg/spi.hpp"

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

// What a live mapping's runs capture and how they evaluate its model.
struct LiveCapture {
    std::vector<pg::ReadRelation> tables;
    pg::IncrementalKey key;
};

// live_tables() (with the tables' partitioned and inheritance parents,
// whose statements fire their own triggers) and pg::incremental_key() of the
// model's query with the mapping's `filter`, as the model runs: as its owner,
// with its search_path, as a security-restricted operation (analyzing a
// query may run its functions).
LiveCapture live_capture_of(const ModelRow &model, const std::optional<std::string> &filter);

// live_capture_of(), also refusing (42501) a model whose owner may not
// create the triggers a first run would create. For create_mapping,
// alter_mapping and alter_model, which refuse what a run would fail on.
LiveCapture check_live_model(const ModelRow &model, const std::optional<std::string> &filter);

// Creates the capture triggers each table lacks, as the current role (who
// needs the TRIGGER privilege on it), waiting at most a few seconds for
// writers to let go of the table, and records the tables as the mapping's
// capture and its mode. The key table gets key capture unless another
// column's is there already (another mapping's key): the mapping is then
// full, which `capture.key` says on return. Returns store_live_mode()'s.
bool set_up_live_capture(int64_t mapping_id, LiveCapture &capture);

// Records how the mapping's runs evaluate its model (mappings.live_mode).
// Returns whether its key (table, column, type) differs from the one stored:
// the changes pending were then captured for another mode, and only a full
// diff finds them.
bool store_live_mode(int64_t mapping_id, const pg::IncrementalKey &key);

// Records that the table changed in the current transaction (the capture
// trigger; once per transaction and table is enough).
void record_live_change(unsigned int relid);

// Records the keys of the rows a statement changed in the table (the key
// capture trigger).
void record_live_keys(unsigned int relid, const pg::TextArrayBuilder &keys);

// Marks a live mapping as needing a full diff, for `reason` (it became live,
// its model changed, its checkpoint was reset, records await a destination
// job), and wakes the launcher at commit.
void request_live_run(int64_t mapping_id, const std::string &reason);

// Forgets a mapping's capture and pending changes (its schedule is no longer
// live). The triggers stay: others may share them, and dropping one takes
// the table's owner.
void forget_live_capture(int64_t mapping_id);

// Forgets a live mapping's capture (its model's query changed), records its
// new mode, and asks for a full diff, whose run sets the capture up for the
// new query.
void renew_live_capture(int64_t mapping_id, const pg::IncrementalKey &key);

// Read when a run starts, before its snapshot; nullopt when nothing is
// pending (engine::start_live_run). `incremental_possible`: the mode is incremental and the run could
// be (a checkpoint to diff against, no earlier run's sends to settle). A
// full run makes the collector keep changed records again from the next
// batch on (they were dropped past the cap).
std::optional<LiveRunScope> start_live_changes(int64_t mapping_id, bool incremental_possible,
                                               const std::string &not_possible_reason);

// Fills the temporary table `table` (rid text) with the records an
// incremental run evaluates: those changed in batches up to `seen`, and those
// with a record error (which every run retries). Returns how many.
int64_t fill_live_run_ids(int64_t mapping_id, int64_t seen, const std::string &table);

// After a run that delivered everything it took on: forgets the changed
// records it took on and, after a full diff, the need for one; nothing is
// pending any more unless more changes came in since the run started.
void settle_live_changes(int64_t mapping_id, const LiveRunScope &scope);

// Turns the changes the triggers recorded into pending work of the live
// mappings that capture the changed tables (a batch each pass), keeping the
// changed records of incremental ones up to reverse_etl.live_max_backlog,
// and gives a pending full diff to each live mapping whose capture is not set
// up (a restored database, a changed model). Run by the launcher (and
// run_due_syncs) only.
void collect_live_changes();

}  // namespace reverse_etl::catalog
