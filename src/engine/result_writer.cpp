#include "engine/result_writer.hpp"

#include "engine/extract.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

void write_delivered(const MappingPlan &plan, const std::vector<DeliveredRecord> &delivered,
                     const ResultWriteOptions &options) {
    std::vector<std::optional<std::string>> tids;
    tids.reserve(delivered.size());
    bool any_deleted = false;
    for (const DeliveredRecord &record : delivered) {
        tids.emplace_back(record.tid);
        any_deleted = any_deleted || record.deleted;
    }
    const std::string tid_array = text_array_literal(tids);
    // A TID scan of the outbox: each delivered row read where it lies.
    const std::string rows =
        "(SELECT o.rid, o.chg, o.hash FROM " + outbox_table() + " AS o WHERE o.ctid = ANY ($1::tid[])) AS d";
    pg::execute_catalog("INSERT INTO " + plan.checkpoint_table + " (record_id, hash) SELECT d.rid, d.hash FROM " +
                            rows + " WHERE d.chg <> 'deleted'" +
                            (options.checkpoint_was_empty
                                 ? ""
                                 : " ON CONFLICT (record_id) DO UPDATE SET hash = EXCLUDED.hash"),
                        {tid_array});
    if (any_deleted)
        pg::execute_catalog("DELETE FROM " + plan.checkpoint_table + " AS k USING " + rows +
                                " WHERE d.chg = 'deleted' AND k.record_id = d.rid",
                            {tid_array});
    if (options.may_have_errors)
        pg::execute_catalog("DELETE FROM reverse_etl.record_error_catalog AS e USING " + rows +
                                " WHERE e.mapping_id = $2::bigint AND e.record_id = d.rid",
                            {tid_array, std::to_string(plan.mapping.id)});
}

void write_undelivered(const MappingPlan &plan, int64_t run_id, const std::vector<UndeliveredRecord> &undelivered) {
    std::vector<std::optional<std::string>> ids, changes, kinds, errors, statuses, payloads, attempts;
    for (const UndeliveredRecord &record : undelivered) {
        ids.emplace_back(record.record_id);
        changes.emplace_back(record.change);
        kinds.emplace_back(record.kind);
        errors.emplace_back(record.error);
        statuses.emplace_back(record.http_status ? std::optional<std::string>(std::to_string(*record.http_status))
                                                 : std::nullopt);
        payloads.emplace_back(record.payload);
        attempts.emplace_back(std::to_string(record.attempts));
    }
    pg::execute_catalog(
        "INSERT INTO reverse_etl.record_error_catalog AS e "
        "(mapping_id, record_id, run_id, change, kind, error, http_status, payload, attempts) "
        "SELECT $1::bigint, u.record_id, $2::bigint, u.change, u.kind, u.error, u.http_status, u.payload, u.attempts "
        "FROM ROWS FROM (pg_catalog.unnest($3::text[]), pg_catalog.unnest($4::text[]), pg_catalog.unnest($5::text[]), "
        "pg_catalog.unnest($6::text[]), pg_catalog.unnest($7::int[]), pg_catalog.unnest($8::jsonb[]), "
        "pg_catalog.unnest($9::int[])) "
        "AS u(record_id, change, kind, error, http_status, payload, attempts) "
        "ON CONFLICT (mapping_id, record_id) DO UPDATE SET run_id = EXCLUDED.run_id, change = EXCLUDED.change, "
        "kind = EXCLUDED.kind, error = EXCLUDED.error, http_status = EXCLUDED.http_status, "
        "payload = EXCLUDED.payload, attempts = e.attempts + EXCLUDED.attempts, last_failed_at = pg_catalog.now()",
        {std::to_string(plan.mapping.id), std::to_string(run_id), text_array_literal(ids),
         text_array_literal(changes), text_array_literal(kinds), text_array_literal(errors),
         text_array_literal(statuses), text_array_literal(payloads), text_array_literal(attempts)});
}

}  // namespace

std::string text_array_literal(const std::vector<std::optional<std::string>> &items) {
    std::string literal = "{";
    for (size_t i = 0; i < items.size(); i++) {
        if (i > 0)
            literal += ',';
        if (!items[i]) {
            literal += "NULL";
            continue;
        }
        literal += '"';
        for (const char c : *items[i]) {
            if (c == '"' || c == '\\')
                literal += '\\';
            literal += c;
        }
        literal += '"';
    }
    return literal + "}";
}

bool has_record_errors(int64_t mapping_id) {
    return !pg::execute_catalog("SELECT 1 FROM reverse_etl.record_error_catalog WHERE mapping_id = $1::bigint LIMIT 1",
                                {std::to_string(mapping_id)})
                .empty();
}

void write_results(const MappingPlan &plan, int64_t run_id, const RecordResults &results,
                   const ResultWriteOptions &options) {
    if (!results.delivered.empty())
        write_delivered(plan, results.delivered, options);
    if (!results.undelivered.empty())
        write_undelivered(plan, run_id, results.undelivered);
}

}  // namespace reverse_etl::engine
