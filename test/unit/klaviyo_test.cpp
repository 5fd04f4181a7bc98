// Klaviyo (src/destinations/klaviyo.json) and the definition features it
// brought: a wrap key that is a dotted path (the records' array nested in
// objects, with members at each level), and the response block's "job": an
// answer that starts an asynchronous job, polled, whose errors name records
// by key (catalog::JobSpec, destinations/job_reader).
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "catalog/action_settings.hpp"
#include "catalog/destination_type.hpp"
#include "destinations/job_reader.hpp"
#include "destinations/request_builder.hpp"
#include "http/http_text.hpp"
#include "test_support.hpp"

namespace reverse_etl::destinations {
namespace {

using catalog::DestinationType;
using catalog::parse_destination_type;
using test::error_of;
using test::json;
using test::shipped_type;

OutgoingRecord record(const std::string &id, const std::string &payload) {
    return OutgoingRecord{id, payload, "retl-1-" + id + "-v1", {}};
}

const catalog::JobSpec &profile_job() {
    return *shipped_type("klaviyo").find_action("profile")->request.response.job;
}

catalog::ActionDef bound_profile(const std::string &action_settings = "{}") {
    return catalog::bind_action_settings(*shipped_type("klaviyo").find_action("profile"),
                                         json(action_settings).get());
}

constexpr const char *kSettings = R"({"api_key": "pk_s3cret", "endpoint": "https://kl.example/"})";

TEST(Klaviyo, ProfilesGoInABulkImportJob) {
    const DestinationType &type = shipped_type("klaviyo");
    const catalog::ActionDef action = bound_profile();
    const RequestBuilder upserts(type, action, json(kSettings).get(), "upsert");
    EXPECT_EQ(upserts.max_records_per_request(), 10000u);
    std::vector<InvalidRecord> invalid;
    const std::vector<PlannedRequest> planned = upserts.plan(
        {record("1", R"({"email":"ada@example.com","first_name":"Ada","plan":"pro"})"),
         record("2", R"({"external_id":"u2","phone_number":"+15005550006"})")},
        &invalid);
    EXPECT_TRUE(invalid.empty());
    ASSERT_EQ(planned.size(), 1u);
    const http::HttpRequest &post = planned[0].request;
    EXPECT_EQ(post.method, "POST");
    EXPECT_EQ(post.url, "https://kl.example/api/profile-bulk-import-jobs");
    EXPECT_EQ(*http::find_header(post.headers, "Authorization"), "Klaviyo-API-Key pk_s3cret");
    EXPECT_EQ(*http::find_header(post.headers, "revision"), "2025-01-15");
    EXPECT_EQ(*http::find_header(post.headers, "Content-Type"), "application/vnd.api+json");
    EXPECT_EQ(post.body,
              R"({"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[)"
              R"({"type":"profile","attributes":{"email":"ada@example.com","first_name":"Ada","properties":{"plan":"pro"}}},)"
              R"({"type":"profile","attributes":{"external_id":"u2","phone_number":"+15005550006","properties":{}}}]}}}})");
    // A deleted record (mirror) goes with its key only.
    const RequestBuilder deletes(type, action, json(kSettings).get(), "delete");
    const std::vector<PlannedRequest> deleted = deletes.plan({record("3", R"({"email":"gone@example.com"})")});
    ASSERT_EQ(deleted.size(), 1u);
    EXPECT_EQ(deleted[0].request.body,
              R"({"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[)"
              R"({"type":"profile","attributes":{"email":"gone@example.com"}}]}}}})");
}

TEST(Klaviyo, TheJobIsPolledAtItsOwnUrlWithTheSameCredentials) {
    const DestinationType &type = shipped_type("klaviyo");
    const RequestBuilder upserts(type, bound_profile(), json(kSettings).get(), "upsert");
    const http::HttpRequest poll = upserts.job_status_request("job/1 2");
    EXPECT_EQ(poll.method, "GET");
    EXPECT_EQ(poll.url, "https://kl.example/api/profile-bulk-import-jobs/job%2F1%202");
    EXPECT_TRUE(poll.body.empty());
    EXPECT_EQ(*http::find_header(poll.headers, "Authorization"), "Klaviyo-API-Key pk_s3cret");
    EXPECT_EQ(*http::find_header(poll.headers, "revision"), "2025-01-15");
    EXPECT_EQ(upserts.job_errors_url("J1"), "https://kl.example/api/profile-bulk-import-jobs/J1/import-errors");
    EXPECT_EQ(upserts.job_error_key(record("1", R"({"email":"Ada@Example.com"})"), 0), "Ada@Example.com");
    EXPECT_EQ(upserts.job_error_key(record("1", R"({"email":"Ada@Example.com"})"), 1), "");
    // Events are no job: one request each, read by status.
    const RequestBuilder events(type, *type.find_action("event"), json(kSettings).get(), "add");
    EXPECT_FALSE(events.response().job.has_value());
    EXPECT_EQ(events.max_records_per_request(), 1u);
}

TEST(Klaviyo, EventsAreOneRequestEach) {
    const DestinationType &type = shipped_type("klaviyo");
    const RequestBuilder events(type, *type.find_action("event"), json(kSettings).get(), "add");
    const std::vector<PlannedRequest> planned =
        events.plan({record("7", R"({"metric":"Placed Order","email":"ada@example.com","value":12.5,"properties":{"sku":"A"}})")});
    ASSERT_EQ(planned.size(), 1u);
    EXPECT_EQ(planned[0].request.url, "https://kl.example/api/events");
    EXPECT_EQ(planned[0].request.body,
              R"({"data":{"type":"event","attributes":{"properties":{"sku":"A"},"value":12.5,"unique_id":"retl-1-7-v1",)"
              R"("metric":{"data":{"type":"metric","attributes":{"name":"Placed Order"}}},)"
              R"("profile":{"data":{"type":"profile","attributes":{"email":"ada@example.com"}}}}}})");
    // Klaviyo requires properties: an event without them sends an empty object.
    const std::vector<PlannedRequest> bare = events.plan({record("8", R"({"metric":"Visit","external_id":"u8"})")});
    ASSERT_EQ(bare.size(), 1u);
    EXPECT_NE(bare[0].request.body.find(R"("properties":{})"), std::string::npos) << bare[0].request.body;
}

TEST(JobReader, ReadsTheJobItsStateAndItsErrors) {
    const catalog::JobSpec &spec = profile_job();
    EXPECT_EQ(job_id_of(spec, R"({"data":{"type":"profile-bulk-import-job","id":"J1","attributes":{"status":"queued"}}})"),
              std::optional<std::string>("J1"));
    EXPECT_EQ(job_id_of(spec, R"({"data":{}})"), std::nullopt);
    EXPECT_EQ(job_id_of(spec, "not json"), std::nullopt);

    JobState state = read_job_state(spec, R"({"data":{"id":"J1","attributes":{"status":"processing"}}})");
    EXPECT_EQ(state.phase, JobState::Phase::Running);
    state = read_job_state(spec, R"({"data":{"id":"J1","attributes":{"status":"complete","failed_count":2}}})");
    EXPECT_EQ(state.phase, JobState::Phase::Done);
    EXPECT_EQ(state.failed_count, std::optional<long long>(2));
    state = read_job_state(spec, R"({"data":{"id":"J1","attributes":{"status":"cancelled"}}})");
    EXPECT_EQ(state.phase, JobState::Phase::Failed);
    EXPECT_EQ(state.state, "cancelled");
    EXPECT_EQ(read_job_state(spec, R"({"data":{"id":"J1"}})").phase, JobState::Phase::Unreadable);
    EXPECT_EQ(read_job_state(spec, "<html>").phase, JobState::Phase::Unreadable);

    const JobErrorsPage page = read_job_errors(spec, R"({"data":[
        {"type":"import-error","id":"e1","attributes":{"code":"invalid","title":"Invalid input.",
         "detail":"Invalid email address","source":{"pointer":"/data/attributes/profiles/data/0"},
         "original_payload":{"email":"bad@","external_id":"u1"}}},
        {"type":"import-error","id":"e2","attributes":{"title":"Invalid phone number",
         "original_payload":{"phone_number":"12"}}}],
        "links":{"self":"x","next":"https://kl.example/api/profile-bulk-import-jobs/J1/import-errors?page%5Bcursor%5D=2"}})");
    ASSERT_TRUE(page.readable);
    ASSERT_EQ(page.errors.size(), 2u);
    EXPECT_EQ(page.errors[0].keys, (std::vector<std::string>{"bad@", "u1", ""}));
    EXPECT_EQ(page.errors[0].message, "Invalid input.: Invalid email address");
    EXPECT_EQ(page.errors[1].keys, (std::vector<std::string>{"", "", "12"}));
    EXPECT_EQ(page.errors[1].message, "Invalid phone number");
    ASSERT_TRUE(page.next.has_value());
    EXPECT_FALSE(read_job_errors(spec, R"({"data":{}})").readable);
    EXPECT_FALSE(read_job_errors(spec, R"({"data":[],"links":{"next":null}})").next.has_value());

    // A next page is fetched with the API key only under the errors' own URL.
    const std::string errors = "https://kl.example/api/profile-bulk-import-jobs/J1/import-errors";
    EXPECT_TRUE(next_page_allowed(errors, errors + "?page%5Bcursor%5D=2"));
    EXPECT_TRUE(next_page_allowed(errors, errors));
    EXPECT_FALSE(next_page_allowed(errors, "https://evil.example/api/profile-bulk-import-jobs/J1/import-errors?x"));
    EXPECT_FALSE(next_page_allowed(errors, "https://kl.example.evil/api/profile-bulk-import-jobs/J1/import-errors"));
    EXPECT_FALSE(next_page_allowed(errors, errors + "-x"));
}

// The shipped definition with one piece of text replaced.
std::string klaviyo_with(const std::string &from, const std::string &to) {
    std::string text = test::repository_file("src/destinations/klaviyo.json");
    const size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos)
        text.replace(at, from.size(), to);
    return text;
}

std::string definition_error(const std::string &text) {
    const Error error = error_of([&] { parse_destination_type(text); });
    EXPECT_EQ(error.sqlstate(), "XX000");
    return error.message();
}

TEST(JobDefinition, Errors) {
    const std::string prefix = "invalid definition of destination type \"klaviyo\": ";
    const std::string url = R"("url": "{{settings.endpoint}}/api/profile-bulk-import-jobs/{{job_id}}")";
    EXPECT_EQ(definition_error(klaviyo_with(url, R"("url": "{{settings.endpoint}}/api/profile-bulk-import-jobs")")),
              prefix + "actions[0].request.response.job.url must have {{job_id}} exactly once");
    EXPECT_EQ(definition_error(klaviyo_with(url, R"("url": "https://x/{{job_id}}")")),
              prefix + "actions[0].request.response.job.url must start with {{settings.url}}, {{settings.endpoint}}, "
                       "{{settings.instance_url}} or {{settings.webhook_url}}");
    EXPECT_EQ(definition_error(klaviyo_with(url, R"("url": "{{settings.endpoint}}/{{job_id}}/{{settings.revision}}")")),
              prefix + "actions[0].request.response.job.url may have no placeholder after {{job_id}}");
    EXPECT_EQ(definition_error(klaviyo_with(url, R"("url": "{{settings.endpoint}}/{{settings.api_key}}/{{job_id}}")")),
              prefix + "actions[0].request.response.job.url uses secret setting \"api_key\", which is not allowed here");
    EXPECT_EQ(definition_error(klaviyo_with(R"("status": [
              202
            ],)", R"("status": [400],)")),
              prefix + "actions[0].request.response.job.status[0] must be a success status (200 to 299)");
    EXPECT_EQ(definition_error(klaviyo_with(R"("failed": [
              "cancelled"
            ],)", R"("failed": ["complete"],)")),
              prefix + "actions[0].request.response.job.failed repeats \"complete\" of done");
    EXPECT_EQ(definition_error(klaviyo_with(R"("poll_ms": 500,)", R"("poll_ms": 500, "every": 2,)")),
              prefix + "actions[0].request.response.job has unknown key \"every\" (status, id, url, state, done, failed, "
                       "failed_count, errors, wait, poll_ms, poll_max_ms)");
    EXPECT_EQ(definition_error(klaviyo_with(R"("setting": "job_wait",
              "default": "5 minutes")", R"("setting": "job_wait")")),
              prefix + "actions[0].request.response.job.wait needs a default");
    EXPECT_EQ(definition_error(klaviyo_with(R"("setting": "job_wait",
              "default": "5 minutes")", R"("setting": "revision", "default": "1 minute")")),
              prefix + "actions[0].request.response.job.wait.setting names setting \"revision\", which is not of type interval");
    EXPECT_EQ(definition_error(klaviyo_with(R"("poll_max_ms": 10000)", R"("poll_max_ms": 100)")),
              prefix + "actions[0].request.response.job.poll_max_ms must not be below poll_ms");
    EXPECT_EQ(definition_error(klaviyo_with(R"("attributes.original_payload.email": "{{fields.email}}",)",
                                            R"("attributes.original_payload.email": "{{message_id}}",)")),
              prefix + "actions[0].request.response.job.errors.keys.attributes.original_payload.email uses "
                       "{{message_id}}, which is not allowed here");
    // Dotted wrap keys and members.
    EXPECT_EQ(definition_error(klaviyo_with(R"("data.type": "profile-bulk-import-job")",
                                            R"("meta.type": "profile-bulk-import-job")")),
              prefix + "request.body.members.meta.type is not inside the objects of the wrap key "
                       "\"data.attributes.profiles.data\"");
    EXPECT_EQ(definition_error(klaviyo_with(R"("data.type": "profile-bulk-import-job")",
                                            R"("data.attributes": "x")")),
              prefix + "request.body.members.data.attributes repeats a step of the wrap key");
}

}  // namespace
}  // namespace reverse_etl::destinations
