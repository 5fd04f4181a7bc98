// Reads a destination's answer as its definition's "response" block says
// (catalog::ResponseSpec): which records of the request failed and why, a
// success status whose body says failure, a failure that means bad
// credentials. Pure C++: no libcurl, no PostgreSQL.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "catalog/destination_type.hpp"

namespace reverse_etl::destinations {

enum class RecordFate {
    Delivered,
    Rejected,   // the destination refused this record: its error says why
    Retry,      // not accepted, through no fault of its own: send it again
};

struct RecordOutcome {
    RecordFate fate = RecordFate::Delivered;
    std::string message;   // Rejected: the destination's words, as it gave them
    std::string object_id;   // Delivered: the destination's id of the record, when it gave one
};

struct AnswerReading {
    enum class Verdict {
        Status,      // nothing to read: the status speaks for every record
        PerRecord,   // `outcomes` has one entry per record, in request order
        BodyFailed,  // a failure the answer ties to no record (as a 400 would be)
        Fatal,       // bad credentials: the run fails (`message` says what the answer said)
        Exhausted,   // the destination's daily allowance is used up (ResponseSpec::exhausted):
                     // the run fails with 54000, its unanswered records go in a later run
        Busy,        // a refusal for now (ResponseSpec::retry), its retries used up: as a 429
    };
    Verdict verdict = Verdict::Status;
    std::vector<RecordOutcome> outcomes;
    std::string message;
};

// `records`: how many records the request carried. An answer that names a
// record the request did not carry, or an error that names none, is not
// taken as per-record: BodyFailed, so the batch is split until each record
// stands alone and no failure is pinned on the wrong one.
// `keys`: each record's key (catalog::RecordOutcomeSpec::record_key), in
// request order, for answers read by keys; for key lists, each record's
// value of list_keys[0] in request order, then of list_keys[1], ...; else
// empty.
// Whether the answer is one of `answers` (the response block's fatal,
// exhausted or retry entries): its status, and the text at the path starting
// with the prefix (the empty path also matches an answer in plain text).
bool answer_matches(const std::vector<catalog::FatalAnswer> &answers, long status, std::string_view body);

AnswerReading read_answer(const catalog::ResponseSpec &spec, long status, std::string_view body, size_t records,
                          const std::vector<std::string> &keys = {});

}  // namespace reverse_etl::destinations
