// The destination's ids of the records one checkpoint write stores (HubSpot's
// `id`, Salesforce's `Id`), handed to that statement row by row through
// reverse_etl_state.answered_object_id(tid).
//
// Why not parameters: joined in as unnested tid[] and text[] arrays, they cost
// the write more than the rest of it (both arrays parsed at plan time, the
// unnest materialised, a sort for the join) and cut a Salesforce sync's
// throughput by a tenth. A lookup in this process's memory costs a hash probe.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

namespace reverse_etl::engine {

// engine/result_writer.hpp; not included, so that sql_api/ can include this
// header next to PostgreSQL's (jansson's json_object clashes with theirs).
struct DeliveredSlice;

// Publishes the object ids of `delivered` (deleted records and records whose
// answer gave none are left out) for as long as it lives; one at a time.
// The statement that reads them runs in this process while it lives, and
// the records outlive it: their ids are published where they are.
class AnsweredObjectIds {
  public:
    explicit AnsweredObjectIds(const DeliveredSlice &delivered);
    ~AnsweredObjectIds();
    AnsweredObjectIds(const AnsweredObjectIds &) = delete;
    AnsweredObjectIds &operator=(const AnsweredObjectIds &) = delete;

    bool empty() const { return ids_.empty(); }

  private:
    std::unordered_map<uint64_t, const std::string *> ids_;   // by outbox_tid_key
};

// An outbox row's TID as one number (block number high, item offset low).
inline uint64_t outbox_tid_key(uint32_t block, uint16_t offset) {
    return (static_cast<uint64_t>(block) << 16) | offset;
}

// The id published for the outbox row at `key`, or nullptr: none published
// for it, or nothing published (any other statement, any other process).
// Never throws.
const std::string *answered_object_id(uint64_t key) noexcept;

}  // namespace reverse_etl::engine
