#include "catalog/catalog_store.hpp"

#include <unordered_map>

#include "catalog/name_rules.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/parse_number.hpp"
#include "pg/encoding.hpp"
#include "pg/extension_stamp.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::catalog {

namespace {

const char *const kModelColumns =
    "model_id::text, name, query, primary_key, search_path, columns::text, source, owner::oid::text";
const char *const kSourceColumns = "source_id::text, name, conninfo, settings::text, owner::oid::text";
const char *const kDestinationColumns =
    "destination_id::text, name, type, settings::text, enabled::text, owner::oid::text";
const char *const kMappingColumns =
    "mapping_id::text, name, model_id::text, destination_id::text, action, sync_mode, fields::text, "
    "filter, schedule, timezone, enabled::text, action_settings::text, retry_failed_records::text, owner::oid::text";  // owner last

using Row = std::vector<pg::Value>;

const std::string &text_at(const Row &row, size_t column) {
    if (!row.at(column))
        throw Error(sqlstate::kInternalError, "unexpected NULL in reverse_etl catalog");
    return *row[column];
}

int64_t int_at(const Row &row, size_t column) { return number_from_sql<int64_t>(text_at(row, column)); }
unsigned int oid_at(const Row &row, size_t column) { return number_from_sql<unsigned int>(text_at(row, column)); }
bool bool_at(const Row &row, size_t column) { return text_at(row, column) == "true"; }

ModelRow model_from(const Row &row) {
    ModelRow model;
    model.id = int_at(row, 0);
    model.name = text_at(row, 1);
    model.query = text_at(row, 2);
    model.primary_key = text_at(row, 3);
    model.search_path = text_at(row, 4);
    model.columns = columns_from_json(text_at(row, 5));
    model.source = text_at(row, 6);
    model.owner = oid_at(row, 7);
    return model;
}

SourceRow source_from(const Row &row) {
    SourceRow source;
    source.id = int_at(row, 0);
    source.name = text_at(row, 1);
    source.conninfo = text_at(row, 2);
    source.settings_json = text_at(row, 3);
    source.owner = oid_at(row, 4);
    return source;
}

DestinationRow destination_from(const Row &row) {
    DestinationRow destination;
    destination.id = int_at(row, 0);
    destination.name = text_at(row, 1);
    destination.type = text_at(row, 2);
    destination.settings_json = text_at(row, 3);
    destination.enabled = bool_at(row, 4);
    destination.owner = oid_at(row, 5);
    return destination;
}

MappingRow mapping_from(const Row &row) {
    MappingRow mapping;
    mapping.id = int_at(row, 0);
    mapping.name = text_at(row, 1);
    mapping.model_id = int_at(row, 2);
    mapping.destination_id = int_at(row, 3);
    mapping.action = text_at(row, 4);
    mapping.sync_mode = text_at(row, 5);
    mapping.fields_json = text_at(row, 6);
    mapping.filter = row.at(7);
    mapping.schedule = text_at(row, 8);
    mapping.timezone = text_at(row, 9);
    mapping.enabled = bool_at(row, 10);
    mapping.action_settings_json = text_at(row, 11);
    mapping.retry_failed_records = bool_at(row, 12);
    mapping.owner = oid_at(row, 13);
    return mapping;
}

bool visible_to_current_role(unsigned int owner) {
    return pg::has_privileges_of_role(pg::current_role_oid(), owner);
}

std::optional<Row> visible_row_by_name(const std::string &table, const char *columns,
                                       const std::string &name) {
    const pg::Result result = pg::execute_catalog(
        std::string("SELECT ") + columns + " FROM reverse_etl." + table + " WHERE name = $1", {name});
    if (result.empty())
        return std::nullopt;
    const Row &row = result.rows[0];
    if (!visible_to_current_role(oid_at(row, row.size() - 1)))
        return std::nullopt;
    return row;
}

[[noreturn]] void throw_missing(const std::string &kind, const std::string &name) {
    throw Error(sqlstate::kUndefinedObject, kind + " " + quoted(name) + " does not exist");
}

std::vector<MappingRow> mappings_where(const std::string &column, int64_t id) {
    const pg::Result result = pg::execute_catalog(
        std::string("SELECT ") + kMappingColumns + " FROM reverse_etl.mapping_catalog WHERE " + column +
            " = $1::bigint ORDER BY name",
        {std::to_string(id)});
    std::vector<MappingRow> mappings;
    for (const Row &row : result.rows)
        mappings.push_back(mapping_from(row));
    return mappings;
}

}  // namespace

void check_object_name(const std::string &kind, const std::string &name) {
    check_name_text(kind, pg::database_text_as_utf8(name));
}

ModelRow find_model(const std::string &name) {
    const auto row = visible_row_by_name("model_catalog", kModelColumns, name);
    if (!row)
        throw_missing("model", name);
    return model_from(*row);
}

SourceRow find_source(const std::string &name) {
    const auto row = visible_row_by_name("source_catalog", kSourceColumns, name);
    if (!row)
        throw_missing("source", name);
    return source_from(*row);
}

SourceRow source_by_name(const std::string &name) {
    const pg::Result result = pg::execute_catalog(
        std::string("SELECT ") + kSourceColumns + " FROM reverse_etl.source_catalog WHERE name = $1", {name});
    if (result.empty())
        throw_missing("source", name);
    return source_from(result.rows[0]);
}

DestinationRow find_destination(const std::string &name) {
    const auto row = visible_row_by_name("destination_catalog", kDestinationColumns, name);
    if (!row)
        throw_missing("destination", name);
    return destination_from(*row);
}

int64_t find_alert_id(const std::string &name) {
    const auto row = visible_row_by_name("alert_catalog", "alert_id::text, owner::oid::text", name);
    if (!row)
        throw_missing("alert", name);
    return int_at(*row, 0);
}

MappingRow find_mapping(const std::string &name) {
    const auto row = visible_row_by_name("mapping_catalog", kMappingColumns, name);
    if (!row)
        throw_missing("mapping", name);
    return mapping_from(*row);
}

std::vector<MappingRow> mappings_of_model(int64_t model_id) { return mappings_where("model_id", model_id); }

std::vector<MappingRow> mappings_of_destination(int64_t destination_id) {
    return mappings_where("destination_id", destination_id);
}

ModelRow model_by_id(int64_t model_id) {
    const pg::Result result = pg::execute_catalog(
        std::string("SELECT ") + kModelColumns + " FROM reverse_etl.model_catalog WHERE model_id = $1::bigint",
        {std::to_string(model_id)});
    if (result.empty())
        throw Error(sqlstate::kInternalError, "model " + std::to_string(model_id) + " vanished from the catalog");
    return model_from(result.rows[0]);
}

MappingRow mapping_by_id(int64_t mapping_id) {
    const pg::Result result = pg::execute_catalog(
        std::string("SELECT ") + kMappingColumns + " FROM reverse_etl.mapping_catalog WHERE mapping_id = $1::bigint",
        {std::to_string(mapping_id)});
    if (result.empty())
        throw Error(sqlstate::kUndefinedObject, "mapping " + std::to_string(mapping_id) + " no longer exists");
    return mapping_from(result.rows[0]);
}

DestinationRow destination_by_id(int64_t destination_id) {
    const pg::Result result = pg::execute_catalog(
        std::string("SELECT ") + kDestinationColumns +
            " FROM reverse_etl.destination_catalog WHERE destination_id = $1::bigint",
        {std::to_string(destination_id)});
    if (result.empty())
        throw Error(sqlstate::kInternalError,
                    "destination " + std::to_string(destination_id) + " vanished from the catalog");
    return destination_from(result.rows[0]);
}

bool name_taken(const std::string &table, const std::string &name) {
    return !pg::execute_catalog("SELECT 1 FROM reverse_etl." + table + " WHERE name = $1", {name}).empty();
}

void check_name_free(const std::string &kind, const std::string &table, const std::string &name) {
    if (name_taken(table, name))
        throw Error(sqlstate::kDuplicateObject, kind + " " + quoted(name) + " already exists", "",
                    "Choose another name, or drop the existing " + kind + " first.");
}

std::vector<std::string> destination_type_names() {
    const pg::Result result =
        pg::execute_catalog("SELECT type FROM reverse_etl.destination_type_catalog ORDER BY type");
    std::vector<std::string> names;
    for (const Row &row : result.rows)
        names.push_back(text_at(row, 0));
    return names;
}

namespace {

// Destination types parsed by this backend, by type name, with the version
// of the extension's pg_extension row they were read with. Definitions
// change only with the extension (CREATE, ALTER ... UPDATE, DROP), each of
// which writes a new row version: a type read with another is read again.
struct CachedType {
    pg::ExtensionStamp stamp;
    std::shared_ptr<const DestinationType> type;
};
std::unordered_map<std::string, CachedType> type_cache;

}  // namespace

std::shared_ptr<const DestinationType> cached_destination_type(const std::string &type) {
    bool written_here = false;
    const pg::ExtensionStamp current = pg::extension_stamp(written_here);
    if (!written_here) {
        const auto found = type_cache.find(type);
        if (found != type_cache.end() && found->second.stamp == current)
            return found->second.type;
    }
    // The row version read in the same statement as the definition: the
    // pair is consistent whatever committed since this transaction began.
    const pg::Result result = pg::execute_catalog(
        "SELECT t.definition::text, e.oid::text, e.xmin::text FROM reverse_etl.destination_type_catalog t, "
        "pg_catalog.pg_extension e WHERE t.type = $1 AND e.extname = 'reverse_etl'",
        {type});
    if (result.empty()) {
        std::string list;
        for (const std::string &name : destination_type_names())
            list += (list.empty() ? "" : ", ") + name;
        throw Error(sqlstate::kInvalidParameterValue, "destination type " + quoted(type) + " does not exist",
                    "", "Available types: " + list + ". See reverse_etl.destination_types.");
    }
    auto parsed = std::make_shared<const DestinationType>(parse_destination_type(result.scalar()));
    const pg::ExtensionStamp read{oid_at(result.rows[0], 1),
                                  number_from_sql<uint32_t>(text_at(result.rows[0], 2))};
    // What this transaction wrote to the extension may still roll back.
    if (!written_here)
        type_cache[type] = CachedType{read, parsed};
    return parsed;
}

DestinationType load_destination_type(const std::string &type) { return *cached_destination_type(type); }

std::string columns_to_json(const ModelColumns &columns) {
    const JsonPtr array = adopt_json(json_array());
    for (const Column &column : columns) {
        json_array_append_new(array.get(), json_pack("{s:s, s:s}", "name", column.name.c_str(), "type",
                                                     column.type.c_str()));
    }
    return dump_json(array.get());
}

ModelColumns columns_from_json(const std::string &json_text) {
    const JsonPtr array = parse_json(json_text, "model columns");
    ModelColumns columns;
    size_t index;
    json_t *entry;
    json_array_foreach(array.get(), index, entry) {
        columns.push_back({json_string_value(json_object_get(entry, "name")),
                           json_string_value(json_object_get(entry, "type"))});
    }
    return columns;
}

std::vector<std::string> column_names(const ModelColumns &columns) {
    std::vector<std::string> names;
    for (const Column &column : columns)
        names.push_back(column.name);
    return names;
}

}  // namespace reverse_etl::catalog
