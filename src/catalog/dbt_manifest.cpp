#include "catalog/dbt_manifest.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include "common/error.hpp"
#include "common/text.hpp"

namespace reverse_etl::catalog {

namespace {

const JsonValue *object_member(const JsonValue &object, const char *key) {
    const JsonValue *value = object.member(key);
    return value && value->kind() == JsonKind::Object ? value : nullptr;
}

std::optional<std::string> string_member(const JsonValue &object, const char *key) {
    const JsonValue *value = object.member(key);
    if (!value || value->kind() != JsonKind::String)
        return std::nullopt;
    return value->string_value();
}

std::optional<std::string> nonempty_string_member(const JsonValue &object, const char *key) {
    auto value = string_member(object, key);
    if (value && value->empty())
        return std::nullopt;
    return value;
}

[[noreturn]] void throw_node_error(const std::string &unique_id, const std::string &problem,
                                   const std::string &hint = "") {
    throw Error(sqlstate::kInvalidParameterValue, "dbt node " + quoted(unique_id) + ": " + problem, "", hint);
}

// ASCII only, whatever the server's locale; PostgreSQL takes any byte >= 0x80
// as a letter in a plain identifier.
bool is_identifier_start(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool is_identifier_char(unsigned char c) { return is_identifier_start(c) || (c >= '0' && c <= '9') || c == '$'; }

// A column named in SQL the way dbt writes a unique_key or a tested
// column_name into its own queries: a plain name folds to lower case, as
// PostgreSQL folds it; a double-quoted one is taken as written. Anything else
// (an expression, several columns) is not a column: nullopt.
std::optional<std::string> column_from_sql(const std::string &sql) {
    const std::string text = trimmed(sql);
    if (text.empty())
        return std::nullopt;
    if (text.front() == '"') {
        std::string name;
        for (size_t i = 1; i < text.size(); i++) {
            if (text[i] != '"') {
                name += text[i];
                continue;
            }
            if (i + 1 == text.size())
                return name.empty() ? std::nullopt : std::optional<std::string>(name);
            if (text[i + 1] != '"')
                return std::nullopt;
            name += '"';
            i++;
        }
        return std::nullopt;
    }
    if (!is_identifier_start(static_cast<unsigned char>(text.front())) ||
        !std::all_of(text.begin(), text.end(), [](char c) { return is_identifier_char(static_cast<unsigned char>(c)); }))
        return std::nullopt;
    std::string name = text;
    std::transform(name.begin(), name.end(), name.begin(), [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    });
    return name;
}

// "https://schemas.getdbt.com/dbt/manifest/v12.json" -> "v12".
std::string schema_version_of(const JsonValue &manifest) {
    const JsonValue *metadata = object_member(manifest, "metadata");
    const auto url = metadata ? string_member(*metadata, "dbt_schema_version") : std::nullopt;
    const std::string supported = "Import the target/manifest.json that dbt 1.6 or later writes "
                                  "(schema versions v10, v11 and v12).";
    if (!url)
        throw Error(sqlstate::kInvalidParameterValue, "manifest has no metadata.dbt_schema_version",
                    "A dbt manifest names its schema version in metadata.dbt_schema_version.", supported);
    std::string version = url->substr(url->rfind('/') + 1);
    const std::string suffix = ".json";
    if (version.size() > suffix.size() && version.compare(version.size() - suffix.size(), suffix.size(), suffix) == 0)
        version.resize(version.size() - suffix.size());
    if (std::find(std::begin(kSupportedDbtManifestVersions), std::end(kSupportedDbtManifestVersions), version) ==
        std::end(kSupportedDbtManifestVersions))
        throw Error(sqlstate::kInvalidParameterValue, "dbt manifest schema version " + quoted(version) + " is not supported",
                    "metadata.dbt_schema_version is " + quoted(*url) + ".", supported);
    return version;
}

// The node's reverse_etl settings: meta.reverse_etl, or config.meta.reverse_etl
// (dbt copies config meta into meta; older manifests may have only one).
const JsonValue *reverse_etl_settings(const std::string &unique_id, const JsonValue &node) {
    const JsonValue *config = object_member(node, "config");
    for (const JsonValue *holder : {&node, config}) {
        const JsonValue *meta = holder ? object_member(*holder, "meta") : nullptr;
        const JsonValue *settings = meta ? meta->member("reverse_etl") : nullptr;
        if (!settings || settings->is_null())
            continue;
        if (settings->kind() != JsonKind::Object)
            throw_node_error(unique_id, "meta.reverse_etl must be an object, not " +
                                            std::string(json_kind_phrase(settings->kind())),
                             "Write it as meta: {reverse_etl: {primary_key: <column>}}.");
        return settings;
    }
    return nullptr;
}

// Columns with a single-column "unique" test, by the unique_id of the model
// the test is attached to.
std::map<std::string, std::set<std::string>> unique_tested_columns(const JsonValue &nodes) {
    std::map<std::string, std::set<std::string>> tested;
    for (const JsonMember &member : nodes.members()) {
        const JsonValue &node = member.value;
        if (node.kind() != JsonKind::Object || string_member(node, "resource_type") != std::optional<std::string>("test"))
            continue;
        const JsonValue *metadata = object_member(node, "test_metadata");
        if (!metadata || string_member(*metadata, "name") != std::optional<std::string>("unique"))
            continue;
        // dbt's own generic test has no namespace; a package's "unique" may test anything.
        const JsonValue *test_namespace = metadata->member("namespace");
        if (test_namespace && !test_namespace->is_null() &&
            string_member(*metadata, "namespace") != std::optional<std::string>("dbt"))
            continue;
        std::optional<std::string> column_sql = string_member(node, "column_name");
        if (!column_sql) {
            if (const JsonValue *kwargs = object_member(*metadata, "kwargs"))
                column_sql = string_member(*kwargs, "column_name");
        }
        const auto column = column_sql ? column_from_sql(*column_sql) : std::nullopt;
        if (!column)
            continue;
        std::optional<std::string> model = nonempty_string_member(node, "attached_node");
        if (!model) {
            // Older nodes: the one model the test depends on.
            const JsonValue *depends_on = object_member(node, "depends_on");
            const JsonValue *parents = depends_on ? depends_on->member("nodes") : nullptr;
            std::vector<std::string> models;
            if (parents && parents->kind() == JsonKind::Array)
                for (const JsonValue &parent : parents->elements())
                    if (parent.kind() == JsonKind::String && parent.string_value().rfind("model.", 0) == 0)
                        models.push_back(parent.string_value());
            if (models.size() == 1)
                model = models.front();
        }
        if (model)
            tested[*model].insert(*column);
    }
    return tested;
}

// The primary key and where it came from; nullopt when the node does not opt in.
std::optional<std::pair<std::string, std::string>> primary_key_of(
    const std::string &unique_id, const JsonValue &node, const JsonValue *settings,
    const std::map<std::string, std::set<std::string>> &tested) {
    if (settings) {
        const JsonValue *key = settings->member("primary_key");
        if (key && !key->is_null()) {
            if (key->kind() != JsonKind::String || key->string_value().empty())
                throw_node_error(unique_id, "meta.reverse_etl.primary_key must be a column name (a string), not " +
                                                std::string(json_kind_phrase(key->kind())));
            return std::make_pair(key->string_value(), std::string("meta.reverse_etl.primary_key"));
        }
    }
    if (const JsonValue *config = object_member(node, "config")) {
        const JsonValue *unique_key = config->member("unique_key");
        std::optional<std::string> column;
        if (unique_key && unique_key->kind() == JsonKind::String)
            column = column_from_sql(unique_key->string_value());
        else if (unique_key && unique_key->kind() == JsonKind::Array && unique_key->elements().size() == 1 &&
                 unique_key->elements()[0].kind() == JsonKind::String)
            column = column_from_sql(unique_key->elements()[0].string_value());
        if (column)
            return std::make_pair(*column, std::string("config.unique_key"));
    }
    const auto found = tested.find(unique_id);
    if (found != tested.end() && !found->second.empty())
        return std::make_pair(*found->second.begin(), std::string("a unique test"));
    return std::nullopt;
}

DbtRelation relation_of(const std::string &unique_id, const JsonValue &node) {
    DbtRelation relation;
    relation.relation_name = nonempty_string_member(node, "relation_name");
    if (relation.relation_name)
        return relation;
    const auto schema = nonempty_string_member(node, "schema");
    auto identifier = nonempty_string_member(node, "alias");
    if (!identifier)
        identifier = nonempty_string_member(node, "name");
    if (!schema || !identifier)
        throw_node_error(unique_id, "the node has neither a relation_name nor a schema and alias",
                         "Import the manifest that dbt writes for the target it builds (dbt parse, dbt run).");
    relation.database = nonempty_string_member(node, "database");
    relation.schema = *schema;
    relation.identifier = *identifier;
    return relation;
}

std::string model_name_of(const std::string &unique_id, const JsonValue &node, const JsonValue *settings) {
    if (settings) {
        const JsonValue *name = settings->member("name");
        if (name && !name->is_null()) {
            if (name->kind() != JsonKind::String || name->string_value().empty())
                throw_node_error(unique_id, "meta.reverse_etl.name must be a model name (a string), not " +
                                                std::string(json_kind_phrase(name->kind())));
            return name->string_value();
        }
    }
    const auto name = nonempty_string_member(node, "name");
    if (!name)
        throw_node_error(unique_id, "the node has no name");
    // Versions of one model share its name; dbt names their relations
    // <name>_v<version> by default, and so do we the models.
    const JsonValue *version = node.member("version");
    if (version && version->kind() == JsonKind::Number)
        return *name + "_v" + version->number_text();
    if (version && version->kind() == JsonKind::String && !version->string_value().empty())
        return *name + "_v" + version->string_value();
    return *name;
}

}  // namespace

std::string dbt_package_of(const std::string &unique_id) {
    const size_t first = unique_id.find('.');
    if (first == std::string::npos)
        return {};
    const size_t second = unique_id.find('.', first + 1);
    return unique_id.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
}

DbtManifest read_dbt_manifest(const JsonValue &manifest) {
    if (manifest.kind() != JsonKind::Object)
        throw Error(sqlstate::kInvalidParameterValue, "manifest must be a JSON object",
                    "It is " + std::string(json_kind_phrase(manifest.kind())) + ".",
                    "Import the target/manifest.json that dbt writes.");
    DbtManifest result;
    result.schema_version = schema_version_of(manifest);
    const JsonValue *nodes = object_member(manifest, "nodes");
    if (!nodes)
        throw Error(sqlstate::kInvalidParameterValue, "manifest has no \"nodes\" object", "",
                    "Import the target/manifest.json that dbt writes.");
    const auto tested = unique_tested_columns(*nodes);
    std::map<std::string, std::string> node_by_model_name;
    for (const JsonMember &member : nodes->members()) {
        const JsonValue &node = member.value;
        if (node.kind() != JsonKind::Object)
            continue;
        const std::string unique_id = nonempty_string_member(node, "unique_id").value_or(member.key);
        result.packages.insert(nonempty_string_member(node, "package_name").value_or(dbt_package_of(unique_id)));
        const JsonValue *settings = reverse_etl_settings(unique_id, node);
        const auto resource_type = string_member(node, "resource_type").value_or("");
        if (resource_type != "model") {
            // Snapshots have unique keys too: only a node that asked for it hears why not.
            if (settings)
                result.skipped.push_back({unique_id, "it is " + (resource_type.empty() ? std::string("not a model")
                                                                                       : "a " + resource_type + ", not a model")});
            continue;
        }
        const auto key = primary_key_of(unique_id, node, settings, tested);
        if (!key) {
            if (settings)
                throw_node_error(unique_id, "meta.reverse_etl is set but no primary key was found",
                                 "Set meta.reverse_etl.primary_key to the column that identifies each row.");
            continue;
        }
        const JsonValue *config = object_member(node, "config");
        if (config && string_member(*config, "materialized") == std::optional<std::string>("ephemeral")) {
            result.skipped.push_back({unique_id, "it is ephemeral, so dbt builds no relation for it to read"});
            continue;
        }
        DbtModelNode model;
        model.unique_id = unique_id;
        model.model_name = model_name_of(unique_id, node, settings);
        model.description = nonempty_string_member(node, "description");
        model.primary_key = key->first;
        model.primary_key_origin = key->second;
        model.relation = relation_of(unique_id, node);
        const auto [previous, inserted] = node_by_model_name.emplace(model.model_name, unique_id);
        if (!inserted)
            throw Error(sqlstate::kDuplicateObject,
                        "dbt nodes " + quoted(std::min(previous->second, unique_id)) + " and " +
                            quoted(std::max(previous->second, unique_id)) + " would both be imported as model " +
                            quoted(model.model_name),
                        "", "Give one of them another name with meta.reverse_etl.name.");
        result.models.push_back(std::move(model));
    }
    std::sort(result.models.begin(), result.models.end(),
              [](const DbtModelNode &a, const DbtModelNode &b) { return a.unique_id < b.unique_id; });
    std::sort(result.skipped.begin(), result.skipped.end(),
              [](const DbtSkippedNode &a, const DbtSkippedNode &b) { return a.unique_id < b.unique_id; });
    return result;
}

}  // namespace reverse_etl::catalog
