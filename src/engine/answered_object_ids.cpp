#include "engine/answered_object_ids.hpp"

#include "common/error.hpp"
#include "engine/result_writer.hpp"

namespace reverse_etl::engine {

namespace {

const std::unordered_map<uint64_t, const std::string *> *published = nullptr;

}  // namespace

AnsweredObjectIds::AnsweredObjectIds(const DeliveredSlice &delivered) {
    if (published != nullptr)
        throw Error(sqlstate::kInternalError, "object ids are already published for another statement");
    for (const DeliveredRecord &record : delivered)
        if (!record.object_id.empty() && !record.deleted) {
            const OutboxTid tid = parse_outbox_tid(record.tid);
            ids_.emplace(outbox_tid_key(tid.block, tid.offset), &record.object_id);
        }
    published = &ids_;
}

AnsweredObjectIds::~AnsweredObjectIds() { published = nullptr; }

const std::string *answered_object_id(uint64_t key) noexcept {
    if (published == nullptr)
        return nullptr;
    const auto found = published->find(key);
    return found == published->end() ? nullptr : found->second;
}

}  // namespace reverse_etl::engine
