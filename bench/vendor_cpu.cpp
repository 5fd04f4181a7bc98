// The sync worker's own CPU work for a vendor type against the webhook's,
// without PostgreSQL, the network or a mock: payloads built from rendered
// values as a sync builds them, their requests planned a thousand records at
// a time (as a streamed first run plans them), and the answers read. On the
// benchmark's shared cores a whole sync's time moves by a quarter from one
// minute to the next; these steps, timed alone and repeated, show what a
// change to them gains (bench/README.md). Not a test: it asserts nothing.
//
//   make -C test/unit vendor-cpu && test/unit/build/vendor_cpu [--glibc-defaults] [REPETITIONS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <malloc.h>

#include "catalog/action_settings.hpp"
#include "destinations/request_builder.hpp"
#include "destinations/response_reader.hpp"
#include "engine/payload_builder.hpp"
#include "test_support.hpp"

namespace {

using namespace reverse_etl;
using Clock = std::chrono::steady_clock;

constexpr int kRecords = 100000;
constexpr size_t kPlanChunk = 1000;   // engine/delivery.cpp's kEarlyPlanRecords

// The bench's users table (bench/bench.py), as to_json() renders its rows.
const std::vector<Column> kColumns = {{"id", "bigint"},           {"email", "text"},
                                      {"name", "text"},           {"plan", "text"},
                                      {"mrr", "numeric(12,2)"},   {"created_at", "timestamp with time zone"},
                                      {"properties", "jsonb"}};

std::vector<std::vector<std::string>> rendered_rows() {
    static const char *const kPlans[] = {"free", "starter", "pro", "enterprise"};
    std::vector<std::vector<std::string>> rows;
    rows.reserve(kRecords);
    for (int i = 1; i <= kRecords; ++i) {
        const std::string n = std::to_string(i);
        rows.push_back({n, "\"chloe.andersson" + n + "@acme.io\"", "\"Chloe Andersson\"",
                        std::string("\"") + kPlans[i % 4] + "\"", std::to_string(i % 1000) + ".09",
                        "\"2019-08-13T05:04:15+00:00\"",
                        R"({"seats": )" + std::to_string(i % 50) +
                            R"(, "company": "Dunder Mifflin Group", "country": "JP", "features": ["api", "sso"], )"
                            R"("signup_source": "product_hunt", "marketing_opt_in": false})"});
    }
    return rows;
}

struct Case {
    const char *type;
    const char *action;
    const char *fields;            // destination field -> column, as the bench maps them
    const char *settings;
    const char *action_settings;   // nullptr: none
};

// The bench's mappings (bench/results-vendors.md, "What each type sent").
const Case kCases[] = {
    {"webhook", "send", R"({"id": "id", "email": "email", "name": "name", "plan": "plan", "mrr": "mrr",
                            "created_at": "created_at", "properties": "properties"})",
     R"({"url": "http://127.0.0.1/hook", "batch_size": 100})", nullptr},
    {"amplitude", "identify_user", R"({"user_id": "email", "id": "id", "name": "name", "plan": "plan", "mrr": "mrr",
                                       "created_at": "created_at", "properties": "properties"})",
     R"({"api_key": "k"})", nullptr},
    {"mixpanel", "user_profile", R"({"distinct_id": "id", "email": "email", "name": "name", "created": "created_at",
                                     "plan": "plan", "mrr": "mrr", "properties": "properties"})",
     R"({"project_token": "t"})", nullptr},
    {"salesforce", "contact", R"({"Bench_Id__c": "id", "LastName": "name", "Email": "email", "plan": "plan",
                                  "mrr": "mrr", "created_at": "created_at", "properties": "properties"})",
     R"({"instance_url": "https://org.example", "access_token": "t"})", R"({"external_id_field": "Bench_Id__c"})"},
};

double median(std::vector<double> times) {
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void measure(const Case &c, const std::vector<std::vector<std::string>> &rows, int repetitions) {
    const catalog::DestinationType &type = test::shipped_type(c.type);
    catalog::ActionDef action = *type.find_action(c.action);
    if (c.action_settings)
        action = catalog::bind_action_settings(action, test::json(c.action_settings).get());
    const engine::PayloadBuilder payloads(c.fields, action, kColumns);
    destinations::RequestBuilder requests(type, action, test::json(c.settings).get());
    requests.declare_payload_keys(payloads.member_keys());   // as engine/delivery.cpp does
    const bool members = requests.reads_payload_members();
    std::vector<double> build_ms, plan_ms;
    size_t body_bytes = 0, request_count = 0;
    for (int r = 0; r < repetitions; ++r) {
        double build = 0, plan = 0;
        body_bytes = request_count = 0;
        engine::RecordValues values{"", "added", std::vector<std::optional<std::string_view>>(kColumns.size())};
        std::vector<destinations::OutgoingRecord> chunk;
        // A chunk's payloads are built and then planned, while they are in
        // the cache, as a streamed first run does (DeliveryLoop::plan_early).
        for (size_t at = 0; at < rows.size(); at += kPlanChunk) {
            chunk.clear();
            Clock::time_point start = Clock::now();
            for (size_t i = at; i < std::min(at + kPlanChunk, rows.size()); ++i) {
                const std::vector<std::string> &row = rows[i];
                values.record_id = row[0];
                for (size_t column = 0; column < row.size(); ++column)
                    values.json_values[column] = row[column];
                engine::BuiltPayload built = payloads.build(values, {"bench", 1, "2026-12-07T00:00:00Z"}, members);
                chunk.push_back({row[0], std::move(built.json), "retl-1-" + row[0] + "-v1", "", std::move(built.members)});
            }
            build += ms_since(start);
            start = Clock::now();
            for (const destinations::PlannedRequest &planned : requests.plan(chunk)) {
                body_bytes += planned.request.body.size();
                ++request_count;
            }
            plan += ms_since(start);
        }
        build_ms.push_back(build);
        plan_ms.push_back(plan);
    }
    std::printf("| %s | %s | %.1f | %.1f | %zu | %.1f |\n", c.type, c.action, median(build_ms), median(plan_ms),
                request_count, static_cast<double>(body_bytes) / 1e6);
}

// Salesforce's answers to the bench's upserts: 500 of 200 results, each
// with an id of Salesforce's shape (as test/mocks/salesforce.py answers).
void measure_answers(int repetitions) {
    const catalog::DestinationType &type = test::shipped_type("salesforce");
    const catalog::ActionDef action = catalog::bind_action_settings(
        *type.find_action("contact"), test::json(R"({"external_id_field": "Bench_Id__c"})").get());
    const destinations::RequestBuilder requests(
        type, action, test::json(R"({"instance_url": "https://org.example", "access_token": "t"})").get(), "upsert");
    std::vector<std::string> answers;
    for (int a = 0; a < 500; ++a) {
        std::string body = "[";
        for (int i = 0; i < 200; ++i) {
            char result[120];
            std::snprintf(result, sizeof result, R"(%s{"id":"003RM%010dAAA","success":true,"errors":[],"created":true})",
                          i ? "," : "", a * 200 + i + 1);
            body += result;
        }
        answers.push_back(body + "]");
    }
    std::vector<double> times;
    size_t ids = 0;
    for (int r = 0; r < repetitions; ++r) {
        const Clock::time_point start = Clock::now();
        for (const std::string &body : answers)
            for (const destinations::RecordOutcome &outcome :
                 destinations::read_answer(requests.response(), 200, body, 200).outcomes)
                ids += !outcome.object_id.empty();
        times.push_back(ms_since(start));
    }
    std::printf("\nSalesforce's 500 answers of 200 results read (read_answer): %.1f ms (%zu ids)\n", median(times),
                ids / static_cast<size_t>(repetitions));
}

}  // namespace

int main(int argc, char **argv) {
    // Alone, this process gives the top of its heap back to the kernel
    // each time a chunk's requests are freed, and faults it in again for
    // the next (half of Amplitude's planning, timed so). A sync worker does
    // not: PostgreSQL's own blocks sit above what a request frees (its page
    // faults per sync were the same with trimming turned off). So freed
    // memory is kept here too; --glibc-defaults shows the other way.
    const bool glibc_defaults = argc > 1 && std::string(argv[1]) == "--glibc-defaults";
    if (!glibc_defaults) {
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
    }
    const int repetitions = argc > 1 + glibc_defaults ? std::max(1, std::atoi(argv[1 + glibc_defaults])) : 7;
    const std::vector<std::vector<std::string>> rows = rendered_rows();
    std::printf("100,000 records, median of %d repetitions, ms; malloc: %s\n\n", repetitions,
                glibc_defaults ? "glibc's defaults" : "freed memory kept, as in a sync worker");
    std::printf("| type | action | payloads built | requests planned | requests | body MB |\n|---|---|---|---|---|---|\n");
    for (const Case &c : kCases)
        measure(c, rows, repetitions);
    measure_answers(repetitions);
    return 0;
}
