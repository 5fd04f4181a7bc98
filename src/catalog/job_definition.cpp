#include "catalog/job_definition.hpp"

#include <utility>

namespace reverse_etl::catalog::definition {

namespace {

constexpr const char *kJobIdMarker = "{{job_id}}";

JsonPath path_of(const Node &node, const std::string &text) { return read_dotted_path(node, text); }

JsonPath read_job_path(const Node &node) { return path_of(node, read_string(node)); }

// A URL with the job's id in it, exactly once: what precedes it is a template
// of settings starting with the base URL setting (as a request's URL), what
// follows is plain text.
std::pair<RequestTemplate, std::string> read_job_url(const Node &node, const DestinationType &type) {
    const std::string text = read_string(node);
    const size_t marker = text.find(kJobIdMarker);
    node.expect(marker != std::string::npos && text.find(kJobIdMarker, marker + 1) == std::string::npos,
                "must have {{job_id}} exactly once");
    const std::string after = text.substr(marker + std::string(kJobIdMarker).size());
    node.expect(after.find("{{") == std::string::npos, "may have no placeholder after {{job_id}}");
    std::string problem;
    std::optional<RequestTemplate> before = parse_request_template(text.substr(0, marker), problem);
    node.expect(before.has_value(), problem);
    for (const RequestTemplatePart &part : before->parts)
        check_placeholder(node, type, part, kSettings);
    node.expect(!before->parts.empty() && before->parts[0].kind == RequestTemplatePart::Kind::Setting &&
                    is_base_url_setting(before->parts[0].text),
                "must start with {{settings.url}}, {{settings.endpoint}}, {{settings.instance_url}} or "
                "{{settings.webhook_url}}");
    return {std::move(*before), after};
}

std::vector<JsonPath> read_paths(const Node &node) {
    std::vector<JsonPath> paths;
    if (!node.present())
        return paths;
    require_array(node);
    for (size_t i = 0; i < json_array_size(node.value()); ++i)
        paths.push_back(read_job_path(node.element(i)));
    return paths;
}

void read_errors(const Node &node, const DestinationType &type, JobSpec &job) {
    require_present(node).expect(json_is_object(node.value()), "must be an object");
    expect_only_keys(node, {"url", "list", "next", "keys", "message"});
    std::tie(job.errors_url, job.errors_after) = read_job_url(node.member("url"), type);
    job.errors_list = read_job_path(node.member("list"));
    if (node.member("next").present())
        job.errors_next = read_job_path(node.member("next"));
    const Node keys = node.member("keys");
    require_present(keys).expect(json_is_object(keys.value()) && json_object_size(keys.value()) > 0,
                                 "must be a non-empty object of paths inside an error to record keys");
    const char *name;
    const json_t *value;
    json_object_foreach(const_cast<json_t *>(keys.value()), name, value) {
        const Node item = keys.member(name);
        JsonPath path = path_of(item, name);
        item.expect(!path.empty(), "must name a member of an error");
        job.error_keys.emplace_back(std::move(path), read_template(item, type, kRecordId | kFields));
    }
    job.message = read_paths(node.member("message"));
}

}  // namespace

JobSpec read_job(const Node &node, const DestinationType &type) {
    node.expect(json_is_object(node.value()), "must be an object");
    expect_only_keys(node, {"status", "id", "url", "state", "done", "failed", "failed_count", "errors", "wait",
                            "poll_ms", "poll_max_ms"});
    JobSpec job;
    const Node statuses = node.member("status");
    require_array(statuses);
    for (size_t i = 0; i < json_array_size(statuses.value()); ++i) {
        const long long status = read_integer(statuses.element(i));
        statuses.element(i).expect(status >= 200 && status < 300, "must be a success status (200 to 299)");
        job.statuses.push_back(static_cast<long>(status));
    }
    statuses.expect(!job.statuses.empty(), "must not be empty");
    job.id = read_job_path(node.member("id"));
    node.member("id").expect(!job.id.empty(), "must name a member of the answer");
    std::tie(job.status_url, job.status_after) = read_job_url(node.member("url"), type);
    job.state = read_job_path(node.member("state"));
    job.done = read_name_list(node.member("done"));
    job.failed = read_name_list(node.member("failed"));
    for (const std::string &state : job.failed)
        node.member("failed").expect(!contains(job.done, state), "repeats \"" + state + "\" of done");
    if (node.member("failed_count").present())
        job.failed_count = read_job_path(node.member("failed_count"));
    read_errors(node.member("errors"), type, job);
    job.wait = read_configurable<std::string>(require_present(node.member("wait")), type, SettingType::Interval,
                                              read_text);
    node.member("wait").expect(job.wait.fallback.has_value(), "needs a default");
    if (node.member("poll_ms").present())
        job.poll_ms = read_positive_int(node.member("poll_ms"));
    if (node.member("poll_max_ms").present())
        job.poll_max_ms = read_positive_int(node.member("poll_max_ms"));
    node.member("poll_max_ms").expect(job.poll_max_ms >= job.poll_ms, "must not be below poll_ms");
    return job;
}

}  // namespace reverse_etl::catalog::definition
