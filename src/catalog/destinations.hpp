// Destinations: instances of destination types, with settings and credentials.
#pragma once

#include <optional>
#include <string>

namespace reverse_etl::catalog {

void create_destination(const std::string &name, const std::string &type, const std::string &settings_json,
                        bool enabled);
void alter_destination(const std::string &name, const std::optional<std::string> &settings_patch_json,
                       const std::optional<std::string> &new_name);
void set_destination_enabled(const std::string &name, bool enabled);
void drop_destination(const std::string &name, bool cascade);

// The settings with secrets masked, as every output shows them.
std::string masked_settings(const std::string &type, const std::string &settings_json);

}  // namespace reverse_etl::catalog
