// Destination responses: the Retry-After header (http/retry_policy), the
// per-record outcomes and verdicts every shipped type reads from an answer
// (destinations/response_reader), and the masking of secrets in what a destination sends back or is sent, which run
// history, record errors and send_test_record keep (destinations/secret_masker).
// Input: a first line that is one more secret (settings are users' text too),
// then the response: its first line is also read as Retry-After.
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/json_text.hpp"
#include "destinations/response_reader.hpp"
#include "destinations/secret_masker.hpp"
#include "http/retry_policy.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;

namespace {

void check_retry_after(const std::string &value, uint64_t random) {
    http::HttpResponse response;
    response.status = 429;
    response.headers = {{"content-type", "text/plain"}, {"retry-after", value}};
    const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1767607200));   // 2026-01-05
    const std::optional<int64_t> delay = http::retry_after_ms(response, now, 600000);
    FUZZ_CHECK(!delay || (*delay >= 0 && *delay <= 600000), "Retry-After outside [0, cap]");
    const http::BackoffSettings settings;
    for (const int attempt : {1, 2, 7, 64, 1000000}) {
        const int64_t wait = http::retry_delay_ms(attempt, response, random, settings, now);
        FUZZ_CHECK(wait >= 0 && wait <= std::max(settings.cap_ms, settings.max_retry_after_ms), "delay out of range");
    }
    response.headers.clear();
    FUZZ_CHECK(http::retry_delay_ms(3, response, random, settings, now) <= 4000, "backoff above its ceiling");
}

void check_masking(const std::string &secret, const std::string &text) {
    std::vector<std::string> secrets = {"s3cr3t-T0ken", "p@ss word/+", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80",
                                        "YWxhZGRpbjpvcGVuIHNlc2FtZQ==", secret};
    const destinations::SecretMasker masker(secrets);
    const std::string masked = masker.mask(text);
    // (A secret of asterisks is masked by itself.)
    FUZZ_CHECK(masker.occurs_in(text) == (masked != text) || secret.find('*') != std::string::npos,
               "occurs_in and mask disagree");
    const std::string prefix = masker.mask_prefix(text, text.size() / 2);
    for (const std::string &hidden : secrets) {
        if (hidden.empty() || hidden.find('*') != std::string::npos)
            continue;   // the mask itself may spell it
        FUZZ_CHECK(masked.find(hidden) == std::string::npos, "mask left a secret");
        FUZZ_CHECK(prefix.find(hidden) == std::string::npos, "mask_prefix left a secret");
    }
    const std::optional<std::string> json = masker.mask_json_text(text);
    const bool is_json = is_json_text(text);
    if (json)
        FUZZ_CHECK(!is_json || is_json_text(*json), "mask_json_text made invalid JSON");
    else
        FUZZ_CHECK(!is_json, "mask_json_text gave up on JSON");
}

// Every response block of the shipped types (actions', operations' and
// lookups') over the answer, as several statuses and request sizes: outcomes
// are one per record, or none. Answers read by keys get keys k0, k1...
// (key lists: repeated, and some empty)
std::vector<const catalog::ResponseSpec *> response_specs() {
    std::vector<const catalog::ResponseSpec *> specs;
    for (const catalog::DestinationType &type : fuzz::destination_types())
        for (const catalog::ActionDef &action : type.actions) {
            specs.push_back(&action.request.response);
            for (const auto &[name, operation] : action.operations) {
                specs.push_back(&operation.request.response);
                if (operation.lookup)
                    specs.push_back(&operation.lookup->request.response);
            }
        }
    return specs;
}

void check_reading(const std::string &body, uint64_t random) {
    static const std::vector<const catalog::ResponseSpec *> specs = response_specs();
    for (const catalog::ResponseSpec *spec : specs)
        for (const long status : {200L, 201L, 207L, 400L, static_cast<long>(200 + random % 400)}) {
            const size_t records = 1 + random % 7;
            std::vector<std::string> keys;
            if (spec->records.kind == catalog::RecordOutcomeKind::KeyedResults)
                for (size_t i = 0; i < records; ++i)
                    keys.push_back("k" + std::to_string(i));
            // Key lists: a row of keys per list key, some records without one.
            if (spec->records.kind == catalog::RecordOutcomeKind::KeyLists)
                for (size_t row = 0; row < spec->records.list_keys.size(); ++row)
                    for (size_t i = 0; i < records; ++i)
                        keys.push_back((i + row) % 3 == 2 ? "" : "k" + std::to_string(i % 4));
            const destinations::AnswerReading reading = destinations::read_answer(*spec, status, body, records, keys);
            const bool per_record = reading.verdict == destinations::AnswerReading::Verdict::PerRecord;
            FUZZ_CHECK(reading.outcomes.size() == (per_record ? records : 0), "outcomes do not match the records");
            for (const destinations::RecordOutcome &outcome : reading.outcomes) {
                FUZZ_CHECK(outcome.fate != destinations::RecordFate::Rejected || !outcome.message.empty(),
                           "a rejection without a message");
                // An object id goes into a text column: valid UTF-8 only
                // (a JSON string of it reads back as itself).
                std::string quoted;
                append_json_string(quoted, outcome.object_id);
                const std::optional<JsonValue> back = try_parse_json_text(quoted);
                FUZZ_CHECK(back && back->string_value() == outcome.object_id, "an object id that is not UTF-8");
            }
        }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string input = fuzz::text_of(data, size);
    const size_t newline = input.find('\n');
    const std::string secret = input.substr(0, std::min<size_t>(newline, 64));
    const std::string response = newline == std::string::npos ? input : input.substr(newline + 1);
    check_retry_after(response.substr(0, response.find('\n')), std::hash<std::string>()(input));
    check_masking(secret, response);
    check_reading(response, std::hash<std::string>()(input));
    return 0;
}
