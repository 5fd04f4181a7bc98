#include "engine/alert_sender.hpp"

#include <algorithm>
#include <string>

#include "catalog/catalog_store.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/parse_number.hpp"
#include "destinations/request_builder.hpp"
#include "engine/client_settings.hpp"
#include "engine/delivery.hpp"
#include "http/http_client.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::engine {

namespace {

// A post that fails is tried again after kFirstRetryDelay, then after
// twice as long each time: 8 attempts span about an hour.
constexpr int kAttempts = 8;
constexpr const char *kFirstRetryDelay = "30 seconds";
constexpr long kTimeoutMs = 10000;

struct PendingAlert {
    std::string event_id;
    std::string alert;     // the rule's name
    std::string payload;   // the JSON object the rule queued
    std::string type;      // of its destination
    std::string settings;  // the destination's, secrets included
    bool destination_enabled = false;
    std::string destination;
    int attempts = 0;
    // Whether the rule's owner may still use its mapping and destination
    // (membership can be revoked, and roles dropped, after create_alert).
    bool owner_may_use = false;
};

std::vector<PendingAlert> claim_pending(const AlertPosting &posting) {
    pg::Params params{std::to_string(posting.max_alerts)};
    std::string of_mapping;
    if (posting.mapping_id) {
        params.push_back(std::to_string(*posting.mapping_id));
        of_mapping = " AND a.mapping_id = $2::bigint";
    }
    const pg::Result rows = pg::execute_catalog(
        "SELECT e.event_id::text, a.name, e.payload::text, d.type, d.settings::text, d.enabled::text, d.name, "
        // CASE: pg_has_role only once every role is known to exist.
        "e.attempts::text, CASE WHEN (SELECT pg_catalog.count(*) FROM pg_catalog.pg_roles r "
        "WHERE r.oid IN (a.owner::oid, p.owner::oid, d.owner::oid)) = "
        "(SELECT pg_catalog.count(DISTINCT o) FROM (VALUES (a.owner::oid), (p.owner::oid), (d.owner::oid)) AS v(o)) "
        "THEN pg_catalog.pg_has_role(a.owner::oid, p.owner::oid, 'USAGE') "
        "AND pg_catalog.pg_has_role(a.owner::oid, d.owner::oid, 'USAGE') ELSE false END "
        "FROM reverse_etl.alert_event_catalog e "
        "JOIN reverse_etl.alert_catalog a USING (alert_id) "
        "JOIN reverse_etl.mapping_catalog p ON p.mapping_id = a.mapping_id "
        "JOIN reverse_etl.destination_catalog d ON d.destination_id = a.destination_id "
        "WHERE e.status = 'pending' AND (e.last_attempt_at IS NULL OR e.last_attempt_at <= pg_catalog.now() - "
        "interval '" + std::string(kFirstRetryDelay) + "' * pg_catalog.power(2, e.attempts - 1))" + of_mapping +
            " ORDER BY e.event_id LIMIT $1::int FOR UPDATE OF e SKIP LOCKED",
        params);
    std::vector<PendingAlert> alerts;
    for (const auto &row : rows.rows)
        alerts.push_back({*row[0], *row[1], *row[2], *row[3], *row[4], *row[5] == "true", *row[6],
                          number_from_sql<int>(*row[7]), *row[8] == "t"});
    return alerts;
}

// What the destination's action receives: Slack's message takes a "text"
// (and refuses other keys); a webhook takes the whole alert (one object, by
// POST: see settings_for).
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
                        "last_attempt_at = pg_catalog.now(), "
                        "sent_at = CASE WHEN $2 = 'sent' THEN pg_catalog.now() END, error = NULLIF($4, '') "
                        "WHERE event_id = $1::bigint",
                        {alert.event_id, status, std::to_string(attempts), error});
}

// An alert's request, built as a run builds its records' (the destination's
// URL, headers, token, signing), with the secrets that mask what comes back.
struct AlertRequest {
    http::HttpRequest request;
    destinations::SecretMasker secrets;
};

// nullopt, with the outcome recorded, when no request can be made: a
// disabled destination, settings that make none. No later attempt would do
// better, so the alert is failed at once.
// A webhook's batch size and method are for records; an alert is one JSON
// object, POSTed, whatever they say.
JsonPtr settings_for(const PendingAlert &alert) {
    JsonPtr settings = parse_json(alert.settings, "settings");
    if (alert.type == "webhook") {
        json_object_set_new(settings.get(), "batch_size", json_integer(1));
        json_object_set_new(settings.get(), "method", json_string("POST"));
    }
    return settings;
}

std::optional<AlertRequest> request_for(const PendingAlert &alert) {
    if (!alert.owner_may_use) {
        record_outcome(alert, false, "the owner of alert " + quoted(alert.alert) +
                                         " may no longer use its mapping or destination", true);
        return std::nullopt;
    }
    if (!alert.destination_enabled) {
        record_outcome(alert, false, "destination " + quoted(alert.destination) + " is disabled", true);
        return std::nullopt;
    }
    std::optional<destinations::RequestBuilder> requests;
    try {
        const std::shared_ptr<const catalog::DestinationType> type = catalog::cached_destination_type(alert.type);
        const JsonPtr settings = settings_for(alert);
        // Its errors name settings, never their values.
        requests.emplace(*type, type->actions.at(0), settings.get());
    } catch (const Error &error) {
        record_outcome(alert, false, error.message(), true);
        return std::nullopt;
    }
    try {
        const std::vector<destinations::OutgoingRecord> records{
            {"alert-" + alert.event_id, record_of(alert), "retl-alert-" + alert.event_id, ""}};
        const destinations::ElementResult element = requests->element(records[0]);
        if (!element.valid)
            throw Error(sqlstate::kInvalidParameterValue, element.invalid_reason);
        return AlertRequest{requests->build(records, {0}).request, requests->secrets()};
    } catch (const Error &error) {
        record_outcome(alert, false, requests->secrets().mask(error.message()), true);
        return std::nullopt;
    }
}

std::string failure_of(const http::HttpResponse &response, const destinations::SecretMasker &secrets) {
    return response.refused ? secrets.mask(response.refused->message()) : describe_failure(response, secrets);
}

}  // namespace

// The alerts go out together, one attempt each: however many there are, a
// call waits at most one request's timeout.
int post_pending_alerts(const AlertPosting &posting) {
    const std::vector<PendingAlert> alerts = claim_pending(posting);
    if (alerts.empty())
        return 0;
    http::ClientOptions options = client_options_from_settings();
    options.max_concurrent = static_cast<int>(alerts.size());
    options.max_attempts = 1;
    options.request_timeout_ms = std::min(options.request_timeout_ms, kTimeoutMs);
    if (posting.should_stop)
        options.should_stop = posting.should_stop;
    http::HttpClient client(options);
    std::vector<std::optional<destinations::SecretMasker>> sent(alerts.size());
    for (size_t i = 0; i < alerts.size(); i++) {
        std::optional<AlertRequest> request = request_for(alerts[i]);
        if (!request)
            continue;
        try {
            client.submit(i, std::move(request->request));
            sent[i] = std::move(request->secrets);
        } catch (const Error &error) {   // a URL the client refuses
            record_outcome(alerts[i], false, request->secrets.mask(error.message()), true);
        }
    }
    int posted = 0;
    try {
        while (client.pending() > 0) {
            for (const http::Completion &done : client.poll(1000)) {
                const PendingAlert &alert = alerts.at(done.tag);
                const bool ok = !done.response.refused && done.response.status >= 200 && done.response.status < 300;
                record_outcome(alert, ok, ok ? std::string() : failure_of(done.response, *sent.at(done.tag)),
                               done.response.refused.has_value());
                posted += ok ? 1 : 0;
            }
        }
    } catch (const Error &error) {
        // Stopping: the outcomes recorded stand (the caller commits them);
        // the alerts not answered yet stay pending, untouched.
        if (error.sqlstate() != std::string(sqlstate::kQueryCanceled))
            throw;
    }
    return posted;
}

}  // namespace reverse_etl::engine
