// Reading the catalog tables: the rows behind models, destinations and
// mappings, looked up by name and filtered by what the current role may see.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "catalog/destination_type.hpp"
#include "common/text.hpp"
#include "pg/query_analysis.hpp"

namespace reverse_etl::catalog {

using ModelColumns = std::vector<Column>;

struct ModelRow {
    int64_t id = 0;
    std::string name;
    std::string query;
    std::string primary_key;
    std::string search_path;
    ModelColumns columns;
    std::string source = "local";   // "local", or a source_catalog name
    unsigned int owner = 0;
};

struct SourceRow {
    int64_t id = 0;
    std::string name;
    std::string conninfo;
    std::string settings_json;
    unsigned int owner = 0;
};

struct DestinationRow {
    int64_t id = 0;
    std::string name;
    std::string type;
    std::string settings_json;
    bool enabled = false;
    unsigned int owner = 0;
};

struct MappingRow {
    int64_t id = 0;
    std::string name;
    int64_t model_id = 0;
    int64_t destination_id = 0;
    std::string action;
    std::string sync_mode;
    std::string fields_json;
    std::string action_settings_json;   // a JSON object (catalog/action_settings.hpp)
    std::optional<std::string> filter;
    std::string schedule;
    std::string timezone;
    bool enabled = false;
    bool retry_failed_records = true;
    unsigned int owner = 0;
};

using reverse_etl::quoted;  // common/text.hpp: catalog::quoted in messages

// Names are free text of 1 to 128 characters, without control or invisible
// formatting characters or whitespace at either end (catalog/name_rules.hpp);
// `kind` is "model", "destination"... Every function that sets a name calls it.
void check_object_name(const std::string &kind, const std::string &name);

// Objects the current role may use: owned by a role it is a member of (or any,
// for superusers). Others are reported as missing (42704), not as forbidden,
// so that names of other roles' objects do not leak through error messages.
ModelRow find_model(const std::string &name);
DestinationRow find_destination(const std::string &name);
SourceRow find_source(const std::string &name);
// The source a model names, whoever owns it (a run reads its model's source
// with the rights the model's owner had when it was created).
SourceRow source_by_name(const std::string &name);
MappingRow find_mapping(const std::string &name);
int64_t find_alert_id(const std::string &name);   // alert rules (catalog/alerts.hpp)
std::vector<MappingRow> mappings_of_model(int64_t model_id);
std::vector<MappingRow> mappings_of_destination(int64_t destination_id);
ModelRow model_by_id(int64_t model_id);
MappingRow mapping_by_id(int64_t mapping_id);
DestinationRow destination_by_id(int64_t destination_id);

// Throws 42710 when an object of the table already has the name.
void check_name_free(const std::string &kind, const std::string &table, const std::string &name);
bool name_taken(const std::string &table, const std::string &name);

// A destination type's parsed definition (throws 22023 naming the types
// there are when it does not exist). Parsed once per backend: kept until the
// extension is created, updated or dropped again (pg/extension_stamp.hpp).
std::shared_ptr<const DestinationType> cached_destination_type(const std::string &type);
// The same, as a copy of its own.
DestinationType load_destination_type(const std::string &type);
std::vector<std::string> destination_type_names();

std::string columns_to_json(const ModelColumns &columns);
ModelColumns columns_from_json(const std::string &json_text);
std::vector<std::string> column_names(const ModelColumns &columns);

}  // namespace reverse_etl::catalog
