#include "destinations/job_reader.hpp"

#include <algorithm>

#include "common/json_text.hpp"

namespace reverse_etl::destinations {

namespace {

constexpr size_t kMessageChars = 500;

std::string scalar_text(const JsonValue *value) {
    if (value == nullptr)
        return {};
    if (value->kind() == JsonKind::String)
        return value->string_value();
    if (value->kind() == JsonKind::Number)
        return value->number_text();
    return {};
}

std::string message_of(const JsonValue &error, const std::vector<catalog::JsonPath> &paths) {
    std::string message;
    for (const catalog::JsonPath &path : paths) {
        const JsonValue *found = find_path(error, path);
        if (found == nullptr || found->is_null())
            continue;
        const std::string text = found->kind() == JsonKind::String ? found->string_value() : to_json_text(*found);
        message += (message.empty() ? "" : ": ") + text;
    }
    if (message.empty())
        message = to_json_text(error);
    return message.size() > kMessageChars ? message.substr(0, kMessageChars) + "..." : message;
}

}  // namespace

std::optional<std::string> job_id_of(const catalog::JobSpec &spec, std::string_view body) {
    const std::optional<JsonValue> root = try_parse_json_text(body);
    if (!root)
        return std::nullopt;
    std::string id = scalar_text(find_path(*root, spec.id));
    if (id.empty())
        return std::nullopt;
    return id;
}

JobState read_job_state(const catalog::JobSpec &spec, std::string_view body) {
    JobState reading;
    const std::optional<JsonValue> root = try_parse_json_text(body);
    if (!root)
        return reading;
    const JsonValue *state = find_path(*root, spec.state);
    if (state == nullptr || state->kind() != JsonKind::String)
        return reading;
    reading.state = state->string_value();
    const auto in = [&](const std::vector<std::string> &states) {
        return std::find(states.begin(), states.end(), reading.state) != states.end();
    };
    reading.phase = in(spec.done)     ? JobState::Phase::Done
                    : in(spec.failed) ? JobState::Phase::Failed
                                      : JobState::Phase::Running;
    if (!spec.failed_count.empty()) {
        const JsonValue *count = find_path(*root, spec.failed_count);
        const std::string text = count != nullptr && count->kind() == JsonKind::Number ? count->number_text() : "";
        if (!text.empty() && text.size() < 16 && std::all_of(text.begin(), text.end(), [](char c) {
                return c >= '0' && c <= '9';
            }))
            reading.failed_count = std::stoll(text);
    }
    return reading;
}

JobErrorsPage read_job_errors(const catalog::JobSpec &spec, std::string_view body) {
    JobErrorsPage page;
    const std::optional<JsonValue> root = try_parse_json_text(body);
    if (!root)
        return page;
    const JsonValue *list = find_path(*root, spec.errors_list);
    if (list == nullptr || list->kind() != JsonKind::Array)
        return page;
    page.readable = true;
    for (const JsonValue &item : list->elements()) {
        JobError error;
        for (const auto &[path, key] : spec.error_keys)
            error.keys.push_back(scalar_text(find_path(item, path)));
        error.message = message_of(item, spec.message);
        page.errors.push_back(std::move(error));
    }
    if (!spec.errors_next.empty()) {
        const JsonValue *next = find_path(*root, spec.errors_next);
        if (next != nullptr && next->kind() == JsonKind::String && !next->string_value().empty())
            page.next = next->string_value();
    }
    return page;
}

bool next_page_allowed(const std::string &errors_url, const std::string &next) {
    std::string base = errors_url.substr(0, errors_url.find('?'));
    if (next.compare(0, base.size(), base) != 0)
        return false;
    const char follows = next.size() > base.size() ? next[base.size()] : '\0';
    return follows == '\0' || follows == '?';
}

}  // namespace reverse_etl::destinations
