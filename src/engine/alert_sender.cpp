#include "engine/alert_sender.hpp"

#include <algorithm>
#include <string>

#include "catalog/catalog_store.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/parse_number.hpp"
#include "destinations/request_builder.hpp"
#include "engine/client_settings.hpp"
#include "http/http_client.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

// A post that fails is tried again after kFirstRetryDelay, then after
// twice as long each time: 8 attempts span about an hour.
constexpr int kAttempts = 8;
constexpr const char *kFirstRetryDelay = "30 seconds";
constexpr long kTimeoutMs = 10000;
constexpr size_t kErrorBodyChars = 200;

struct PendingAlert {
    std::string event_id;
    std::string payload;   // the JSON object the rule queued
    std::string type;      // of its destination
    std::string settings;  // the destination's, secrets included
    bool destination_enabled = false;
    std::string destination;
    int attempts = 0;
};

std::vector<PendingAlert> claim_pending(const AlertPosting &posting) {
    pg::Params params{std::to_string(posting.max_alerts)};
    std::string of_mapping;
    if (posting.mapping_id) {
        params.push_back(std::to_string(*posting.mapping_id));
        of_mapping = " AND a.mapping_id = $2::bigint";
    }
    const pg::Result rows = pg::execute_catalog(
        "SELECT e.event_id::text, e.payload::text, d.type, d.settings::text, d.enabled::text, d.name, "
        "e.attempts::text FROM reverse_etl.alert_event_catalog e "
        "JOIN reverse_etl.alert_catalog a USING (alert_id) "
        "JOIN reverse_etl.destination_catalog d ON d.destination_id = a.destination_id "
        "WHERE e.status = 'pending' AND (e.last_attempt_at IS NULL OR e.last_attempt_at <= pg_catalog.now() - "
        "interval '" + std::string(kFirstRetryDelay) + "' * pg_catalog.power(2, e.attempts - 1))" + of_mapping +
            " ORDER BY e.event_id LIMIT $1::int FOR UPDATE OF e SKIP LOCKED",
        params);
    std::vector<PendingAlert> alerts;
    for (const auto &row : rows.rows)
        alerts.push_back({*row[0], *row[1], *row[2], *row[3], *row[4] == "true", *row[5],
                          number_from_sql<int>(*row[6])});
    return alerts;
}

// What the destination's action receives: Slack's message takes a "text"
// (and refuses other keys); a webhook takes the whole alert.
std::string record_of(const PendingAlert &alert) {
    if (alert.type != "slack")
        return alert.payload;
    const JsonPtr payload = parse_json(alert.payload, "alert");
    const JsonPtr message = new_json_object();
    json_object_set(message.get(), "text", json_object_get(payload.get(), "text"));
    return dump_json(message.get());
}

void record_outcome(const PendingAlert &alert, bool posted, const std::string &error, bool give_up) {
    const int attempts = alert.attempts + 1;
    const char *status = posted ? "sent" : (give_up || attempts >= kAttempts ? "failed" : "pending");
    pg::execute_catalog("UPDATE reverse_etl.alert_event_catalog SET status = $2, attempts = $3::int, "
                        "last_attempt_at = pg_catalog.now(), sent_at = CASE WHEN $2 = 'sent' THEN pg_catalog.now() END, error = NULLIF($4, '') "
                        "WHERE event_id = $1::bigint",
                        {alert.event_id, status, std::to_string(attempts), error});
}

// One attempt; returns whether the destination took it. Settings that can
// make no request, a disabled destination, a host the server's settings
// forbid: failed at once, as no later attempt would do better.
bool post(const PendingAlert &alert, const AlertPosting &posting) {
    if (!alert.destination_enabled) {
        record_outcome(alert, false, "destination " + quoted(alert.destination) + " is disabled", true);
        return false;
    }
    const std::shared_ptr<const catalog::DestinationType> type = catalog::cached_destination_type(alert.type);
    const JsonPtr settings = parse_json(alert.settings, "settings");
    std::optional<destinations::RequestBuilder> requests;
    http::HttpRequest request;
    try {
        requests.emplace(*type, type->actions.at(0), settings.get());
        const std::vector<destinations::OutgoingRecord> records{
            {"alert-" + alert.event_id, record_of(alert), "retl-alert-" + alert.event_id, ""}};
        const destinations::ElementResult element = requests->element(records[0]);
        if (!element.valid)
            throw Error(sqlstate::kInvalidParameterValue, element.invalid_reason);
        request = requests->build(records, {0}).request;
    } catch (const Error &error) {
        record_outcome(alert, false, error.message(), true);
        return false;
    }
    http::ClientOptions options = client_options_from_settings();
    options.max_concurrent = 1;
    options.max_attempts = 1;
    options.request_timeout_ms = std::min(options.request_timeout_ms, kTimeoutMs);
    if (posting.should_stop)
        options.should_stop = posting.should_stop;
    http::HttpClient client(options);
    http::HttpResponse response;
    try {
        response = client.perform_once(std::move(request));
    } catch (const Error &error) {
        if (error.sqlstate() == std::string(sqlstate::kQueryCanceled))
            throw;   // stopping: the alert stays pending, untouched
        record_outcome(alert, false, requests->secrets().mask(error.message()), true);
        return false;
    }
    const bool posted = response.status >= 200 && response.status < 300;
    std::string error;
    if (response.status == 0)
        error = requests->secrets().mask(response.transport_error.empty() ? "no response" : response.transport_error);
    else if (!posted)
        error = "HTTP " + std::to_string(response.status) +
                (response.body.empty() ? "" : ": " + requests->secrets().mask_prefix(response.body, kErrorBodyChars));
    record_outcome(alert, posted, error, false);
    return posted;
}

}  // namespace

int post_pending_alerts(const AlertPosting &posting) {
    int posted = 0;
    for (const PendingAlert &alert : claim_pending(posting)) {
        if (post(alert, posting))
            posted++;
    }
    return posted;
}

}  // namespace reverse_etl::engine
