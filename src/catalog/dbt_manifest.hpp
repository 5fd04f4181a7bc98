// Reading a dbt manifest (target/manifest.json) for import_dbt_manifest: which
// model nodes opt in, under what model name, with which primary key, and the
// relation dbt builds them into. Pure C++: no PostgreSQL, unit-tested.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/json_text.hpp"

namespace reverse_etl::catalog {

// Where dbt builds a node: its relation_name as dbt writes it (quoted by the
// adapter, e.g. "analytics"."public"."customers"), or, for manifests without
// one, its database, schema and alias as plain names.
struct DbtRelation {
    std::optional<std::string> relation_name;
    std::optional<std::string> database;
    std::string schema;
    std::string identifier;
};

struct DbtModelNode {
    std::string unique_id;                    // "model.jaffle_shop.customers"
    std::string model_name;                   // meta.reverse_etl.name, else name (name_v<version> when versioned)
    std::optional<std::string> description;   // nullopt when dbt has none (empty)
    std::string primary_key;
    std::string primary_key_origin;           // where the key came from, for messages
    DbtRelation relation;
};

// A node that asked to be imported (meta.reverse_etl) but cannot be, and why.
struct DbtSkippedNode {
    std::string unique_id;
    std::string reason;
};

struct DbtManifest {
    std::string schema_version;   // "v12"
    std::vector<DbtModelNode> models;      // ordered by unique_id
    std::vector<DbtSkippedNode> skipped;   // ordered by unique_id
    // The packages (projects) the manifest's nodes belong to: a model imported
    // from another package is not the business of this manifest.
    std::set<std::string> packages;
};

// The package of a unique_id: "jaffle_shop" in "model.jaffle_shop.customers".
std::string dbt_package_of(const std::string &unique_id);

// The schema versions of the manifests current dbt releases write: v10 (dbt
// 1.6), v11 (1.7), v12 (1.8 and later).
inline constexpr const char *kSupportedDbtManifestVersions[] = {"v10", "v11", "v12"};

// Reads the model nodes that opt in: a node of resource_type "model" whose
// primary key is given by, in this order, meta.reverse_etl.primary_key (also
// read from config.meta), config.unique_key (a column name, or an array of
// exactly one), or a "unique" test on one column (the lexically first column
// when several have one). A unique_key or tested column that is not a plain
// column name (an expression) does not count. Nodes that do not opt in are
// left out; ephemeral models and other resource types that carry
// meta.reverse_etl are reported in `skipped`.
// Throws Error 22023 for a manifest that is not one (not an object, no
// "nodes" object), of an unsupported metadata.dbt_schema_version, or with a
// node whose reverse_etl settings or relation cannot be read (naming it).
DbtManifest read_dbt_manifest(const JsonValue &manifest);

}  // namespace reverse_etl::catalog
