// Alert rules (src/sql/45_alerts.sql): which mapping they watch, where they
// post, on what conditions. Their state moves in SQL, at the end of each run.
#pragma once

#include <optional>
#include <string>

#include "catalog/catalog_store.hpp"

namespace reverse_etl::catalog {

struct AlertDefinition {
    std::string name;
    std::string mapping;
    std::string destination;
    // As their SQL types print them; cast back, and checked, by SQL.
    std::optional<std::string> failures;
    std::optional<std::string> rejected_share;
    std::optional<std::string> remind_every;
};

void create_alert(const AlertDefinition &definition);
void drop_alert(const std::string &name);

// Drops the rules that post to `destination` when cascading, else fails
// with 2BP01 naming them.
void drop_alerts_to_destination(const DestinationRow &destination, bool cascade);

}  // namespace reverse_etl::catalog
