#include "engine/delivery.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <thread>
#include <unordered_map>

#include "catalog/field_mapping.hpp"
#include "catalog/mapping_state.hpp"
#include "common/error.hpp"
#include "destinations/job_reader.hpp"
#include "destinations/request_builder.hpp"
#include "destinations/response_reader.hpp"
#include "engine/client_settings.hpp"
#include "engine/extract.hpp"
#include "engine/payload_builder.hpp"
#include "engine/request_pacing.hpp"
#include "engine/result_writer.hpp"
#include "engine/sheet_rows.hpp"
#include "http/http_client.hpp"
#include "pg/guc.hpp"
#include "pg/messages.hpp"
#include "pg/role_scope.hpp"
#include "pg/time_support.hpp"
#include "pg/transaction.hpp"

namespace reverse_etl::engine {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kFlushInterval = std::chrono::seconds(1);
constexpr auto kProgressInterval = std::chrono::seconds(5);
constexpr size_t kFlushRecords = 5000;
// A flush writes its delivered records in statements of this many, so that
// the run can keep its requests going between them (DeliveryLoop::pump).
constexpr size_t kFlushSliceRecords = 1000;
// How often the run's database work stops to serve its requests: well under
// what a quick destination takes to answer the requests in flight.
constexpr auto kPumpInterval = std::chrono::milliseconds(1);
constexpr size_t kErrorBodyChars = 500;
// Requests in a row that exhausted their retries without reaching the
// destination at all: it is down, and the rest of the run would only spend
// hours in backoff. The run stops as failed; its records go in a later run.
constexpr int kUnreachableAfter = 3;
constexpr uint64_t kNoKey = UINT64_MAX;  // a record that goes in no request of this chunk
// Times an answer may send a record back unaccepted for others' faults
// (RecordFate::Retry): the answer that names the bad ones makes the next
// request clean, so a record sent back more often than this meets a
// destination that never accepts it, and fails.
constexpr int kMaxSendBacks = 3;
// What delivery holds at once, in bytes: the records read from the outbox
// and not yet answered (their payloads and bookkeeping; the request bodies
// that carry them take about as much again). A chunk is bounded by this, not
// by a number of records, so that neither the batch size (2,500 records for
// Segment), nor reverse_etl.max_concurrent_requests (any user may set up to
// 256), nor the records' size can make it huge. 32 MB is ~100,000 records of
// 300 bytes: 200 requests of 500 such records, or 64 Segment batches at
// their 500 kB limit, in flight or ready. Reading stops at the budget and
// resumes once answers have freed half of it, so that the chunks read then
// are not one request's worth each.
constexpr size_t kHeldBytes = 32 * 1024 * 1024;
// A held record's bookkeeping beyond its payload (identifiers, TID, map
// entry): counted so that many small records are bounded too.
constexpr size_t kRecordOverheadBytes = 256;
// How many records a streamed chunk plans at a time (DeliveryLoop::plan_early),
// rounded up to whole requests: a few hundred kilobytes of payloads, which
// stay in a core's cache from being built to being rendered.
constexpr size_t kEarlyPlanRecords = 1000;
// Where an adaptive run starts (http::ConcurrencyLimit): the fixed
// concurrency of earlier releases, which every destination type was tested with.
constexpr int kInitialConcurrentRequests = 8;

struct PendingRecord {
    std::string tid;
    int64_t ordinal;  // its place in the outbox's read order (see DeliveredRecord)
    std::string record_id;
    std::string change;
    std::string payload;
    std::string message_id;
    std::string object_id;
    int send_backs = 0;   // see kMaxSendBacks
};

// What a record read from the outbox needs besides its outgoing form.
struct UnplannedRow {
    std::string tid;
    int64_t ordinal;
    std::string change;
};

// Which request builder made a request, and so reads its answer.
enum class Via : char {
    Send,     // the pass's operation
    Lookup,   // finds the records' ids (catalog::LookupDef), sends nothing
    Create,   // the action's "add" operation, for records an upsert's lookup
              // did not find (LookupDef::Missing::Add)
    JobState,   // polls an asynchronous job the send started (catalog::JobSpec)
    JobErrors,  // reads a page of a done job's errors
};

// An asynchronous job a request started (catalog::JobSpec): its records are
// neither delivered nor failed until it is done and its errors are read.
struct PendingJob {
    std::vector<uint64_t> keys;   // its records, still in records_
    std::string id;
    Clock::time_point deadline;   // the job_wait budget: no poll after it
    Clock::time_point next_poll;
    int poll_ms = 0;
    bool in_flight = false;
    bool reading_errors = false;
    std::string errors_url;       // of its first page
    // Records named by its errors, with their messages (several joined).
    std::unordered_map<uint64_t, std::string> rejected;
    bool unattributed = false;    // an error named no record of the job
    std::optional<long long> failed_count;
    // Per error key (JobSpec::error_keys): each record's key, ASCII lower-cased.
    std::vector<std::unordered_multimap<std::string, uint64_t>> by_key;
};

struct PlannedBatch {
    std::vector<uint64_t> keys;
    http::HttpRequest request;
    bool first_send = true;  // halves of a split batch were already counted as sent
    Via via = Via::Send;
};

struct InFlight {
    std::vector<uint64_t> keys;
    Via via = Via::Send;
    uint64_t job = 0;   // Via::JobState, JobErrors: which of jobs_
    // With an OAuth access token (http::AccessToken): the request as sent
    // and its token, to send again once after a 401 with a fresh token.
    std::optional<http::HttpRequest> request;
    std::string token;
    bool token_refreshed = false;
};

bool is_retryable_status(long status) { return status == 0 || status == 408 || status == 429 || status >= 500; }

// A request builder told which keys the payloads it is given can have.
destinations::RequestBuilder for_payloads(destinations::RequestBuilder builder, const PayloadBuilder &payloads) {
    builder.declare_payload_keys(payloads.member_keys());
    return builder;
}

// One pass over the outbox per request builder the run's changes need (most
// actions: one; Braze's mirror: upserts, then deletes), each sending the
// records whose change goes through its builder and passing over the others.
class DeliveryLoop {
  public:
    DeliveryLoop(const MappingPlan &plan, int64_t run_id, const std::string &synced_at, RunCounters &counters,
                 const std::string &builder, pg::QueryStream *stream)
        : plan_(plan), run_id_(run_id), counters_(counters), stream_(stream),
          payloads_(plan.mapping.fields_json, plan.action, plan.model.columns),
          requests_(for_payloads(destinations::RequestBuilder(plan.type, plan.action, plan.settings.get(), builder),
                                 payloads_)),
          builder_(builder), client_(client_options()),
          context_{plan.mapping.name, run_id, synced_at} {
        values_.json_values.resize(plan.model.columns.size());
        if (requests_.oauth())
            access_token_.emplace(*requests_.oauth(), plan.destination.id);
        if (plan.job_wait_usec)
            job_wait_ = std::chrono::microseconds(*plan.job_wait_usec);
        const auto operation = plan.action.operations.find(builder);
        if (operation != plan.action.operations.end() && operation->second.lookup) {
            lookup_ = &*operation->second.lookup;
            lookups_.emplace(for_payloads(
                destinations::RequestBuilder(plan.type, plan.action, plan.settings.get(), *lookup_), payloads_));
            if (lookup_->missing == catalog::LookupDef::Missing::Add)
                creates_.emplace(for_payloads(
                    destinations::RequestBuilder(plan.type, plan.action, plan.settings.get(), std::string("add")),
                    payloads_));
        }
        record_members_ = requests_.reads_payload_members() || (lookups_ && lookups_->reads_payload_members()) ||
                          (creates_ && creates_->reads_payload_members());
    }

    DeliveryOutcome run() {
        try {
            drive();
        } catch (...) {
            // Cancel or shutdown: what the destination acknowledged counts as
            // delivered, so commit it before the run ends.
            if (pg::cancel_requested())
                pg::clear_cancel_request();
            const pg::InterruptHoldoff hold;
            stopping_ = true;   // no pump: its poll would throw the cancel again, and lose this flush
            flush();
            throw;
        }
        flush();
        if (!fatal_ && rows_seen_ != counters_.outbox)
            throw Error(sqlstate::kInternalError,
                        "delivery read " + std::to_string(rows_seen_) + " of " + std::to_string(counters_.outbox) +
                            " records to send",
                        "The records not read stay out of the checkpoint and go in the next run.");
        if (!fatal_ && (!in_flight_.empty() || !records_.empty() || !ready_.empty() || !unplanned_.empty() ||
                        !jobs_.empty()))
            throw Error(sqlstate::kInternalError,
                        "delivery ended with " + std::to_string(records_.size() + unplanned_.size()) +
                            " records unanswered",
                        std::to_string(in_flight_.size()) + " requests in flight, " + std::to_string(ready_.size()) +
                            " not sent; they stay out of the checkpoint and go in the next run.");
        DeliveryOutcome outcome;
        outcome.carried = rows_read_;
        outcome.fatal_error = fatal_;
        outcome.awaiting_job = awaiting_job_;
        if (!fatal_ && counters_.succeeded == 0 && transport_failures_ > 0 && other_failures_ == 0)
            outcome.unreachable_error = "destination unreachable: " + last_failure_;
        return outcome;
    }

  private:
    http::ClientOptions client_options() const {
        http::ClientOptions options = client_options_from_settings();
        if (plan_.destination_timeout_ms)
            options.request_timeout_ms = *plan_.destination_timeout_ms;
        options.pacer = request_pacer(plan_, requests_);  // the destination's rate limit (request_pacing.hpp)
        // Records' requests only: alerts and test records go out at once.
        options.adaptive_concurrency = pg::adaptive_concurrency();
        options.initial_concurrent = kInitialConcurrentRequests;
        return options;
    }

    void drive() {
        for (;;) {
            while (!fatal_ && client_.pending() < window()) {
                if (!ready_.empty()) {
                    submit_next();
                    continue;
                }
                // Near the budget: read more once answers have freed some.
                if (held_bytes_ > kHeldBytes / 2 && client_.pending() > 0)
                    break;
                if (!load_chunk())
                    break;
            }
            if (!fatal_)
                serve_jobs();
            if (client_.pending() == 0 && deferred_.empty() && (ready_.empty() || fatal_) &&
                (outbox_done_ || fatal_) && (jobs_.empty() || fatal_))
                return;
            // Read ahead while every slot is busy: reading and building a
            // chunk takes tens of milliseconds, and a destination that
            // answers faster than that would otherwise wait for the next
            // request each time the previous chunk's ran out.
            if (!fatal_ && !outbox_done_ && client_.pending() >= window() && ready_.size() < window() &&
                held_bytes_ <= kHeldBytes / 2)
                load_chunk();
            if (client_.pending() == 0 && deferred_.empty())
                wait_for_jobs();
            for (const http::Completion &completion : answers())
                handle(completion);
            if (results_.size() >= kFlushRecords || Clock::now() - last_flush_ >= kFlushInterval)
                flush();
            report_progress();
        }
    }

    // The answers to handle now: those the pumps took, then the client's
    // (waiting up to 100 ms for one only when the pumps took none).
    std::vector<http::Completion> answers() {
        std::vector<http::Completion> done;
        done.swap(deferred_);
        // While a model reader streams records, a free request slot waits
        // for them, not for an answer.
        const bool streaming = stream_ != nullptr && !outbox_done_ && client_.pending() < window();
        for (http::Completion &completion : client_.poll(!done.empty() ? 0 : streaming ? 1 : 100))
            done.push_back(std::move(completion));
        return done;
    }

    // Keeps the destination busy while the run reads a chunk or writes a
    // flush, the work between two polls of drive() that takes longest: it
    // takes the answers that came (drive() handles them, outside these
    // transactions) and starts ready requests in the slots they freed.
    // Without it a destination answering in a few milliseconds sat idle
    // through every chunk and every flush, and the run's database work and
    // its requests took turns instead of overlapping. Requests of a
    // destination with an OAuth access token wait for drive() while the
    // token would have to be fetched first: fetching one is a request of its
    // own, not for the middle of a transaction. (A token that expires between
    // held() and the submit is fetched here, as drive() would.)
    void pump(bool now = false) {
        if (fatal_ || stopping_ || (client_.pending() == 0 && ready_.empty()))
            return;
        const Clock::time_point at = Clock::now();
        if (!now && at - last_pump_ < kPumpInterval)
            return;
        last_pump_ = at;
        for (http::Completion &completion : client_.poll(0))
            deferred_.push_back(std::move(completion));
        while (!ready_.empty() && client_.pending() < window() && (!access_token_ || access_token_->held()))
            submit_next();
    }

    // A chunk: enough records to keep every request slot busy twice over,
    // within what the byte budget (kHeldBytes) has left.
    size_t chunk_records_wanted() const {
        return std::max<size_t>(1000, requests_.max_records_per_request() * window() * 2);
    }
    size_t chunk_bytes_allowed() const { return held_bytes_ < kHeldBytes ? kHeldBytes - held_bytes_ : 0; }

    // Reads the next outbox chunk (one short transaction) and builds its
    // payloads as it reads, straight from the fetched rows; then plans
    // requests. A chunk is enough records to keep every request slot busy
    // twice over, as far as the byte budget (kHeldBytes) allows, and at
    // least one record. Returns false when the outbox is exhausted.
    bool load_chunk() {
        if (outbox_done_)
            return false;
        if (stream_ != nullptr)
            return load_streamed_chunk();
        const size_t wanted = chunk_records_wanted();
        const size_t allowed = chunk_bytes_allowed();
        size_t records = 0;
        const size_t held_before = held_bytes_;
        chunk_cut_short_ = false;
        pg::run_in_transaction([&] {
            outbox_done_ = read_outbox(plan_, last_tid_, [&](const OutboxRow &row) {
                if (records > 0 && (records >= wanted || held_bytes_ - held_before >= allowed)) {
                    chunk_cut_short_ = records < wanted;
                    return false;
                }
                pump();
                rows_seen_++;
                last_tid_.assign(row.tid);
                if (operation_of_change(plan_, std::string(row.change)) != builder_)
                    return true;   // another pass sends it
                records++;
                rows_read_++;
                // The row's place in the whole outbox, not in this pass:
                // write_results takes consecutive ordinals for a TID range
                // with no other row in it, and another pass's rows lie between.
                prepare(row, rows_seen_ - 1);
                return true;
            });
        });
        // Rows of a grid destination, committed before any request names them.
        assign_sheet_rows(plan_, unplanned_);
        plan_requests();
        return true;
    }

    // A streamed first run's load_chunk (pg/query_stream.hpp): takes the
    // records the model reader has sent, as many as load_chunk would read,
    // and logs them in the same transaction, committed before any request
    // names them. Waits for the reader only when there is nothing else to
    // do (no request in flight or ready, no job to poll). Returns false when
    // it took none.
    bool load_streamed_chunk() {
        // Waiting is for when nothing else is to be done; what was answered
        // is checkpointed first, so a model that pauses holds nothing back.
        const bool wait = client_.pending() == 0 && ready_.empty() && jobs_.empty() && deferred_.empty();
        if (wait && !results_.empty())
            flush();
        // Else no transaction unless the reader has sent something.
        if (!wait && !stream_->ready())
            return false;
        const size_t wanted = chunk_records_wanted();
        const size_t allowed = chunk_bytes_allowed();
        const size_t held_before = held_bytes_;
        const std::string log_table = catalog::sending_table_name(plan_.mapping.id);
        size_t records = 0;
        chunk_cut_short_ = false;
        pg::run_in_transaction([&] {
            const pg::CatalogRoleScope as_catalog_owner;   // who owns the log
            while (records < wanted && !stream_->finished()) {
                const size_t held = held_bytes_ > held_before ? held_bytes_ - held_before : 0;
                const std::vector<pg::StreamedRow> &rows =
                    stream_->take(std::min<size_t>(1000, wanted - records), held < allowed ? allowed - held : 0,
                                  wait && records == 0, "reverse_etl_state", log_table);
                for (const pg::StreamedRow &row : rows) {
                    pump();
                    rows_seen_++;
                    rows_read_++;
                    records++;
                    split_rendered_values(row.values.value_or(std::string_view()), plan_.value_columns.size(),
                                          streamed_values_);
                    prepare(OutboxRow{row.tid, row.record_id, row.change, row.version, &streamed_values_, std::nullopt,
                                      std::nullopt},
                            rows_seen_ - 1);
                }
                if (rows.empty())
                    break;
                if (held_bytes_ > held_before && held_bytes_ - held_before >= allowed) {
                    chunk_cut_short_ = true;
                    break;
                }
                plan_early();
            }
        });
        release_uncommitted();
        // Counted once logged. Extracted, added, selected and sent all at
        // once: a first run sends every record of the model.
        const auto taken = static_cast<int64_t>(records);
        counters_.extracted += taken;
        counters_.added += taken;
        counters_.selected += taken;
        counters_.outbox += taken;
        outbox_done_ = stream_->finished();
        if (records == 0 && !outbox_done_)
            return false;
        plan_requests();
        return true;
    }

    // Groups the records read so far into requests. Records that the
    // destination's limits refuse are set aside by plan(). Until the outbox
    // is exhausted the last request, which may not be full, waits for the
    // next chunk's records (chunks are not cut at batch boundaries), unless
    // the byte budget cut the chunk short: then the next chunk waits for
    // answers, and so would this request. `early`: planned inside a streamed
    // chunk's transaction (plan_early), the requests go to uncommitted_.
    void plan_requests(bool early = false) {
        plan_lookups(early ? uncommitted_ : ready_);
        std::vector<destinations::InvalidRecord> refused;
        std::vector<destinations::PlannedRequest> planned_requests =
            requests_.plan(unplanned_, &refused, [this] { pump(); });
        enum class Fate : char { Send, Refused, Wait };
        std::vector<Fate> fates(unplanned_.size(), Fate::Send);
        for (const destinations::InvalidRecord &invalid : refused) {
            const destinations::OutgoingRecord &record = unplanned_[invalid.index];
            record_invalid(record.record_id, unplanned_rows_[invalid.index].change, invalid.reason,
                           kept_payload(record.payload));
            held_bytes_ -= held_size(record);
            fates[invalid.index] = Fate::Refused;
        }
        // Planned early in a chunk (plan_early), a request already holding
        // as many records as one may takes no more and need not wait (it
        // would be rendered again); at the chunk's end the last one waits, as
        // it always has.
        const bool last_is_full = !planned_requests.empty() &&
                                  planned_requests.back().records.size() >= requests_.max_records_per_request();
        if (!outbox_done_ && !chunk_cut_short_ && !planned_requests.empty() && !(early && last_is_full)) {
            for (const size_t index : planned_requests.back().records)
                fates[index] = Fate::Wait;
            planned_requests.pop_back();
        }
        std::vector<uint64_t> keys(unplanned_.size(), kNoKey);
        // The waiting records move to the front, in order. The vectors keep
        // their capacity for the next chunk: growing them again each chunk
        // was, measured, page faults on fresh memory.
        size_t waiting = 0;
        for (size_t i = 0; i < unplanned_.size(); i++) {
            if (fates[i] == Fate::Wait) {
                if (waiting != i) {
                    unplanned_[waiting] = std::move(unplanned_[i]);
                    unplanned_rows_[waiting] = std::move(unplanned_rows_[i]);
                }
                waiting++;
            } else if (fates[i] == Fate::Send) {
                // The planned requests hold their own copy of the payload:
                // this one is kept for a 400 split and the record's error row.
                keys[i] = next_key_++;
                destinations::OutgoingRecord &record = unplanned_[i];
                held_bytes_ -= members_held_size(record);
                if (record.payload_members.capacity() > 0)
                    spare_members_.push_back(std::move(record.payload_members));
                records_.emplace(keys[i], PendingRecord{std::move(unplanned_rows_[i].tid), unplanned_rows_[i].ordinal,
                                                        std::move(record.record_id),
                                                        std::move(unplanned_rows_[i].change), std::move(record.payload),
                                                        std::move(record.message_id), std::move(record.object_id)});
            }
        }
        unplanned_.resize(waiting);
        unplanned_rows_.resize(waiting);
        for (destinations::PlannedRequest &planned : planned_requests) {
            PlannedBatch batch;
            batch.keys.reserve(planned.records.size());
            for (const size_t index : planned.records)
                batch.keys.push_back(keys[index]);
            batch.request = std::move(planned.request);
            (early ? uncommitted_ : ready_).push_back(std::move(batch));
        }
    }

    // Plans the records a streamed chunk has taken so far once they fill
    // requests, while their payloads are still in the processor's cache: a
    // chunk holds megabytes of them, and rendering each destination element
    // at the chunk's end read every payload back from memory (measured: the
    // element rendering of a Mixpanel sync took twice its time alone). The
    // requests wait until the chunk's transaction has logged their records.
    void plan_early() {
        const size_t per_request = requests_.max_records_per_request();
        const size_t enough = per_request * std::max<size_t>(1, (kEarlyPlanRecords + per_request - 1) / per_request);
        if (unplanned_.size() >= enough)
            plan_requests(true);
    }

    // The requests plan_early made, now that their records are committed.
    void release_uncommitted() {
        for (PlannedBatch &batch : uncommitted_)
            ready_.push_back(std::move(batch));
        uncommitted_.clear();
    }

    // Records whose elements need the destination's id and whose checkpoint
    // has none go first in lookup requests (catalog::LookupDef); the answers
    // give them their ids, and then their own requests (lookup_answered).
    // The lookups go into `queue`, as plan_requests' own requests do.
    void plan_lookups(std::deque<PlannedBatch> &queue) {
        if (!lookups_)
            return;
        std::vector<destinations::OutgoingRecord> needing;
        std::vector<UnplannedRow> rows;
        size_t kept = 0;
        for (size_t i = 0; i < unplanned_.size(); i++) {
            if (unplanned_[i].object_id.empty()) {
                needing.push_back(std::move(unplanned_[i]));
                rows.push_back(std::move(unplanned_rows_[i]));
                continue;
            }
            if (kept != i) {
                unplanned_[kept] = std::move(unplanned_[i]);
                unplanned_rows_[kept] = std::move(unplanned_rows_[i]);
            }
            kept++;
        }
        unplanned_.resize(kept);
        unplanned_rows_.resize(kept);
        if (needing.empty())
            return;
        std::vector<destinations::InvalidRecord> refused;
        std::vector<destinations::PlannedRequest> planned = lookups_->plan(needing, &refused);
        std::vector<uint64_t> keys(needing.size(), kNoKey);
        std::vector<bool> is_refused(needing.size(), false);
        for (const destinations::InvalidRecord &invalid : refused) {
            is_refused[invalid.index] = true;
            record_invalid(needing[invalid.index].record_id, rows[invalid.index].change, invalid.reason,
                           kept_payload(needing[invalid.index].payload));
            held_bytes_ -= held_size(needing[invalid.index]);
        }
        for (size_t i = 0; i < needing.size(); i++) {
            if (is_refused[i])
                continue;
            keys[i] = next_key_++;
            destinations::OutgoingRecord &record = needing[i];
            held_bytes_ -= members_held_size(record);
            records_.emplace(keys[i], PendingRecord{std::move(rows[i].tid), rows[i].ordinal, std::move(record.record_id),
                                                    std::move(rows[i].change), std::move(record.payload),
                                                    std::move(record.message_id), std::string()});
        }
        for (destinations::PlannedRequest &request : planned) {
            PlannedBatch batch;
            for (const size_t index : request.records)
                batch.keys.push_back(keys[index]);
            batch.request = std::move(request.request);
            batch.via = Via::Lookup;
            queue.push_back(std::move(batch));
        }
    }

    // Builds the record's payload from the row's views: its values are
    // copied once, into the payload, which the request bodies are made of.
    // A record whose payload cannot be built is noted as invalid.
    void prepare(const OutboxRow &row, int64_t ordinal) {
        view_record_values(plan_, row, values_);
        std::vector<JsonMemberSpan> members_storage;
        if (!spare_members_.empty()) {
            members_storage = std::move(spare_members_.back());
            spare_members_.pop_back();
        }
        BuiltPayload built =
            payloads_.build(values_, context_, record_members_, std::move(members_storage));
        if (!built.valid) {
            record_invalid(std::string(row.record_id), std::string(row.change), built.invalid_reason, std::nullopt);
            return;
        }
        destinations::OutgoingRecord record{std::string(row.record_id), std::move(built.json),
                                            message_id(plan_, row.record_id, row.version),
                                            std::string(row.object_id.value_or(std::string_view())),
                                            std::move(built.members)};
        held_bytes_ += held_size(record);
        unplanned_.push_back(std::move(record));
        unplanned_rows_.push_back({std::string(row.tid), ordinal, std::string(row.change)});
    }

    // An unplanned record also holds where its payload's members lie
    // (payload_members), until it becomes a PendingRecord, which does not
    // (members_held_size is taken off then).
    static size_t held_size(const destinations::OutgoingRecord &record) {
        return record.payload.size() + members_held_size(record) + kRecordOverheadBytes;
    }
    static size_t members_held_size(const destinations::OutgoingRecord &record) {
        return record.payload_members.size() * sizeof(JsonMemberSpan);
    }
    static size_t held_size(const PendingRecord &record) { return record.payload.size() + kRecordOverheadBytes; }

    void record_invalid(const std::string &record_id, const std::string &change, const std::string &reason,
                        const std::optional<std::string> &payload) {
        counters_.invalid++;
        results_.undelivered.push_back({record_id, change, "invalid", reason, std::nullopt, payload, 0});
    }

    void submit_next() {
        InFlight sent;
        if (access_token_) {
            // Before the batch leaves ready_: a token that cannot be had
            // leaves its records for a later run, unsent.
            if (!authorize(ready_.front().request, sent))
                return;
        }
        PlannedBatch batch = std::move(ready_.front());
        ready_.pop_front();
        if (batch.first_send)
            counters_.sent += static_cast<int64_t>(batch.keys.size());
        sent.keys = std::move(batch.keys);
        sent.via = batch.via;
        submit(std::move(batch.request), std::move(sent));
    }

    void submit(http::HttpRequest request, InFlight sent) {
        const uint64_t tag = next_tag_++;
        if (access_token_)
            sent.request = request;
        client_.submit(tag, std::move(request));
        in_flight_.emplace(tag, std::move(sent));
    }

    // Puts the destination's OAuth access token in the request (fetched at
    // the run's first request, or kept from an earlier run of this process).
    // False when the token endpoint refused: the run fails with its answer.
    bool authorize(http::HttpRequest &request, InFlight &sent) {
        try {
            sent.token = access_token_->get(token_sender());
        } catch (const Error &error) {
            if (!is_token_refusal(error))
                throw;   // a cancel, or the daily allowance used up: as for any request
            token_refused(error);
            return false;
        }
        mask_token(sent.token);
        destinations::set_bearer_token(request, sent.token);
        return true;
    }

    void mask_token(const std::string &token) {
        if (token != masked_token_) {
            secrets_ = secrets_.with(token);   // earlier tokens stay masked too
            masked_token_ = token;
        }
    }

    http::TokenSender token_sender() {
        return [this](http::HttpRequest request) { return client_.perform_once(std::move(request)); };
    }

    // The token endpoint refused the grant (http::AccessToken), or its
    // address is in reverse_etl.blocked_networks.
    static bool is_token_refusal(const Error &error) {
        return error.sqlstate() == sqlstate::kInvalidAuthorizationSpecification ||
               error.sqlstate() == sqlstate::kInsufficientPrivilege;
    }

    // The access token cannot be had: nothing more is sent, and what was not
    // answered goes in a later run.
    void token_refused(const Error &error) {
        if (!fatal_)
            fatal_ = secrets_.mask(error.message());
        give_up();
    }

    // A 401 to a request sent with an OAuth access token: the token expired
    // (or was revoked). The request goes again, once, with a new token (one
    // refresh for every request the old token failed). True when it went.
    bool resent_with_new_token(InFlight &sent, long status) {
        if (!access_token_ || status != 401 || sent.token_refreshed || !sent.request || fatal_)
            return false;
        try {
            sent.token = access_token_->refresh(token_sender(), sent.token);
        } catch (const Error &error) {
            if (!is_token_refusal(error))
                throw;
            // Like every unanswered record of a failed run, the request's
            // go in a later run.
            token_refused(error);
            return true;
        }
        mask_token(sent.token);
        http::HttpRequest request = std::move(*sent.request);
        destinations::set_bearer_token(request, sent.token);
        sent.token_refreshed = true;
        submit(std::move(request), std::move(sent));
        return true;
    }

    void handle(const http::Completion &completion) {
        auto found = in_flight_.find(completion.tag);
        if (found == in_flight_.end())
            throw Error(sqlstate::kInternalError, "HTTP client returned request " + std::to_string(completion.tag) +
                                                      ", which is not in flight");
        InFlight sent = std::move(found->second);
        in_flight_.erase(found);
        const http::HttpResponse &response = completion.response;
        if (response.refused)
            return refused(*response.refused);
        counters_.requests += completion.attempts;
        if (resent_with_new_token(sent, response.status))
            return;
        if (sent.via == Via::JobState || sent.via == Via::JobErrors) {
            job_answer(sent.job, sent.via, response, completion.attempts);
            return;
        }
        const std::vector<uint64_t> keys = std::move(sent.keys);
        const Via via = sent.via;
        const long status = response.status;
        const destinations::RequestBuilder &builder = builder_for(via);
        destinations::AnswerReading reading =
            destinations::read_answer(builder.response(), status, response.body, keys.size(), record_keys(builder, keys));
        if (via == Via::Lookup)
            lookup_answer(keys, std::move(reading), response, completion.attempts);
        else
            answer(keys, std::move(reading), response, completion.attempts, via);
        unreachable_in_a_row_ = status == 0 ? unreachable_in_a_row_ + 1 : 0;
        if (unreachable_in_a_row_ >= kUnreachableAfter && !fatal_) {
            fatal_ = "destination unreachable: " + last_failure_;
            give_up();
        }
    }

    // Answers that speak for the run or the destination's limits rather than
    // for the records (ResponseSpec::exhausted and retry); true when handled.
    bool limit_answer(const std::vector<uint64_t> &keys, const destinations::AnswerReading &reading,
                      const http::HttpResponse &response, int attempts) {
        if (reading.verdict == destinations::AnswerReading::Verdict::Exhausted) {
            // As when Sforce-Limit-Info says so (http::RateLimitNotice): the
            // run fails, what was answered before stands, the rest (these
            // records included) goes in a later run.
            give_up();
            throw Error(sqlstate::kProgramLimitExceeded,
                        "the destination's daily API request limit is used up (" +
                            describe_failure(response, secrets_) + ")",
                        "", "Requests sent now would be refused until the destination's allowance is renewed.");
        }
        if (reading.verdict != destinations::AnswerReading::Verdict::Busy)
            return false;
        // Refused for now, each retry too: as a 429 whose retries ran out.
        note_failure(response);
        for (const uint64_t key : keys)
            undelivered(key, "failed", response, attempts);
        return true;
    }

    const destinations::RequestBuilder &builder_for(Via via) const {
        return via == Via::Lookup ? *lookups_ : via == Via::Create ? *creates_ : requests_;
    }

    // Takes the reading: its outcomes' object ids move to the records.
    void answer(const std::vector<uint64_t> &keys, destinations::AnswerReading reading,
                const http::HttpResponse &response, int attempts, Via via) {
        const long status = response.status;
        if (limit_answer(keys, reading, response, attempts))
            return;
        if (starts_job(builder_for(via), status)) {
            job_started(keys, response, attempts, via);
        } else if (reading.verdict == destinations::AnswerReading::Verdict::PerRecord) {
            per_record(keys, std::move(reading.outcomes), response, attempts, via);
        } else if (reading.verdict == destinations::AnswerReading::Verdict::BodyFailed) {
            if (keys.size() > 1) {
                split(keys, via);
            } else {
                last_failure_ = "HTTP " + std::to_string(status) + ": " + secrets_.mask(reading.message);
                undelivered(keys.front(), "rejected", response, attempts);
            }
        } else if (status >= 200 && status < 300) {
            for (const uint64_t key : keys)
                delivered(key);
        } else if (refuses_credentials(reading, status)) {
            credentials_refused(keys, response, attempts);
        } else if (status == 400 && keys.size() > 1) {
            split(keys, via);
        } else {
            failed(keys, response, attempts);
        }
    }

    // A lookup's answer. What it cannot attribute to records fails them all:
    // splitting it would not make a lookup more precise.
    void lookup_answer(const std::vector<uint64_t> &keys, destinations::AnswerReading reading,
                       const http::HttpResponse &response, int attempts) {
        const long status = response.status;
        if (limit_answer(keys, reading, response, attempts))
            return;
        if (reading.verdict == destinations::AnswerReading::Verdict::PerRecord) {
            lookup_answered(keys, std::move(reading.outcomes), response, attempts);
        } else if (refuses_credentials(reading, status)) {
            credentials_refused(keys, response, attempts);
        } else if (status >= 200 && status < 300) {
            note_failure(response);
            last_failure_ = "the destination's answer to a lookup names no records: " + last_failure_;
            for (const uint64_t key : keys)
                undelivered(key, "failed", response, attempts);
        } else {
            failed(keys, response, attempts);
        }
    }

    static bool refuses_credentials(const destinations::AnswerReading &reading, long status) {
        return status == 401 || status == 403 || reading.verdict == destinations::AnswerReading::Verdict::Fatal;
    }

    void credentials_refused(const std::vector<uint64_t> &keys, const http::HttpResponse &response, int attempts) {
        note_failure(response);
        fatal_ = "destination refused the credentials: " + last_failure_;
        for (const uint64_t key : keys)
            undelivered(key, "rejected", response, attempts);
        // Requests already in flight get their (quick) answers recorded.
        ready_.clear();
    }

    void failed(const std::vector<uint64_t> &keys, const http::HttpResponse &response, int attempts) {
        note_failure(response);
        const bool retryable = is_retryable_status(response.status);
        for (const uint64_t key : keys)
            undelivered(key, retryable ? "failed" : "rejected", response, attempts);
    }

    // The records' keys as the answers name them, when the builder's answers
    // are read by keys (catalog::RecordOutcomeKind::KeyedResults, KeyLists).
    std::vector<std::string> record_keys(const destinations::RequestBuilder &builder,
                                         const std::vector<uint64_t> &keys) const {
        std::vector<std::string> texts;
        const catalog::RecordOutcomeSpec &outcomes = builder.response().records;
        if (outcomes.kind == catalog::RecordOutcomeKind::KeyLists) {
            // Row by row: every record's first list key, then the second...
            for (size_t index = 0; index < outcomes.list_keys.size(); ++index)
                for (const uint64_t key : keys) {
                    const PendingRecord &pending = records_.at(key);
                    texts.push_back(
                        builder.list_key({pending.record_id, pending.payload, pending.message_id, {}}, index));
                }
            return texts;
        }
        if (outcomes.kind != catalog::RecordOutcomeKind::KeyedResults)
            return texts;
        for (const uint64_t key : keys) {
            const PendingRecord &pending = records_.at(key);
            texts.push_back(builder.record_key({pending.record_id, pending.payload, pending.message_id, {}}));
        }
        return texts;
    }

    // A lookup's answer: the records found get their ids and go in their
    // operation's requests; the others are done (a deletion of a record the
    // destination does not have) or rejected, as the lookup says.
    void lookup_answered(const std::vector<uint64_t> &keys, std::vector<destinations::RecordOutcome> outcomes,
                         const http::HttpResponse &response, int attempts) {
        std::vector<uint64_t> found;
        std::vector<uint64_t> creating;
        for (size_t i = 0; i < keys.size(); ++i) {
            destinations::RecordOutcome &outcome = outcomes[i];
            if (outcome.fate == destinations::RecordFate::Delivered && !outcome.object_id.empty()) {
                records_.at(keys[i]).object_id = std::move(outcome.object_id);
                found.push_back(keys[i]);
            } else if (lookup_->missing == catalog::LookupDef::Missing::Delivered) {
                delivered(keys[i]);
            } else if (lookup_->missing == catalog::LookupDef::Missing::Add) {
                creating.push_back(keys[i]);
            } else {
                const PendingRecord &pending = records_.at(keys[i]);
                last_failure_ = "the destination has no record with the key " +
                                quoted(secrets_.mask(lookups_->record_key(
                                    {pending.record_id, pending.payload, pending.message_id, {}}))) +
                                (outcome.message.empty() ? std::string() : ": " + secrets_.mask(outcome.message));
                undelivered(keys[i], "rejected", response, attempts);
            }
        }
        if (!creating.empty())
            send_after_lookup(creating, Via::Create);
        send_after_lookup(found, Via::Send);
    }

    // Records a lookup answered go first in their own requests (made by the
    // builder `via` names), before records not yet sent.
    void send_after_lookup(const std::vector<uint64_t> &keys, Via via) {
        std::vector<destinations::OutgoingRecord> records;
        for (const uint64_t key : keys) {
            const PendingRecord &pending = records_.at(key);
            records.push_back({pending.record_id, pending.payload, pending.message_id, pending.object_id});
        }
        std::vector<destinations::InvalidRecord> refused;
        std::vector<destinations::PlannedRequest> planned = builder_for(via).plan(records, &refused);
        for (const destinations::InvalidRecord &invalid : refused) {
            const PendingRecord &pending = records_.at(keys[invalid.index]);
            counters_.invalid++;
            results_.undelivered.push_back({pending.record_id, pending.change, "invalid", invalid.reason, std::nullopt,
                                            kept_payload(pending.payload), 0});
            forget(pending_record(keys[invalid.index]));
        }
        for (auto request = planned.rbegin(); request != planned.rend(); ++request) {
            PlannedBatch batch;
            for (const size_t index : request->records)
                batch.keys.push_back(keys[index]);
            batch.request = std::move(request->request);
            batch.first_send = false;   // counted as sent with its lookup
            batch.via = via;
            ready_.push_front(std::move(batch));
        }
    }

    // The answer says which records failed (SPEC section 3: one bad record
    // never fails its batch). Records sent back unaccepted go again, in a
    // request of their own, without counting as sent twice.
    void per_record(const std::vector<uint64_t> &keys, std::vector<destinations::RecordOutcome> outcomes,
                    const http::HttpResponse &response, int attempts, Via via) {
        std::vector<uint64_t> again;
        for (size_t i = 0; i < keys.size(); ++i) {
            destinations::RecordOutcome &outcome = outcomes[i];
            if (outcome.fate == destinations::RecordFate::Delivered) {
                delivered(keys[i], std::move(outcome.object_id));
            } else if (outcome.fate == destinations::RecordFate::Rejected) {
                last_failure_ = "HTTP " + std::to_string(response.status) + ": " + secrets_.mask(outcome.message);
                undelivered(keys[i], "rejected", response, attempts);
            } else if (++records_.at(keys[i]).send_backs > kMaxSendBacks) {
                last_failure_ = "HTTP " + std::to_string(response.status) + ": the destination did not accept the record in " +
                                std::to_string(kMaxSendBacks + 1) + " requests";
                undelivered(keys[i], "failed", response, attempts);
            } else {
                again.push_back(keys[i]);
            }
        }
        if (!again.empty())
            ready_.push_front(rebuild(again, via));
    }

    // ---- asynchronous jobs (catalog::JobSpec: Klaviyo's bulk import) ----
    //
    // A request whose answer starts a job leaves its records pending: the
    // job is polled (through the same client, so the rate limit holds) until
    // it is done, then its errors are read and mapped back to records, and
    // only then do they reach the results and the checkpoint. A job still
    // running when the run's wait (job_wait) ends leaves its records
    // unanswered: out of the checkpoint, sent again by the next run, never
    // counted delivered unseen.

    static bool starts_job(const destinations::RequestBuilder &builder, long status) {
        const std::optional<catalog::JobSpec> &job = builder.response().job;
        return job && std::find(job->statuses.begin(), job->statuses.end(), status) != job->statuses.end();
    }

    void job_started(const std::vector<uint64_t> &keys, const http::HttpResponse &response, int attempts, Via via) {
        const destinations::RequestBuilder &builder = builder_for(via);
        const std::optional<std::string> id = destinations::job_id_of(*builder.response().job, response.body);
        if (!id) {
            note_failure(response);
            last_failure_ = "the destination's answer names no job: " + last_failure_;
            for (const uint64_t key : keys)
                undelivered(key, "failed", response, attempts);
            return;
        }
        if (via != Via::Send)
            throw Error(sqlstate::kInternalError, "a lookup's answer started a job at the destination");
        PendingJob job;
        job.keys = keys;
        job.id = *id;
        job.poll_ms = builder.response().job->poll_ms;
        const Clock::time_point now = Clock::now();
        job.deadline = now + job_wait_;
        job.next_poll = now + std::chrono::milliseconds(job.poll_ms);
        jobs_.emplace(next_job_++, std::move(job));
    }

    // Polls the jobs due (as request slots allow); leaves those past the
    // run's wait unanswered.
    void serve_jobs() {
        const Clock::time_point now = Clock::now();
        for (auto it = jobs_.begin(); it != jobs_.end();) {
            PendingJob &job = it->second;
            if (!job.in_flight && !job.reading_errors && now >= job.deadline) {
                for (const uint64_t key : job.keys)
                    forget(pending_record(key));
                awaiting_job_ += static_cast<int64_t>(job.keys.size());
                it = jobs_.erase(it);
                continue;
            }
            if (!job.in_flight && !job.reading_errors && now >= job.next_poll && client_.pending() < window()) {
                submit_job_request(it->first, requests_.job_status_request(job.id), Via::JobState);
                if (fatal_)
                    return;   // no access token to be had: give_up() emptied jobs_
            }
            ++it;
        }
    }

    void submit_job_request(uint64_t number, http::HttpRequest request, Via via) {
        InFlight sent;
        sent.via = via;
        sent.job = number;
        if (access_token_ && !authorize(request, sent))
            return;
        jobs_.at(number).in_flight = true;
        submit(std::move(request), std::move(sent));
    }

    // Nothing in flight and jobs waiting for their next poll: wait for the
    // first of them (at most 100 ms at a time, so a cancel gets in).
    void wait_for_jobs() {
        if (jobs_.empty() || fatal_)
            return;
        Clock::time_point first = Clock::time_point::max();
        for (const auto &[number, job] : jobs_)
            first = std::min(first, std::min(job.next_poll, job.deadline));
        const Clock::time_point until = std::min(first, Clock::now() + std::chrono::milliseconds(100));
        if (until > Clock::now())
            std::this_thread::sleep_for(until - Clock::now());
        if (pg::cancel_requested() || pg::termination_requested())
            throw Error("57014", "sync canceled");   // as http::HttpClient::poll
    }

    void job_answer(uint64_t number, Via via, const http::HttpResponse &response, int attempts) {
        auto found = jobs_.find(number);
        if (found == jobs_.end())
            return;   // the run gave up on it
        PendingJob &job = found->second;
        job.in_flight = false;
        const catalog::JobSpec &spec = *requests_.response().job;
        const long status = response.status;
        if (status < 200 || status >= 300) {
            if (status == 401 || status == 403 ||
                destinations::answer_matches(requests_.response().fatal, status, response.body)) {
                credentials_refused(job.keys, response, attempts);
                jobs_.erase(found);
            } else {
                note_failure(response);
                fail_job(found, "the destination's job " + quoted(secrets_.mask(job.id)) + " could not be read: " +
                                    last_failure_,
                         response, attempts);
            }
            return;
        }
        if (via == Via::JobState)
            job_state_answer(found, spec, response, attempts);
        else
            job_errors_answer(found, spec, response, attempts);
    }

    void job_state_answer(std::map<uint64_t, PendingJob>::iterator found, const catalog::JobSpec &spec,
                          const http::HttpResponse &response, int attempts) {
        PendingJob &job = found->second;
        const destinations::JobState state = destinations::read_job_state(spec, response.body);
        switch (state.phase) {
        case destinations::JobState::Phase::Running:
            job.next_poll = Clock::now() + std::chrono::milliseconds(job.poll_ms);
            job.poll_ms = std::min(job.poll_ms * 2, spec.poll_max_ms);
            return;
        case destinations::JobState::Phase::Done:
            job.reading_errors = true;
            job.failed_count = state.failed_count;
            job.errors_url = requests_.job_errors_url(job.id);
            index_job_keys(job, spec);
            submit_job_request(found->first, requests_.job_get_request(job.errors_url), Via::JobErrors);
            return;
        case destinations::JobState::Phase::Failed:
            fail_job(found,
                     "the destination's job " + quoted(secrets_.mask(job.id)) + " ended " +
                         quoted(secrets_.mask(state.state)),
                     response, attempts);
            return;
        case destinations::JobState::Phase::Unreadable:
            note_failure(response);
            fail_job(found,
                     "the destination's answer about job " + quoted(secrets_.mask(job.id)) + " has no state: " +
                         last_failure_,
                     response, attempts);
            return;
        }
    }

    // Every record of the job fails, `why` (kind failed: a later run sends
    // them again), and the job is done with.
    void fail_job(std::map<uint64_t, PendingJob>::iterator found, std::string why, const http::HttpResponse &response,
                  int attempts) {
        last_failure_ = std::move(why);
        for (const uint64_t key : found->second.keys)
            undelivered(key, "failed", response, attempts);
        jobs_.erase(found);
    }

    // Each record's keys as the job's errors name them (ASCII case ignored;
    // an empty key names nothing).
    void index_job_keys(PendingJob &job, const catalog::JobSpec &spec) {
        job.by_key.assign(spec.error_keys.size(), {});
        for (const uint64_t key : job.keys) {
            const PendingRecord &pending = records_.at(key);
            for (size_t index = 0; index < spec.error_keys.size(); ++index) {
                std::string text =
                    requests_.job_error_key({pending.record_id, pending.payload, pending.message_id, {}}, index);
                if (!text.empty())
                    job.by_key[index].emplace(lower_ascii(std::move(text)), key);
            }
        }
    }

    static std::string lower_ascii(std::string text) {
        for (char &c : text)
            if (c >= 'A' && c <= 'Z')
                c = static_cast<char>(c - 'A' + 'a');
        return text;
    }

    void job_errors_answer(std::map<uint64_t, PendingJob>::iterator found, const catalog::JobSpec &spec,
                           const http::HttpResponse &response, int attempts) {
        PendingJob &job = found->second;
        const destinations::JobErrorsPage page = destinations::read_job_errors(spec, response.body);
        if (!page.readable) {
            note_failure(response);
            fail_job(found,
                     "the destination's answer about the errors of job " + quoted(secrets_.mask(job.id)) +
                         " has no list: " + last_failure_,
                     response, attempts);
            return;
        }
        for (const destinations::JobError &error : page.errors) {
            std::vector<uint64_t> named;
            for (size_t index = 0; index < error.keys.size() && index < job.by_key.size(); ++index) {
                if (error.keys[index].empty())
                    continue;
                const auto range = job.by_key[index].equal_range(lower_ascii(error.keys[index]));
                for (auto it = range.first; it != range.second; ++it)
                    if (std::find(named.begin(), named.end(), it->second) == named.end())
                        named.push_back(it->second);
            }
            if (named.empty())
                job.unattributed = true;
            for (const uint64_t key : named) {
                std::string &message = job.rejected[key];
                message += (message.empty() ? "" : "; ") + error.message;
            }
        }
        if (page.next) {
            if (destinations::next_page_allowed(job.errors_url, *page.next)) {
                submit_job_request(found->first, requests_.job_get_request(*page.next), Via::JobErrors);
                return;
            }
            job.unattributed = true;   // the rest of its errors cannot be read
        }
        job_done(found, response, attempts);
    }

    // Every error of a done job read: the records they name failed, the
    // others were delivered, unless the job reports failures its errors do
    // not pin on records: then those others fail too (and go in a later run)
    // rather than count delivered unseen.
    void job_done(std::map<uint64_t, PendingJob>::iterator found, const http::HttpResponse &response, int attempts) {
        PendingJob &job = found->second;
        const bool unexplained = job.unattributed || (job.failed_count && *job.failed_count >
                                                          static_cast<long long>(job.rejected.size()));
        for (const uint64_t key : job.keys) {
            const auto rejected = job.rejected.find(key);
            if (rejected != job.rejected.end()) {
                last_failure_ = secrets_.mask(rejected->second);
                undelivered(key, "rejected", response, attempts);
            } else if (unexplained) {
                last_failure_ = "the destination's job " + quoted(secrets_.mask(job.id)) +
                                " reports failures its errors do not pin on records";
                undelivered(key, "failed", response, attempts);
            } else {
                delivered(key);
            }
        }
        jobs_.erase(found);
    }

    // Nothing was sent: the destination's address is in
    // reverse_etl.blocked_networks. Like a host allowed_hosts refuses, the
    // run fails with the reason, and its records (no error of theirs) go in
    // a later run, once the settings allow the destination.
    void refused(const Error &reason) {
        if (!fatal_)
            fatal_ = reason.message();
        give_up();
    }

    // The run stops sending: what is queued or in flight gets no answer, stays
    // out of the checkpoint, and goes in a later run.
    void give_up() {
        ready_.clear();
        client_.abandon();
        jobs_.clear();   // their records stay in records_: unanswered
    }

    // A batch refused as a whole with a 400 that names no record: send each
    // half on its own until the bad records stand alone.
    void split(const std::vector<uint64_t> &keys, Via via) {
        const size_t half = keys.size() / 2;
        const std::vector<uint64_t> first(keys.begin(), keys.begin() + half);
        const std::vector<uint64_t> second(keys.begin() + half, keys.end());
        ready_.push_front(rebuild(second, via));
        ready_.push_front(rebuild(first, via));
    }

    PlannedBatch rebuild(const std::vector<uint64_t> &keys, Via via) const {
        std::vector<destinations::OutgoingRecord> records;
        std::vector<size_t> indexes;
        for (const uint64_t key : keys) {
            const PendingRecord &pending = records_.at(key);
            indexes.push_back(records.size());
            records.push_back({pending.record_id, pending.payload, pending.message_id, pending.object_id});
        }
        PlannedBatch batch;
        batch.keys = keys;
        batch.request = builder_for(via).build(records, indexes).request;
        batch.first_send = false;
        batch.via = via;
        return batch;
    }

    // Every record leaves records_ exactly once, delivered or not: a record
    // seen twice would be a bookkeeping bug that could lose data, so stop.
    std::unordered_map<uint64_t, PendingRecord>::iterator pending_record(uint64_t key) {
        auto found = records_.find(key);
        if (found == records_.end())
            throw Error(sqlstate::kInternalError, "record " + std::to_string(key) + " was answered twice");
        return found;
    }

    void delivered(uint64_t key, std::string object_id = {}) {
        auto found = pending_record(key);
        counters_.succeeded++;
        results_.delivered.push_back({std::move(found->second.tid), found->second.ordinal,
                                      found->second.change == "deleted", std::move(object_id)});
        forget(found);
    }

    // Once per answer, not per record: every record of the request shares it.
    void note_failure(const http::HttpResponse &response) {
        last_failure_ = describe_failure(response, secrets_);
    }

    // `last_failure_` describes the response (note_failure).
    void undelivered(uint64_t key, const std::string &kind, const http::HttpResponse &response, int attempts) {
        auto found = pending_record(key);
        counters_.failed++;
        (response.status == 0 ? transport_failures_ : other_failures_)++;
        std::optional<long> status;
        if (response.status != 0)
            status = response.status;
        results_.undelivered.push_back({found->second.record_id, found->second.change, kind, last_failure_, status,
                                        kept_payload(found->second.payload), attempts, found->second.tid});
        forget(found);
    }

    void forget(std::unordered_map<uint64_t, PendingRecord>::iterator found) {
        held_bytes_ -= held_size(found->second);
        records_.erase(found);
    }

    // A record error's payload, secrets masked. One too big for any request
    // is not kept: the catalog would rewrite megabytes at every run, and the
    // error says its size.
    std::optional<std::string> kept_payload(const std::string &payload) const {
        if (!requests_.fits_alone(payload.size()))
            return std::nullopt;
        return secrets_.mask_json_text(payload);
    }

    void flush() {
        last_flush_ = Clock::now();
        pg::run_in_transaction([&] {
            pump(true);
            if (!may_have_errors_)
                may_have_errors_ = has_record_errors(plan_.mapping.id);
            // In slices, pumping between them (see pump()).
            const ResultWriteOptions options{may_have_errors_, counters_.first_run};
            // Slices name the records, not copies: a pump may throw a
            // cancel, and the flush the run then ends with writes them again.
            const std::vector<DeliveredRecord> &delivered = results_.delivered;
            for (size_t from = 0; from < delivered.size(); from += kFlushSliceRecords) {
                const size_t count = std::min(delivered.size() - from, kFlushSliceRecords);
                write_delivered(plan_, DeliveredSlice{delivered.data() + from, count}, options);
                pump();
            }
            write_undelivered(plan_, run_id_, results_.undelivered);
            save_counters(run_id_, counters_);
        });
        // Errors written now must be cleared when their records go through.
        may_have_errors_ = may_have_errors_ || !results_.undelivered.empty();
        results_.clear();
    }

    void report_progress() {
        if (Clock::now() - last_progress_ < kProgressInterval)
            return;
        last_progress_ = Clock::now();
        pg::notice("run " + std::to_string(run_id_) + ": sent " + std::to_string(counters_.sent) + " of " +
                   std::to_string(counters_.selected) + " records (" + std::to_string(counters_.succeeded) +
                   " delivered, " + std::to_string(counters_.failed) + " not delivered; up to " +
                   std::to_string(window()) + " requests at once)");
    }

    // Requests the run keeps in flight now (http::ConcurrencyLimit).
    size_t window() const { return static_cast<size_t>(client_.concurrency().current()); }

    const MappingPlan &plan_;
    const int64_t run_id_;
    RunCounters &counters_;
    // A streamed first run's model reader: the records come from it, not
    // from the outbox (load_streamed_chunk).
    pg::QueryStream *const stream_;
    std::vector<std::optional<std::string_view>> streamed_values_;
    const PayloadBuilder payloads_;
    const destinations::RequestBuilder requests_;
    // Whether a builder of the run renders from the payloads' members
    // (PayloadBuilder::build records where they lie then).
    bool record_members_ = false;
    // What run history and record errors must not show: the settings'
    // secrets and, once fetched, the OAuth access token.
    destinations::SecretMasker secrets_ = requests_.secrets();
    std::optional<http::AccessToken> access_token_;
    std::string masked_token_;   // the last token secrets_ took in
    const std::string builder_;   // see operation_of_change
    http::HttpClient client_;
    const RunContext context_;

    std::unordered_map<uint64_t, PendingRecord> records_;
    // Records read and built but not yet in a request (see plan_requests).
    std::vector<destinations::OutgoingRecord> unplanned_;
    std::vector<UnplannedRow> unplanned_rows_;
    // Member lists of records that went into requests, their storage kept
    // for the next records' (an allocation and a free a record were about a
    // twentieth of the sync worker's time in a Mixpanel profile sync).
    std::vector<std::vector<JsonMemberSpan>> spare_members_;
    std::deque<PlannedBatch> ready_;
    // Requests planned inside a streamed chunk's transaction, which wait in
    // here for it to commit (see plan_early).
    std::deque<PlannedBatch> uncommitted_;
    std::unordered_map<uint64_t, InFlight> in_flight_;
    const catalog::LookupDef *lookup_ = nullptr;   // the operation's, when it has one
    std::optional<destinations::RequestBuilder> lookups_;
    // The action's "add" requests, when the lookup creates what it does not find.
    std::optional<destinations::RequestBuilder> creates_;
    uint64_t next_key_ = 0;
    uint64_t next_tag_ = 0;
    // The record being built: views into the row read last.
    RecordValues values_;
    std::string last_tid_ = "(0,0)";  // of the last outbox row read; no row is at offset 0
    int64_t rows_read_ = 0;   // outbox rows this pass carries
    int64_t rows_seen_ = 0;   // every outbox row read, carried or not
    size_t held_bytes_ = 0;  // see kHeldBytes
    bool chunk_cut_short_ = false;  // the last chunk stopped at the byte budget
    // Once true, stays true: checked in each flush until the mapping has errors.
    bool may_have_errors_ = false;
    bool outbox_done_ = false;
    RecordResults results_;
    Clock::time_point last_flush_ = Clock::now();
    Clock::time_point last_pump_{};
    bool stopping_ = false;   // the run is ending on an error: its last flush pumps nothing
    // Answers a pump took, for drive() to handle (see pump()).
    std::vector<http::Completion> deferred_;
    Clock::time_point last_progress_ = Clock::now();
    std::optional<std::string> fatal_;
    std::string last_failure_;
    // Asynchronous jobs (catalog::JobSpec), by number, oldest first.
    std::map<uint64_t, PendingJob> jobs_;
    uint64_t next_job_ = 0;
    std::chrono::microseconds job_wait_{0};
    int64_t awaiting_job_ = 0;   // records left unanswered at the end of the wait
    int64_t transport_failures_ = 0;
    int unreachable_in_a_row_ = 0;
    int64_t other_failures_ = 0;
};

}  // namespace

// Only the start of the body is read, so this stays cheap however big the
// answer.
std::string describe_failure(const http::HttpResponse &response, const destinations::SecretMasker &secrets) {
    if (response.status == 0)
        return secrets.mask(response.transport_error.empty() ? "no response" : response.transport_error);
    std::string text = "HTTP " + std::to_string(response.status);
    if (!response.body.empty())
        text += ": " + secrets.mask_prefix(response.body, kErrorBodyChars);
    return text;
}

DeliveryOutcome deliver(const MappingPlan &plan, int64_t run_id, const std::string &synced_at,
                        RunCounters &counters, pg::QueryStream *stream) {
    std::vector<std::string> builders;
    for (const char *change : {"added", "updated", "deleted"}) {
        const std::string key = operation_of_change(plan, change);
        if (std::find(builders.begin(), builders.end(), key) == builders.end())
            builders.push_back(key);
    }
    DeliveryOutcome outcome;
    std::optional<std::string> unreachable;
    int64_t carried = 0;
    int64_t awaiting_job = 0;
    for (const std::string &builder : builders) {
        // A streamed run's records are all additions: the first pass
        // (the additions') carries them all.
        DeliveryLoop loop(plan, run_id, synced_at, counters, builder, stream);
        outcome = loop.run();
        carried += outcome.carried;
        awaiting_job += outcome.awaiting_job;
        outcome.awaiting_job = awaiting_job;
        if (outcome.fatal_error)
            return outcome;
        if (outcome.unreachable_error)
            unreachable = outcome.unreachable_error;
        // Each pass reads the whole outbox: once the passes so far carried
        // every row (a first run, or a run with no deletions), a later pass
        // would read it all again to send nothing.
        if (carried == counters.outbox)
            break;
    }
    // A pass that found the destination unreachable speaks for the run when
    // no pass got a record through (a later pass may have had nothing to send).
    if (counters.succeeded == 0)
        outcome.unreachable_error = unreachable;
    // Every outbox row goes through exactly one pass: one left out would be
    // neither delivered nor an error, a record silently lost.
    if (carried != counters.outbox)
        throw Error(sqlstate::kInternalError,
                    "delivery passes carried " + std::to_string(carried) + " of " + std::to_string(counters.outbox) +
                        " records to send",
                    "The records not carried stay out of the checkpoint and go in the next run.");
    return outcome;
}

}  // namespace reverse_etl::engine
