#include "catalog/models.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "catalog/catalog_store.hpp"
#include "catalog/field_mapping.hpp"
#include "catalog/live_capture.hpp"
#include "catalog/mapping_state.hpp"
#include "catalog/mappings.hpp"
#include "catalog/name_matching.hpp"
#include "catalog/schedule.hpp"
#include "catalog/sources.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "pg/filter_check.hpp"
#include "pg/messages.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/subtransaction.hpp"

namespace reverse_etl::catalog {

namespace {

constexpr int kMaxPreviewRows = 1000;

void check_row_limit(int row_limit) {
    if (row_limit < 0 || row_limit > kMaxPreviewRows)
        throw Error(sqlstate::kInvalidParameterValue, "row_limit must be between 0 and 1000",
                    "The value given is " + std::to_string(row_limit) + ".");
}

// Analyzes the query as the current role; PostgreSQL's errors keep their
// SQLSTATE and get the model's name in front, so a DBA knows which one failed.
pg::AnalyzedQuery analyze_for_model(const std::string &model_name, const std::string &query) {
    try {
        return pg::analyze_model_query(query);
    } catch (const Error &error) {
        throw error.with_message("model " + quoted(model_name) + ": " + error.message());
    }
}

// The statement alone, as a local model's analysis keeps it: wrapped in a
// subquery (a preview) or a cursor, a trailing semicolon would end it early.
std::string without_trailing_semicolons(std::string text) {
    while (!text.empty() && (text.back() == ';' || std::isspace(static_cast<unsigned char>(text.back()))))
        text.pop_back();
    return text;
}

// Preparing it makes the remote refuse more than one statement.
pg::AnalyzedQuery describe_remote(const SourceRow &source, const std::string &query) {
    const std::string text = without_trailing_semicolons(query);
    return pg::AnalyzedQuery{text, describe_remote_query(source, text)};
}

// The remote source a model reads, or nullopt for "local" (this database).
std::optional<SourceRow> remote_source(const std::string &source) {
    if (source == "local")
        return std::nullopt;
    return usable_source(source);
}

// What a query returns: planned here, or by the remote source, which checks
// it in its own dialect (its errors come back with its SQLSTATE).
pg::AnalyzedQuery analyze_in_source(const std::string &model_name, const std::optional<SourceRow> &source,
                                    const std::string &query) {
    if (!source)
        return analyze_for_model(model_name, query);
    try {
        return describe_remote(*source, query);
    } catch (const Error &error) {
        throw error.with_message("model " + quoted(model_name) + ": " + error.message());
    }
}

void check_distinct_columns(const std::string &subject, const ModelColumns &columns) {
    std::set<std::string> seen;
    for (const Column &column : columns) {
        if (!seen.insert(column.name).second)
            throw Error(sqlstate::kDuplicateColumn,
                        subject + ": column " + quoted(column.name) +
                            " appears more than once in the query's result",
                        "", "Give each result column a distinct name with AS.");
    }
}

void check_primary_key(const std::string &subject, const std::string &primary_key,
                       const ModelColumns &columns) {
    const std::vector<std::string> names = column_names(columns);
    if (std::find(names.begin(), names.end(), primary_key) != names.end())
        return;
    const auto nearest = closest_name(primary_key, names);
    std::string list;
    for (const std::string &name : names)
        list += (list.empty() ? "" : ", ") + quoted(name);
    throw Error(sqlstate::kUndefinedColumn,
                "primary key " + quoted(primary_key) + " is not a column of " + subject, "",
                nearest ? "Did you mean " + quoted(*nearest) + "?" : "The query returns " + list + ".");
}

// A new query must still return every column that a mapping of the model uses,
// in its fields or its filter; the error names the mapping and the column.
void check_mappings_fit(const std::string &model_name, const std::vector<MappingRow> &mappings,
                        const ModelColumns &columns) {
    const std::vector<std::string> names = column_names(columns);
    for (const MappingRow &mapping : mappings) {
        const JsonPtr fields = parse_json_shape(mapping.fields_json, "fields");
        for (const std::string &column : referenced_columns(fields.get())) {
            if (std::find(names.begin(), names.end(), column) == names.end())
                throw Error(sqlstate::kUndefinedColumn,
                            "mapping " + quoted(mapping.name) + " uses column " + quoted(column) +
                                ", which the new query of model " + quoted(model_name) + " does not return",
                            "", "Keep the column in the query, or alter or drop the mapping first.");
        }
        if (mapping.filter) {
            try {
                pg::validate_filter(*mapping.filter, columns, pg::current_search_path());
            } catch (const Error &error) {
                throw error.with_message("mapping " + quoted(mapping.name) + ": " + error.message());
            }
        }
    }
}

std::vector<std::string> fetch_json_rows(const std::string &query_text, int row_limit) {
    const pg::Result result = pg::execute(
        "SELECT pg_catalog.to_jsonb(m.*)::text FROM " + pg::wrap_model_query(query_text, "m") + " LIMIT $1::int",
        {std::to_string(row_limit)});
    std::vector<std::string> rows;
    for (const auto &row : result.rows)
        rows.push_back(row.at(0).value_or("null"));
    return rows;
}

}  // namespace

void create_model(const std::string &name, const std::string &query, const std::string &primary_key,
                  const std::string &source, const std::optional<std::string> &description) {
    check_object_name("model", name);
    const std::optional<SourceRow> remote = remote_source(source);
    const pg::AnalyzedQuery analyzed = analyze_in_source(name, remote, query);
    check_distinct_columns("model " + quoted(name), analyzed.columns);
    check_primary_key("model " + quoted(name), primary_key, analyzed.columns);
    check_name_free("model", "model_catalog", name);
    pg::execute_catalog(
        "INSERT INTO reverse_etl.model_catalog "
        "(name, source, query, primary_key, columns, search_path, description, owner) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::oid::regrole)",
        {name, source, analyzed.text, primary_key, columns_to_json(analyzed.columns), pg::current_search_path(),
         description, std::to_string(pg::current_role_oid())});
}

namespace {

const std::string &column_type(const ModelColumns &columns, const std::string &name) {
    const auto found = std::find_if(columns.begin(), columns.end(), [&](const Column &c) { return c.name == name; });
    if (found == columns.end())
        throw Error(sqlstate::kInternalError, "model column " + quoted(name) + " is missing");
    return found->type;
}

// A checkpoint keeps identifiers as text; a run names a deleted record by
// casting its identifier to the key column's type. When a new query changes
// that type, an identifier kept that does not cast (text "a" for an
// integer) would fail every later run of the mapping, so the change is
// refused while a checkpoint holds one. The cast runs as the model's owner
// (a domain's CHECK is user code), as the runs' own does.
void check_checkpoints_fit_key_type(const std::string &model_name, unsigned int owner, const std::string &search_path,
                                    const std::vector<MappingRow> &mappings, const std::string &key,
                                    const std::string &type) {
    for (const MappingRow &mapping : mappings) {
        const std::optional<Error> failed = pg::run_in_subtransaction([&] {
            const pg::RoleScope as_owner(owner, search_path);
            pg::execute("SELECT 1 FROM " + checkpoint_table(mapping.id) + " AS k WHERE (k.record_id::" + type +
                        ") IS NULL LIMIT 1");
        });
        if (!failed)
            continue;
        // Only a value that does not fit (22xxx, or a domain's CHECK) is the
        // type's doing; any other error (a privilege) is the statement's.
        if (failed->sqlstate().rfind("22", 0) != 0 && failed->sqlstate() != "23514")
            throw *failed;
        throw Error(sqlstate::kObjectNotInPrerequisiteState,
                    "the checkpoint of mapping " + quoted(mapping.name) + " holds identifiers that are not of type " +
                        type + ", the new type of column " + quoted(key) + " of model " + quoted(model_name),
                    "A run names a deleted record by its identifier cast to the key's type, and the cast fails: " +
                        failed->message() + ".",
                    "Reset the mapping with reverse_etl.reset_mapping() first (its next run sends every record as "
                    "added), or keep the column's type.");
    }
}

}  // namespace

void alter_model(const std::string &name, const std::optional<std::string> &query,
                 const std::optional<std::string> &primary_key, const std::optional<std::string> &description,
                 const std::optional<std::string> &new_name) {
    const ModelRow model = find_model(name);
    const std::vector<MappingRow> mappings = mappings_of_model(model.id);
    std::string query_text = model.query;
    std::string search_path = model.search_path;
    ModelColumns columns = model.columns;
    if (query) {
        const pg::AnalyzedQuery analyzed = analyze_in_source(name, remote_source(model.source), *query);
        check_distinct_columns("model " + quoted(name), analyzed.columns);
        check_mappings_fit(name, mappings, analyzed.columns);
        query_text = analyzed.text;
        // The new text was written against the altering role's search_path.
        search_path = pg::current_search_path();
        columns = analyzed.columns;
    }
    const std::string key = primary_key.value_or(model.primary_key);
    check_primary_key("model " + quoted(name), key, columns);
    const bool key_type_changes =
        key == model.primary_key && column_type(columns, key) != column_type(model.columns, key);
    // A run going on would checkpoint identifiers of the old key, after the
    // checkpoints were reset or found to fit the new type.
    if (key_type_changes || key != model.primary_key)
        for (const MappingRow &mapping : mappings)
            lock_out_runs(mapping);
    if (key_type_changes)
        check_checkpoints_fit_key_type(name, model.owner, search_path, mappings, key, column_type(columns, key));
    if (new_name && *new_name != name) {
        check_object_name("model", *new_name);
        check_name_free("model", "model_catalog", *new_name);
    }
    pg::execute_catalog(
        "UPDATE reverse_etl.model_catalog SET name = $2, query = $3, primary_key = $4, columns = $5::jsonb, "
        "search_path = $6, description = CASE WHEN $7::boolean THEN NULLIF($8, '') ELSE description END, "
        "updated_at = pg_catalog.now() WHERE model_id = $1::bigint",
        {std::to_string(model.id), new_name.value_or(name), query_text, key, columns_to_json(columns), search_path,
         description ? "true" : "false", description});
    if (query || key != model.primary_key) {
        // The new query must be one whose changes can be captured; its live
        // mappings get their mode for it (and the key) now, and set their
        // capture up again at their next run, a full diff.
        ModelRow changed = model;
        changed.query = query_text;
        changed.search_path = search_path;
        changed.primary_key = key;
        for (const MappingRow &mapping : mappings)
            if (is_live_schedule(mapping.schedule))
                renew_live_capture(mapping.id, check_live_model(changed, mapping.filter).key);
    }
    if (key != model.primary_key && !mappings.empty()) {
        // Records are identified by the key: old checkpoint entries would not match.
        for (const MappingRow &mapping : mappings)
            reset_checkpoint(mapping.id);
        pg::notice("primary key of model " + quoted(name) + " changed: the checkpoints of its " +
                       std::to_string(mappings.size()) + " mapping(s) were reset",
                   "Their next runs send every record as added.");
    }
}

void drop_model(const std::string &name, bool cascade) {
    const ModelRow model = find_model(name);
    const std::vector<MappingRow> mappings = mappings_of_model(model.id);
    drop_dependent_mappings("model", name, mappings, cascade);
    pg::execute_catalog("DELETE FROM reverse_etl.model_catalog WHERE model_id = $1::bigint",
                        {std::to_string(model.id)});
}

std::vector<std::string> preview_model(const std::string &name, int row_limit) {
    check_row_limit(row_limit);
    const ModelRow model = find_model(name);
    // A model's query always runs as its owner, with the search_path it was written for.
    const pg::RoleScope as_owner(model.owner, model.search_path);
    try {
        if (const std::optional<SourceRow> remote = remote_source(model.source))
            return preview_remote_rows(*remote, model.query, model.columns, row_limit);
        return fetch_json_rows(model.query, row_limit);
    } catch (const Error &error) {
        throw error.with_message("model " + quoted(name) + ": " + error.message());
    }
}

std::vector<std::string> preview_query(const std::string &query, const std::optional<std::string> &primary_key,
                                       int row_limit, const std::string &source) {
    check_row_limit(row_limit);
    const std::optional<SourceRow> remote = remote_source(source);
    const pg::AnalyzedQuery analyzed = remote ? describe_remote(*remote, query) : pg::analyze_model_query(query);
    check_distinct_columns("query", analyzed.columns);
    if (primary_key)
        check_primary_key("the query", *primary_key, analyzed.columns);
    if (remote)
        return preview_remote_rows(*remote, analyzed.text, analyzed.columns, row_limit);
    return fetch_json_rows(analyzed.text, row_limit);
}

}  // namespace reverse_etl::catalog
