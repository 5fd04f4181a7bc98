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

struct DeliveredRecord {
    std::string record_id;
    std::string change;
    std::optional<int64_t> hash;  // what the checkpoint keeps; none for deletions
};

struct UndeliveredRecord {
    std::string record_id;
    std::string change;
    std::string kind;             // invalid | rejected | failed
    std::string error;
    std::optional<long> http_status;
    std::optional<std::string> payload;  // JSON text, when one was built
    int attempts = 0;
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

// `may_have_errors`: whether the mapping may have record errors that a
// delivered record must clear (false skips that statement, the common case).
void write_results(const MappingPlan &plan, int64_t run_id, const RecordResults &results, bool may_have_errors);

// Whether the mapping has any record error now.
bool has_record_errors(int64_t mapping_id);

// A PostgreSQL array literal of the given texts, each quoted.
std::string text_array_literal(const std::vector<std::optional<std::string>> &items);

}  // namespace reverse_etl::engine
