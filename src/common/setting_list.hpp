// The comma-separated lists of reverse_etl.allowed_hosts and
// reverse_etl.blocked_networks, split the one way both the settings' check
// hooks and the runs read them: a list a check accepted never fails a run.
#pragma once

#include <string>
#include <vector>

namespace reverse_etl {

// The items between commas, trimmed of spaces, tabs and line breaks; empty
// items are skipped, so "" (or ", ") is an empty list.
std::vector<std::string> split_setting_list(const std::string &setting);

}  // namespace reverse_etl
