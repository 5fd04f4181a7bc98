// Writes what the destination said about records: accepted records move the
// checkpoint (and lose their error row), the others get or update an error
// row. One call is one short transaction's worth of work, done in bulk.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/mapping_plan.hpp"

namespace reverse_etl::engine {

// A delivered record is named by its outbox row, which holds the identifier
// and the hash the checkpoint keeps: the checkpoint is written from the
// outbox by PostgreSQL rather than from values sent back as arrays.
struct DeliveredRecord {
    std::string tid;   // of its outbox row
    // Its outbox row's place in the order delivery read the outbox (TID
    // order): delivered records with consecutive ordinals are a TID range
    // holding no other live row.
    int64_t ordinal;
    bool deleted;
    std::string object_id;   // the destination's id of the record, when its answer gave one
};

// A DeliveredRecord's tid, "(block,offset)" as tid's output function writes
// it, in numbers. Throws (XX000) on anything else.
struct OutboxTid {
    uint32_t block;
    uint16_t offset;
};
OutboxTid parse_outbox_tid(const std::string &text);

struct UndeliveredRecord {
    std::string record_id;
    std::string change;
    std::string kind;             // invalid | rejected | failed
    std::string error;
    std::optional<long> http_status;
    std::optional<std::string> payload;  // JSON text, when one was built
    int attempts = 0;
    // Its outbox row, of a record whose send failed: the error keeps the
    // hash it went out with (retry_failed_records). Empty for invalid ones.
    std::string tid;
};

// Delivered records written together, named where they are: a flush writes
// its records in slices and keeps them all until its transaction commits (a
// cancel between slices ends the run with a flush that writes them again),
// and copying each slice copied every object id.
struct DeliveredSlice {
    const DeliveredRecord *first = nullptr;
    size_t count = 0;

    const DeliveredRecord *begin() const { return first; }
    const DeliveredRecord *end() const { return first + count; }
    size_t size() const { return count; }
    bool empty() const { return count == 0; }
};

struct RecordResults {
    std::vector<DeliveredRecord> delivered;
    std::vector<UndeliveredRecord> undelivered;

    bool empty() const { return delivered.empty() && undelivered.empty(); }
    size_t size() const { return delivered.size() + undelivered.size(); }
    void clear() {
        delivered.clear();
        undelivered.clear();
    }
};

struct ResultWriteOptions {
    // Whether the mapping may have record errors that a delivered record must
    // clear (false skips that statement, the common case).
    bool may_have_errors = false;
    // The checkpoint was empty when the run started and every outbox row has
    // its own identifier: delivered records are plain inserts, no upserts.
    bool checkpoint_was_empty = false;
};

// The checkpoint rows of delivered records (and their errors cleared).
void write_delivered(const MappingPlan &plan, DeliveredSlice delivered, const ResultWriteOptions &options);

// The error rows of records not delivered.
void write_undelivered(const MappingPlan &plan, int64_t run_id, const std::vector<UndeliveredRecord> &undelivered);

// Whether the mapping has any record error now.
bool has_record_errors(int64_t mapping_id);

using reverse_etl::text_array_literal;   // common/sql_text.hpp

}  // namespace reverse_etl::engine
