#include "engine/result_writer.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "catalog/mapping_state.hpp"
#include "common/error.hpp"
#include "engine/answered_object_ids.hpp"
#include "engine/extract.hpp"
#include "pg/checkpoint_append.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

// Past this many runs of consecutive records in one flush (records refused
// or failing here and there), one TID list is cheaper than a union of ranges.
constexpr size_t kMaxTidRanges = 32;

// The delivered outbox rows, as a subquery `d` of (tid, rid, chg, hash, dkey), its
// parameters appended to `params`. Usually one TID range scan per run of
// consecutive ordinals (a few per flush: whole requests of records read one
// after the other); with many short runs, a TID scan of the list.
std::string delivered_rows_sql(const MappingPlan &plan, DeliveredSlice records, pg::Params &params) {
    std::vector<const DeliveredRecord *> delivered;
    delivered.reserve(records.size());
    for (const DeliveredRecord &record : records)
        delivered.push_back(&record);
    std::sort(delivered.begin(), delivered.end(),
              [](const DeliveredRecord *a, const DeliveredRecord *b) { return a->ordinal < b->ordinal; });
    std::vector<std::pair<size_t, size_t>> runs;
    for (size_t i = 0; i < delivered.size();) {
        size_t last = i;
        while (last + 1 < delivered.size() && delivered[last + 1]->ordinal == delivered[last]->ordinal + 1)
            last++;
        runs.emplace_back(i, last);
        i = last + 1;
    }
    const std::string select = sent_rows_sql(plan) + " WHERE ";
    if (runs.size() > kMaxTidRanges) {
        std::vector<std::optional<std::string>> tids;
        for (const DeliveredRecord *record : delivered)
            tids.emplace_back(record->tid);
        params.emplace_back(text_array_literal(tids));
        return "(" + select + "o.ctid = ANY ($" + std::to_string(params.size()) + "::tid[])) AS d";
    }
    std::string ranges;
    for (const auto &[first, last] : runs) {
        params.emplace_back(delivered[first]->tid);
        params.emplace_back(delivered[last]->tid);
        ranges += (ranges.empty() ? "" : " UNION ALL ") + select + "o.ctid BETWEEN $" +
                  std::to_string(params.size() - 1) + "::tid AND $" + std::to_string(params.size()) + "::tid";
    }
    return "(" + ranges + ") AS d";
}

// The checkpoint rows of the delivered records that were not deletions. The
// destination's ids are written with the row itself: a second statement
// updating the rows just written joined them with the whole outbox and
// checkpoint (hash joins over seq scans, per flush) and doubled the writes.
void insert_checkpoint_rows(const MappingPlan &plan, DeliveredSlice delivered,
                            const std::string &rows, const pg::Params &params, const ResultWriteOptions &options) {
    const AnsweredObjectIds ids(delivered);
    // A new id replaces the kept one; without one, the kept id stays unless
    // the record's key at the destination changed.
    pg::execute_catalog("INSERT INTO " + plan.checkpoint_table + " AS k (record_id, hash, dest_key, object_id) "
                        "SELECT d.rid, d.hash, d.dkey, " +
                            (ids.empty() ? "NULL::text" : "reverse_etl_state.answered_object_id(d.tid)") +
                            " FROM " + rows + " WHERE d.chg <> 'deleted'" +
                            (options.checkpoint_was_empty
                                 ? ""
                                 : " ON CONFLICT (record_id) DO UPDATE SET hash = EXCLUDED.hash, "
                                   "version = NULL, unconfirmed = NULL, dest_key = EXCLUDED.dest_key, "
                                   "object_id = COALESCE(EXCLUDED.object_id, " + kept_object_id_sql() + ")"),
                        params);
}

// A streamed first run's checkpoint rows, stored from the selection log
// without SQL (pg::append_checkpoint_rows); false when they must go by
// INSERT: the checkpoint may already hold identifiers (upserts), or the
// records are in the outbox, whose destination keys are computed in SQL.
bool append_from_log(const MappingPlan &plan, DeliveredSlice delivered,
                     const ResultWriteOptions &options) {
    if (!options.checkpoint_was_empty || !plan.records_in_log)
        return false;
    std::vector<pg::LoggedDelivery> rows;
    rows.reserve(delivered.size());
    for (const DeliveredRecord &record : delivered) {
        const OutboxTid tid = parse_outbox_tid(record.tid);
        rows.push_back({tid.block, tid.offset, record.object_id.empty() ? nullptr : &record.object_id});
    }
    return pg::append_checkpoint_rows("reverse_etl_state", catalog::checkpoint_table_name(plan.mapping.id),
                                      catalog::sending_table_name(plan.mapping.id), rows);
}

}  // namespace

OutboxTid parse_outbox_tid(const std::string &text) {
    uint32_t block = 0;
    uint16_t offset = 0;
    const char *const end = text.data() + text.size();
    const char *at = text.data();
    bool ok = at != end && *at++ == '(';
    if (ok) {
        const auto [stop, status] = std::from_chars(at, end, block);
        ok = status == std::errc() && stop != end && *stop == ',';
        at = stop + 1;
    }
    if (ok) {
        const auto [stop, status] = std::from_chars(at, end, offset);
        ok = status == std::errc() && stop + 1 == end && *stop == ')';
    }
    if (!ok)
        throw Error(sqlstate::kInternalError, "not an outbox row's TID: \"" + text + "\"");
    return {block, offset};
}

bool has_record_errors(int64_t mapping_id) {
    return !pg::execute_catalog("SELECT 1 FROM reverse_etl.record_error_catalog WHERE mapping_id = $1::bigint LIMIT 1",
                                {std::to_string(mapping_id)})
                .empty();
}

void write_delivered(const MappingPlan &plan, DeliveredSlice delivered, const ResultWriteOptions &options) {
    if (delivered.empty())
        return;
    const bool any_deleted = std::any_of(delivered.begin(), delivered.end(),
                                         [](const DeliveredRecord &record) { return record.deleted; });
    const bool appended = append_from_log(plan, delivered, options);
    if (appended && !any_deleted && !options.may_have_errors)
        return;
    pg::Params params;
    const std::string rows = delivered_rows_sql(plan, delivered, params);
    if (!appended)
        insert_checkpoint_rows(plan, delivered, rows, params, options);
    if (any_deleted)
        pg::execute_catalog("DELETE FROM " + plan.checkpoint_table + " AS k USING " + rows +
                                " WHERE d.chg = 'deleted' AND k.record_id = d.rid",
                            params);
    if (options.may_have_errors) {
        pg::Params with_mapping = params;
        with_mapping.emplace_back(std::to_string(plan.mapping.id));
        pg::execute_catalog("DELETE FROM reverse_etl.record_error_catalog AS e USING " + rows +
                                " WHERE e.mapping_id = $" + std::to_string(with_mapping.size()) +
                                "::bigint AND e.record_id = d.rid",
                            with_mapping);
    }
}

void write_undelivered(const MappingPlan &plan, int64_t run_id, const std::vector<UndeliveredRecord> &undelivered) {
    if (undelivered.empty())
        return;
    std::vector<std::optional<std::string>> ids, changes, kinds, errors, statuses, payloads, attempts, tids;
    for (const UndeliveredRecord &record : undelivered) {
        ids.emplace_back(record.record_id);
        changes.emplace_back(record.change);
        kinds.emplace_back(record.kind);
        errors.emplace_back(record.error);
        statuses.emplace_back(record.http_status ? std::optional<std::string>(std::to_string(*record.http_status))
                                                 : std::nullopt);
        payloads.emplace_back(record.payload);
        attempts.emplace_back(std::to_string(record.attempts));
        tids.emplace_back(record.tid.empty() ? std::nullopt : std::optional<std::string>(record.tid));
    }
    // The hash a failed send carried is its outbox row's, found by TID (the
    // outbox lives until the run ends): a retry of the same values carries
    // the same hash, which is how a run tells an unchanged record
    // (retry_failed_records, give_up_after).
    pg::execute_catalog(
        "INSERT INTO reverse_etl.record_error_catalog AS e "
        "(mapping_id, record_id, run_id, change, kind, error, http_status, payload, attempts, sent_hash) "
        "SELECT $1::bigint, u.record_id, $2::bigint, u.change, u.kind, u.error, u.http_status, u.payload, u.attempts, "
        "(SELECT o.hash FROM " + record_table(plan) + " AS o WHERE o.ctid = u.tid) "
        "FROM ROWS FROM (pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]), "
        "pg_catalog.unnest($6::text[]), pg_catalog.unnest($7::int[]), pg_catalog.unnest($8::jsonb[]), "
        "pg_catalog.unnest($9::int[]), pg_catalog.unnest($10::tid[])) "
        "AS u(record_id, change, kind, error, http_status, payload, attempts, tid) "
        "ON CONFLICT (mapping_id, record_id) DO UPDATE SET run_id = EXCLUDED.run_id, change = EXCLUDED.change, "
        "kind = EXCLUDED.kind, error = EXCLUDED.error, http_status = EXCLUDED.http_status, "
        "payload = EXCLUDED.payload, attempts = e.attempts + EXCLUDED.attempts, last_failed_at = pg_catalog.now(), "
        "sent_hash = EXCLUDED.sent_hash",
        {std::to_string(plan.mapping.id), std::to_string(run_id), text_array_literal(ids),
         text_array_literal(changes), text_array_literal(kinds), text_array_literal(errors),
         text_array_literal(statuses), text_array_literal(payloads), text_array_literal(attempts),
         text_array_literal(tids)});
}

}  // namespace reverse_etl::engine
