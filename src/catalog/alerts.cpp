#include "catalog/alerts.hpp"

#include "common/error.hpp"
#include "pg/messages.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::catalog {

namespace {

// Alerts post a JSON object (webhook) or a message (Slack); the SaaS types
// take records of their own shapes.
void require_alert_destination(const DestinationRow &destination) {
    if (destination.type == "webhook" || destination.type == "slack")
        return;
    throw Error(sqlstate::kWrongObjectType,
                "destination " + quoted(destination.name) + " cannot receive alerts",
                "It is of type " + destination.type + "; alerts post to webhook and slack destinations.",
                "Create a webhook or slack destination for alerts.");
}

void check_conditions(const AlertDefinition &definition) {
    if (!definition.failures && !definition.rejected_share)
        throw Error(sqlstate::kInvalidParameterValue, "alert " + quoted(definition.name) + " watches nothing",
                    "", "Give failures, rejected_share or both.");
    // Checked by SQL's own casts and comparisons, as the table's CHECKs do,
    // with messages that name the argument.
    const pg::Result checks = pg::execute_catalog(
        "SELECT $1::int >= 1, $2::float8 >= 0 AND $2::float8 < 1, $3::interval > interval '0'",
        {definition.failures, definition.rejected_share, definition.remind_every});
    const auto &row = checks.rows.at(0);
    if (row[0] && *row[0] != "t")
        throw Error(sqlstate::kInvalidParameterValue, "failures must be at least 1",
                    "The value given is " + *definition.failures + ".",
                    "Use 1 to be told of every failed run, NULL not to watch failures.");
    if (row[1] && *row[1] != "t")
        throw Error(sqlstate::kInvalidParameterValue, "rejected_share must be at least 0 and below 1",
                    "The value given is " + *definition.rejected_share + ".",
                    "Use 0.05 to be told when more than 5% of a run's records are rejected or fail.");
    if (row[2] && *row[2] != "t")
        throw Error(sqlstate::kInvalidParameterValue, "remind_every must be a positive interval",
                    "The value given is " + *definition.remind_every + ".", "Use NULL for no reminders.");
}

}  // namespace

void create_alert(const AlertDefinition &definition) {
    check_object_name("alert", definition.name);
    const MappingRow mapping = find_mapping(definition.mapping);
    const DestinationRow destination = find_destination(definition.destination);
    require_alert_destination(destination);
    check_conditions(definition);
    check_name_free("alert", "alert_catalog", definition.name);
    pg::execute_catalog(
        "INSERT INTO reverse_etl.alert_catalog (name, mapping_id, destination_id, failures, rejected_share, "
        "remind_every, owner) VALUES ($1, $2::bigint, $3::bigint, $4::int, $5::float8, $6::interval, "
        "$7::oid::regrole)",
        {definition.name, std::to_string(mapping.id), std::to_string(destination.id), definition.failures,
         definition.rejected_share, definition.remind_every, std::to_string(pg::current_role_oid())});
}

void drop_alert(const std::string &name) {
    pg::execute_catalog("DELETE FROM reverse_etl.alert_catalog WHERE alert_id = $1::bigint",
                        {std::to_string(find_alert_id(name))});
}

void drop_alerts_to_destination(const DestinationRow &destination, bool cascade) {
    const pg::Result alerts = pg::execute_catalog(
        "SELECT name FROM reverse_etl.alert_catalog WHERE destination_id = $1::bigint ORDER BY name",
        {std::to_string(destination.id)});
    if (alerts.empty())
        return;
    std::string detail;
    for (const auto &row : alerts.rows)
        detail += (detail.empty() ? "" : "\n") + std::string("alert ") + quoted(*row[0]) + " posts to destination " +
                  quoted(destination.name);
    if (!cascade)
        throw Error(sqlstate::kDependentObjectsStillExist,
                    "cannot drop destination " + quoted(destination.name) + " because other objects depend on it",
                    detail, "Use cascade => true to drop the dependent alerts too.");
    pg::execute_catalog("DELETE FROM reverse_etl.alert_catalog WHERE destination_id = $1::bigint",
                        {std::to_string(destination.id)});
    pg::notice("drop cascades to " + std::to_string(alerts.rows.size()) + " alert(s)", detail);
}

}  // namespace reverse_etl::catalog
