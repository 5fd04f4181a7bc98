#include "catalog/dbt_import.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "catalog/catalog_store.hpp"
#include "catalog/dbt_manifest.hpp"
#include "catalog/models.hpp"
#include "catalog/sources.hpp"
#include "common/error.hpp"
#include "common/json_text.hpp"
#include "common/parse_number.hpp"
#include "pg/messages.hpp"
#include "pg/query_analysis.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"

namespace reverse_etl::catalog {

namespace {

// A model imported before, as the catalog has it.
struct ImportedModel {
    std::string name;
    std::string query;
    std::string primary_key;
    std::optional<std::string> description;
    ModelColumns columns;
    unsigned int owner = 0;
};

std::map<std::string, ImportedModel> imported_models() {
    const pg::Result result = pg::execute_catalog(
        "SELECT dbt_unique_id, name, query, primary_key, description, columns::text, owner::oid::text "
        "FROM reverse_etl.model_catalog WHERE dbt_unique_id IS NOT NULL");
    std::map<std::string, ImportedModel> models;
    for (const auto &row : result.rows) {
        ImportedModel model;
        model.name = *row[1];
        model.query = *row[2];
        model.primary_key = *row[3];
        model.description = row[4];
        model.columns = columns_from_json(*row[5]);
        model.owner = number_from_sql<unsigned int>(*row[6]);
        models.emplace(*row[0], std::move(model));
    }
    return models;
}

bool visible(const ImportedModel &model) {
    return pg::has_privileges_of_role(pg::current_role_oid(), model.owner);
}

// The query that reads the relation dbt builds the node into. relation_name is
// read with PostgreSQL's own identifier rules (parse_ident), so quoting and
// case folding mean what they meant in dbt's SQL. A query cannot read another
// database: a database part must be the current one.
std::string relation_query(const DbtModelNode &node) {
    std::optional<std::string> database = node.relation.database;
    std::string schema = node.relation.schema;
    std::string identifier = node.relation.identifier;
    std::string shown = node.relation.relation_name.value_or(
        (database ? quoted(*database) + "." : std::string()) + quoted(schema) + "." + quoted(identifier));
    if (node.relation.relation_name) {
        const pg::Result parts = pg::execute_catalog(
            "SELECT pg_catalog.array_length(p, 1)::text, p[1], p[2], p[3] FROM pg_catalog.parse_ident($1) AS p",
            {*node.relation.relation_name});
        const auto &row = parts.rows.at(0);
        const int count = row[0] ? number_from_sql<int>(*row[0]) : 0;
        if (count == 3) {
            database = *row[1];
            schema = *row[2];
            identifier = *row[3];
        } else if (count == 2) {
            schema = *row[1];
            identifier = *row[2];
        } else {
            throw Error(sqlstate::kInvalidParameterValue,
                        "relation_name " + quoted(shown) + " is not a schema-qualified relation name", "",
                        "dbt writes relation names as database.schema.identifier.");
        }
    }
    if (database) {
        const std::string current = pg::execute_catalog("SELECT pg_catalog.current_database()::text").scalar();
        if (*database != current)
            throw Error(sqlstate::kFeatureNotSupported,
                        "relation " + shown + " is in database " + quoted(*database) +
                            ", not in the current database " + quoted(current),
                        "A model's query can only read relations of the database it is defined in.",
                        "Import the manifest into the database the dbt target builds into.");
    }
    return pg::execute_catalog("SELECT pg_catalog.format('SELECT * FROM %I.%I', $1::text, $2::text)",
                               {schema, identifier})
        .scalar();
}

bool same_columns(const ModelColumns &a, const ModelColumns &b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const Column &x, const Column &y) { return x.name == y.name && x.type == y.type; });
}

// The node's key must be a column of its relation; the error says where the
// key came from, since with config.unique_key or a test the user never wrote
// it for us.
void check_node_key(const DbtModelNode &node, const ModelColumns &columns) {
    const std::vector<std::string> names = column_names(columns);
    if (std::find(names.begin(), names.end(), node.primary_key) != names.end())
        return;
    std::string list;
    for (const std::string &name : names)
        list += (list.empty() ? "" : ", ") + quoted(name);
    throw Error(sqlstate::kUndefinedColumn,
                "primary key " + quoted(node.primary_key) + " is not a column of model " + quoted(node.model_name),
                "The key comes from the node's " + node.primary_key_origin + "; the relation has the columns " +
                    list + ".",
                "Set meta.reverse_etl.primary_key on the node to the column that identifies each row.");
}

[[noreturn]] void throw_name_taken(const std::string &name) {
    throw Error(sqlstate::kDuplicateObject, "model " + quoted(name) + " already exists and was not imported from this node",
                "", "Rename or drop that model, or import the node under another name with meta.reverse_etl.name.");
}

// Creates or updates the node's model; returns what it did.
std::string import_node(const DbtModelNode &node, const std::map<std::string, ImportedModel> &existing) {
    const auto found = existing.find(node.unique_id);
    if (found != existing.end() && !visible(found->second))
        throw Error(sqlstate::kDuplicateObject, "the node was imported by a role whose models you cannot use", "",
                    "Import the manifest as that role, or have it drop its model.");
    const std::string query = relation_query(node);
    // Planned as the caller, as create_model and alter_model plan it: a
    // relation that is missing or that the caller may not read fails here.
    pg::AnalyzedQuery analyzed;
    try {
        analyzed = pg::analyze_model_query(query);
    } catch (const Error &error) {
        throw error.with_message("model " + quoted(node.model_name) + ": " + error.message());
    }
    check_node_key(node, analyzed.columns);
    if (found == existing.end()) {
        if (name_taken("model_catalog", node.model_name))
            throw_name_taken(node.model_name);
        create_model(node.model_name, query, node.primary_key, "local", node.description);
        pg::execute_catalog("UPDATE reverse_etl.model_catalog SET dbt_unique_id = $2 WHERE name = $1",
                            {node.model_name, node.unique_id});
        return "created";
    }
    const ImportedModel &model = found->second;
    if (model.name == node.model_name && model.query == analyzed.text && model.primary_key == node.primary_key &&
        model.description == node.description && same_columns(model.columns, analyzed.columns))
        return "unchanged";
    if (model.name != node.model_name && name_taken("model_catalog", node.model_name))
        throw_name_taken(node.model_name);
    // The manifest is the model's source: every property comes from it
    // (an empty description clears the model's).
    alter_model(model.name, query, node.primary_key, node.description.value_or(""), node.model_name);
    return "updated";
}

// dbt's relations are read in this database: a remote source's models are
// not imported yet (their relation names would be the warehouse's).
void check_dbt_source(const std::string &source) {
    if (source == "local")
        return;
    usable_source(source);   // 42704 when there is no such source
    throw Error(sqlstate::kFeatureNotSupported, "dbt models can only be imported from source \"local\"", "",
                "Create the models on source " + quoted(source) + " with create_model(..., source => " +
                    quoted(source) + ").");
}

}  // namespace

std::vector<DbtImportResult> import_dbt_manifest(const std::string &manifest_json, const std::string &source) {
    check_dbt_source(source);
    const DbtManifest manifest = read_dbt_manifest(parse_json_text(manifest_json));
    for (const DbtSkippedNode &skipped : manifest.skipped)
        pg::notice("dbt node " + quoted(skipped.unique_id) + " is not imported: " + skipped.reason);
    const std::map<std::string, ImportedModel> existing = imported_models();

    // Models imported before go first: one renamed by the manifest frees its
    // old name before a new node's model may take it.
    std::vector<const DbtModelNode *> order;
    for (const DbtModelNode &node : manifest.models)
        if (existing.count(node.unique_id))
            order.push_back(&node);
    for (const DbtModelNode &node : manifest.models)
        if (!existing.count(node.unique_id))
            order.push_back(&node);

    std::vector<DbtImportResult> results;
    std::set<std::string> in_manifest;
    for (const DbtModelNode *node : order) {
        in_manifest.insert(node->unique_id);
        try {
            results.push_back({node->model_name, import_node(*node, existing)});
        } catch (const Error &error) {
            throw error.with_message("dbt node " + quoted(node->unique_id) + ": " + error.message());
        }
    }
    // Missing: imported from a package of this manifest, and not in it any
    // more (models of other dbt projects in the same database are left out).
    // Not dropped: mappings and their checkpoints may hang on them, and a
    // node may be gone only from this manifest (a partial parse, a disabled
    // model). The caller decides.
    for (const auto &[unique_id, model] : existing)
        if (!in_manifest.count(unique_id) && manifest.packages.count(dbt_package_of(unique_id)) && visible(model))
            results.push_back({model.name, "missing"});
    std::sort(results.begin(), results.end(), [](const DbtImportResult &a, const DbtImportResult &b) {
        return a.model != b.model ? a.model < b.model : a.action < b.action;
    });
    return results;
}

}  // namespace reverse_etl::catalog
