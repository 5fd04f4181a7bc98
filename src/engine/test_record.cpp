// send_test_record: one record of a mapping, built and sent as a run would,
// with the request and the response shown back (secrets masked). It runs in
// the caller's transaction and touches neither the checkpoint nor history.
#include <chrono>

#include "catalog/catalog_store.hpp"
#include "common/error.hpp"
#include "common/json_text.hpp"
#include "destinations/request_builder.hpp"
#include "engine/client_settings.hpp"
#include "engine/mapping_plan.hpp"
#include "engine/remote_model.hpp"
#include "engine/payload_builder.hpp"
#include "engine/sheet_rows.hpp"
#include "engine/sync_run.hpp"
#include "http/http_client.hpp"
#include "pg/guc.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/stable_formatting.hpp"
#include "pg/time_support.hpp"
#include "pg/transaction.hpp"

namespace reverse_etl::engine {

namespace {

struct TestRecord {
    std::string record_id;
    std::vector<std::optional<std::string>> values;
};

// The model's first record (through the mapping's filter), or the one asked for.
TestRecord find_record(const MappingPlan &plan, const std::optional<std::string> &record_id) {
    std::string select = "SELECT " + record_id_sql(plan) + ", " + rendered_values_sql(plan) + " FROM " + filtered_model_sql(plan, "m");
    pg::Params params;
    if (record_id) {
        select += " WHERE " + record_id_sql(plan) + " = $1";
        params.push_back(*record_id);
    }
    select += " LIMIT 1";
    const pg::Result result = [&] {
        const pg::RoleScope as_owner(plan.model.owner, plan.model.search_path);
        try {
            return pg::execute(select, params);
        } catch (const Error &error) {
            throw error.with_message("model " + catalog::quoted(plan.model.name) + ": " + error.message());
        }
    }();
    if (result.empty()) {
        if (record_id)
            throw Error(sqlstate::kUndefinedObject,
                        "record " + catalog::quoted(*record_id) + " is not in model " +
                            catalog::quoted(plan.model.name) + (plan.mapping.filter ? " (with the mapping's filter)" : ""));
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "model " + catalog::quoted(plan.model.name) + " has no record to send" +
                        (plan.mapping.filter ? " that passes the mapping's filter" : ""));
    }
    const auto &row = result.rows[0];
    if (!row[0])
        throw Error(sqlstate::kNullValueNotAllowed, "the first record of model " + catalog::quoted(plan.model.name) +
                                                        " has a NULL identifier",
                    "", "Pass record_id => '...' to choose a record.");
    TestRecord record{*row[0], split_rendered_values(row[1] ? std::string_view(*row[1]) : std::string_view(),
                                                     plan.value_columns.size())};
    return record;
}

JsonValue headers_object(const http::Headers &headers) {
    JsonValue object = JsonValue::object();
    for (const auto &[name, value] : headers)
        object.add_member(name, JsonValue::string(value));
    return object;
}

// A body is shown as JSON when it is JSON, else as a string.
JsonValue body_value(const std::string &body) {
    if (auto parsed = try_parse_json_text(body))
        return std::move(*parsed);
    return JsonValue::string(body);
}

// Everything shown has the destination's secrets masked: the request's
// credential headers whole, and any secret in any other text, in whatever
// form it came back (a destination may echo the request in its answer). A
// JSON body is masked string by string, so it stays the same JSON.
std::string report(const std::string &record_id, const http::HttpRequest &request,
                   const http::HttpResponse &response, const destinations::SecretMasker &secrets) {
    JsonValue shown_request = JsonValue::object();
    shown_request.add_member("method", JsonValue::string(request.method));
    shown_request.add_member("url", JsonValue::string(request.url));
    shown_request.add_member("headers", headers_object(request.headers));
    shown_request.add_member("body", body_value(request.body));
    JsonValue shown_response = JsonValue::object();
    shown_response.add_member("status", JsonValue::number(std::to_string(response.status)));
    shown_response.add_member("headers", headers_object(response.headers));
    shown_response.add_member("body", body_value(response.body));
    shown_response.add_member("duration_ms", JsonValue::number(std::to_string(static_cast<long>(response.duration_ms))));
    if (!response.transport_error.empty())
        shown_response.add_member("error", JsonValue::string(response.transport_error));
    JsonValue document = JsonValue::object();
    document.add_member("record_id", JsonValue::string(record_id));
    document.add_member("request", std::move(shown_request));
    document.add_member("response", std::move(shown_response));
    return to_json_text(secrets.mask_json(document));
}

}  // namespace

std::string send_test_record(int64_t mapping_id, const std::optional<std::string> &record_id) {
    const pg::StableFormatting formatting;
    MappingPlan plan = load_mapping_plan(mapping_id);
    read_remote_model(plan);
    const TestRecord record = find_record(plan, record_id);

    const PayloadBuilder payloads(plan.mapping.fields_json, plan.action, plan.model.columns);
    RecordValues values{record.record_id, "added", {}};
    values.json_values.resize(plan.model.columns.size());
    for (size_t i = 0; i < plan.value_columns.size(); i++)
        values.json_values[plan.value_columns[i]] = record.values[i];
    // A test is no version of the record: its id ("test-" and the time in
    // microseconds) is new at every call, so a receiver that deduplicates
    // still takes the second test of a record.
    const pg::Result now = pg::execute(
        "SELECT pg_catalog.to_json(pg_catalog.now()) #>> '{}', "
        "'test-' || (pg_catalog.date_part('epoch', pg_catalog.clock_timestamp()) * 1000000)::bigint");
    const BuiltPayload built = payloads.build(values, RunContext{plan.mapping.name, 0, *now.rows[0][0]});
    if (!built.valid)
        throw Error(sqlstate::kInvalidParameterValue,
                    "record " + catalog::quoted(record.record_id) + " cannot be sent: " + built.invalid_reason);

    // Sent as an added record is: an upsert where the action has operations,
    // or the create an upsert that looks records up sends for one it does not
    // find (a test record has no kept id).
    const destinations::RequestBuilder requests(plan.type, plan.action, plan.settings.get(),
                                                operation_without_lookup(plan, "added", false));
    std::vector<destinations::OutgoingRecord> outgoing{
        {record.record_id, built.json, message_id(plan, record.record_id, *now.rows[0][1])}};
    // A grid destination's row for the record, reserved in the caller's
    // transaction: a sync then rewrites the row the test wrote.
    assign_sheet_rows(plan, outgoing, false);
    const destinations::ElementResult element = requests.element(outgoing[0]);
    if (!element.valid)
        throw Error(sqlstate::kInvalidParameterValue,
                    "record " + catalog::quoted(record.record_id) + " cannot be sent: " + element.invalid_reason);
    http::HttpRequest request = requests.build(outgoing, {0}).request;
    http::ClientOptions options = client_options_from_settings();
    options.max_concurrent = 1;
    options.max_attempts = 1;
    http::HttpClient client(options);
    if (!requests.oauth())
        return report(record.record_id, requests.masked(request), client.perform_once(request), requests.secrets());
    // An OAuth access token, as a run gets it: kept from an earlier request of
    // this process, else fetched; a 401 fetches a new one and sends again, once.
    http::AccessToken access_token(*requests.oauth(), plan.destination.id);
    // A refusal is shown with the settings' secrets masked, as a run's would be.
    const http::TokenSender send = [&](http::HttpRequest grant) {
        http::HttpResponse answer = client.perform_once(std::move(grant));
        answer.body = requests.secrets().mask(answer.body);
        return answer;
    };
    std::string token = access_token.get(send);
    destinations::set_bearer_token(request, token);
    http::HttpResponse response = client.perform_once(request);
    if (response.status == 401) {
        const std::string refused = token;
        token = access_token.refresh(send, refused);
        destinations::set_bearer_token(request, token);
        response = client.perform_once(request);
        return report(record.record_id, requests.masked(request), response, requests.secrets().with(refused).with(token));
    }
    return report(record.record_id, requests.masked(request), response, requests.secrets().with(token));
}

}  // namespace reverse_etl::engine
