#include "engine/answered_object_ids.hpp"

#include <charconv>

#include "common/error.hpp"
#include "engine/result_writer.hpp"

namespace reverse_etl::engine {

namespace {

const std::unordered_map<uint64_t, std::string> *published = nullptr;

// "(block,offset)", as tid's output function writes it.
uint64_t parse_tid(const std::string &text) {
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
    return outbox_tid_key(block, offset);
}

}  // namespace

AnsweredObjectIds::AnsweredObjectIds(const std::vector<DeliveredRecord> &delivered) {
    if (published != nullptr)
        throw Error(sqlstate::kInternalError, "object ids are already published for another statement");
    for (const DeliveredRecord &record : delivered)
        if (!record.object_id.empty() && !record.deleted)
            ids_.emplace(parse_tid(record.tid), record.object_id);
    published = &ids_;
}

AnsweredObjectIds::~AnsweredObjectIds() { published = nullptr; }

const std::string *answered_object_id(uint64_t key) noexcept {
    if (published == nullptr)
        return nullptr;
    const auto found = published->find(key);
    return found == published->end() ? nullptr : &found->second;
}

}  // namespace reverse_etl::engine
