// import_dbt_manifest: models from the model nodes of a dbt manifest
// (catalog/dbt_manifest.hpp says which nodes opt in), created and altered
// through create_model and alter_model, so an imported model passes the same
// checks as one written by hand and belongs to the caller.
#pragma once

#include <string>
#include <vector>

namespace reverse_etl::catalog {

struct DbtImportResult {
    std::string model;
    std::string action;   // "created", "updated", "unchanged" or "missing"
};

// Each opted-in node becomes (or updates) the model that keeps its unique_id,
// reading the node's relation with SELECT * FROM schema.identifier; models
// imported before from a package (dbt project) of this manifest, visible to
// the caller, whose node is not among them are reported "missing" and left as
// they are. Rows are ordered by model name.
// Any failing node aborts the whole import with an error naming it.
std::vector<DbtImportResult> import_dbt_manifest(const std::string &manifest_json, const std::string &source);

}  // namespace reverse_etl::catalog
