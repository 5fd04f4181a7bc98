#include "catalog/sources.hpp"

#include <chrono>

#include "catalog/mappings.hpp"
#include "catalog/settings.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/parse_number.hpp"
#include "common/sql_text.hpp"
#include "pg/messages.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/time_support.hpp"

namespace reverse_etl::catalog {

namespace {

constexpr int kMinFetchRows = 100;
constexpr int kMaxFetchRows = 100000;

std::string subject_of(const std::string &name) { return "source " + quoted(name); }

// A role that is not a superuser must give a password and may not name the
// server's files (pg::check_conninfo); the check is the current role's, who
// becomes (or is) the source's owner.
void check_conninfo_for_current_role(const std::string &name, const std::string &conninfo) {
    pg::check_conninfo(subject_of(name), conninfo, pg::is_superuser(pg::current_role_oid()));
}

void bad_setting(const std::string &message) {
    throw Error(sqlstate::kInvalidParameterValue, "source settings: " + message, "",
                "Source settings are statement_timeout (an interval, such as '10 minutes') and fetch_rows "
                "(100 to 100000).");
}

std::vector<Column> columns_of(const std::vector<pg::RemoteColumn> &remote) {
    std::vector<Column> columns;
    for (const pg::RemoteColumn &column : remote)
        columns.push_back(Column{column.name, pg::local_type_name(column.type_oid, column.type_modifier)});
    return columns;
}

}  // namespace

SourceSettings read_source_settings(const std::string &settings_json) {
    const JsonPtr settings = parse_json(settings_json, "settings");
    if (!json_is_object(settings.get()))
        bad_setting("must be a JSON object");
    SourceSettings result;
    const char *key = nullptr;
    json_t *value = nullptr;
    json_object_foreach(settings.get(), key, value) {
        const std::string name = key;
        if (name == "statement_timeout") {
            if (!json_is_string(value))
                bad_setting("statement_timeout must be an interval given as text, such as \"10 minutes\"");
            const auto length = pg::parse_interval_length(json_string_value(value));
            if (!length || length->usec < 0)
                bad_setting("statement_timeout " + quoted(json_string_value(value)) +
                            " is not a positive interval");
            result.statement_timeout_ms = length->usec / 1000;
            if (length->usec > 0 && result.statement_timeout_ms == 0)
                result.statement_timeout_ms = 1;
        } else if (name == "fetch_rows") {
            if (!json_is_integer(value) || json_integer_value(value) < kMinFetchRows ||
                json_integer_value(value) > kMaxFetchRows)
                bad_setting("fetch_rows must be an integer from 100 to 100000");
            result.fetch_rows = static_cast<int>(json_integer_value(value));
        } else {
            bad_setting("unknown setting " + quoted(name));
        }
    }
    return result;
}

void create_source(const std::string &name, const std::string &conninfo, const std::string &settings_json) {
    check_object_name("source", name);
    if (name == "local")
        throw Error(sqlstate::kDuplicateObject, "source \"local\" already exists", "",
                    "\"local\" is this database, which models read by default.");
    check_conninfo_for_current_role(name, conninfo);
    const JsonPtr settings = parse_json(settings_json, "settings");
    read_source_settings(settings_json);
    check_name_free("source", "source_catalog", name);
    pg::execute_catalog(
        "INSERT INTO reverse_etl.source_catalog (name, conninfo, settings, owner) "
        "VALUES ($1, $2, $3::jsonb, $4::oid::regrole)",
        {name, conninfo, dump_json(settings.get()), std::to_string(pg::current_role_oid())});
}

void alter_source(const std::string &name, const std::optional<std::string> &conninfo,
                  const std::optional<std::string> &settings_patch_json, const std::optional<std::string> &new_name) {
    const SourceRow source = find_source(name);
    if (conninfo)
        check_conninfo_for_current_role(name, *conninfo);
    std::string settings_json = source.settings_json;
    if (settings_patch_json) {
        const JsonPtr current = parse_json(source.settings_json, "settings");
        const JsonPtr patch = parse_json(*settings_patch_json, "settings");
        if (!json_is_object(patch.get()))
            bad_setting("must be a JSON object");
        settings_json = dump_json(merge_settings(current.get(), patch.get()).get());
        read_source_settings(settings_json);
    }
    const std::string renamed = new_name.value_or(name);
    if (renamed != name) {
        check_object_name("source", renamed);
        if (renamed == "local")
            throw Error(sqlstate::kDuplicateObject, "source \"local\" already exists");
        check_name_free("source", "source_catalog", renamed);
        // Models name their source.
        pg::execute_catalog("UPDATE reverse_etl.model_catalog SET source = $2 WHERE source = $1", {name, renamed});
    }
    pg::execute_catalog(
        "UPDATE reverse_etl.source_catalog SET name = $2, conninfo = $3, settings = $4::jsonb, "
        "updated_at = pg_catalog.now() WHERE source_id = $1::bigint",
        {std::to_string(source.id), renamed, conninfo.value_or(source.conninfo), settings_json});
}

void drop_source(const std::string &name, bool cascade) {
    const SourceRow source = find_source(name);
    const pg::Result models = pg::execute_catalog(
        "SELECT name, model_id::text FROM reverse_etl.model_catalog WHERE source = $1 ORDER BY name", {name});
    if (!models.empty()) {
        std::string detail;
        for (const auto &row : models.rows)
            detail += (detail.empty() ? "" : "\n") + std::string("model ") + quoted(row.at(0).value_or("")) +
                      " uses source " + quoted(name);
        if (!cascade)
            throw Error(sqlstate::kDependentObjectsStillExist,
                        "cannot drop source " + quoted(name) + " because other objects depend on it", detail,
                        "Use cascade => true to drop the dependent models and their mappings too.");
        // By id: a model another member of the owner's role made is the
        // source's dependent too, visible to the caller or not.
        for (const auto &row : models.rows) {
            const ModelRow model = model_by_id(number_from_sql<int64_t>(row.at(1).value_or("0")));
            drop_dependent_mappings("model", model.name, mappings_of_model(model.id), true);
            pg::execute_catalog("DELETE FROM reverse_etl.model_catalog WHERE model_id = $1::bigint",
                                {std::to_string(model.id)});
        }
        pg::notice("drop cascades to " + std::to_string(models.rows.size()) + " model(s)", detail);
    }
    pg::execute_catalog("DELETE FROM reverse_etl.source_catalog WHERE source_id = $1::bigint",
                        {std::to_string(source.id)});
}

std::unique_ptr<pg::RemoteConnection> connect_source(const SourceRow &source) {
    const SourceSettings settings = read_source_settings(source.settings_json);
    pg::RemoteOptions options;
    options.subject = subject_of(source.name);
    options.statement_timeout_ms = settings.statement_timeout_ms;
    options.require_password_use = !pg::is_superuser(source.owner);
    // The stored text was checked for its owner when written; a superuser
    // who was demoted since must not keep a password-less source.
    pg::check_conninfo(options.subject, source.conninfo, !options.require_password_use);
    return std::make_unique<pg::RemoteConnection>(source.conninfo, options);
}

std::string test_source(const std::string &name) {
    const SourceRow source = find_source(name);
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    const auto connection = connect_source(source);
    const auto connected = Clock::now();
    connection->command("SELECT 1");
    const auto answered = Clock::now();
    const auto ms = [](Clock::duration d) {
        return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0;
    };
    const JsonPtr result = new_json_object();
    json_object_set_new(result.get(), "server_version", json_string(connection->server_version().c_str()));
    json_object_set_new(result.get(), "connect_ms", json_real(ms(connected - started)));
    json_object_set_new(result.get(), "round_trip_ms", json_real(ms(answered - connected)));
    return dump_json(result.get());
}

std::vector<Column> describe_remote_query(const SourceRow &source, const std::string &query) {
    return columns_of(connect_source(source)->describe(query));
}

SourceRow usable_source(const std::string &name) { return find_source(name); }

std::string remote_rows_select_sql(const std::vector<Column> &columns) {
    std::string select, unnests, aliases;
    for (size_t i = 0; i < columns.size(); ++i) {
        const std::string alias = "c" + std::to_string(i + 1);
        const std::string sep = i > 0 ? ", " : "";
        select += sep + "u." + alias + "::" + columns[i].type + " AS " + quote_identifier(columns[i].name);
        unnests += sep + "pg_catalog.unnest($" + std::to_string(i + 1) + "::text[])";
        aliases += sep + alias;
    }
    return "SELECT " + select + " FROM ROWS FROM (" + unnests + ") AS u(" + aliases + ")";
}

pg::Params remote_rows_params(const std::vector<RemoteRow> &rows, size_t width) {
    pg::Params params;
    std::vector<std::optional<std::string>> column;
    column.reserve(rows.size());
    for (size_t c = 0; c < width; ++c) {
        column.clear();
        for (const RemoteRow &row : rows)
            column.push_back(c < row.size() ? row[c] : std::nullopt);
        params.emplace_back(text_array_literal(column));
    }
    return params;
}

std::vector<std::string> preview_remote_rows(const SourceRow &source, const std::string &query,
                                             const std::vector<Column> &columns, int row_limit) {
    std::vector<std::string> out;
    if (row_limit == 0)
        return out;
    const auto connection = connect_source(source);
    std::vector<RemoteRow> kept;
    connection->stream("SELECT * FROM (" + query + "\n) AS q LIMIT " + std::to_string(row_limit),
                       static_cast<size_t>(row_limit), [&](const pg::TextRows &rows) {
                           for (size_t r = 0; r < rows.rows; ++r) {
                               RemoteRow &row = kept.emplace_back(rows.width);
                               for (size_t c = 0; c < rows.width; ++c)
                                   if (const char *text = rows.at(r, c))
                                       row[c].emplace(text);
                           }
                       });
    if (kept.empty())
        return out;
    const pg::Result result = pg::execute("SELECT pg_catalog.to_jsonb(t.*)::text FROM (" +
                                              remote_rows_select_sql(columns) + ") AS t",
                                          remote_rows_params(kept, columns.size()));
    for (const auto &row : result.rows)
        out.push_back(row.at(0).value_or("null"));
    return out;
}

}  // namespace reverse_etl::catalog
