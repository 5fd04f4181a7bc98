// URL templates: a destination's URL setting with its {{record_id}} and
// {{fields.NAME}} placeholders (catalog/request_rules parse_base_url, and the
// URL checks of catalog/settings), the definitions' template syntax
// (parse_request_template), and the URLs the request builder renders from an
// accepted one for records (destinations/request_builder), which then pass
// the allowlist check every request passes (http/host_allowlist check_url).
// Input: the URL text.
#include <string>
#include <vector>

#include "catalog/request_rules.hpp"
#include "catalog/settings.hpp"
#include "common/json.hpp"
#include "common/json_text.hpp"
#include "destinations/request_builder.hpp"
#include "http/host_allowlist.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;

namespace {

const http::HostAllowlist &any_host() {
    static const http::HostAllowlist allowlist = http::HostAllowlist::parse("*");
    return allowlist;
}

// Records whose payloads hold the fields a URL may name, with awkward values.
std::vector<destinations::OutgoingRecord> records_for(const catalog::RequestTemplate &url) {
    std::string payload = "{";
    const char *const values[] = {"\"a/b?c#d e%\"", "42", "true", "\"\"", "null", "{\"x\":1}", "\"\\u00e9\\n\""};
    size_t next = 0;
    for (const catalog::RequestTemplatePart &part : url.parts) {
        if (part.kind != catalog::RequestTemplatePart::Kind::Field)
            continue;
        if (payload.size() > 1)
            payload += ",";
        append_json_string(payload, part.text);
        payload += ":";
        payload += values[next++ % (sizeof values / sizeof *values)];
    }
    payload += "}";
    return {{"id/1 ?", payload, "m1"}, {"2", R"({"unrelated":1})", "m2"}};
}

void render(const std::string &url_setting, const catalog::RequestTemplate &url) {
    const catalog::DestinationType &webhook = fuzz::destination_type("webhook");
    const JsonPtr settings(json_pack("{s:s%}", "url", url_setting.data(), url_setting.size()));
    if (!settings)
        return;   // not UTF-8: a jsonb setting never holds that
    try {
        catalog::validate_settings(webhook, settings.get(), fuzz::read_interval);
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "validate_settings");
        return;
    }
    const destinations::RequestBuilder builder(webhook, webhook.actions.front(), settings.get());
    std::vector<destinations::InvalidRecord> invalid;
    const std::vector<destinations::OutgoingRecord> records = records_for(url);
    for (const destinations::PlannedRequest &request : builder.plan(records, &invalid)) {
        FUZZ_CHECK(!request.request.url.empty(), "an empty URL");
        try {
            (void)http::check_url(request.request.url, any_host());
        } catch (const Error &problem) {
            fuzz::expect_user_error(problem, "check_url");
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = fuzz::text_of(data, size);
    std::string problem;
    const std::optional<catalog::RequestTemplate> parsed = catalog::parse_request_template(text, problem);
    FUZZ_CHECK(parsed.has_value() == problem.empty(), "a template problem without a failure, or the reverse");
    if (parsed) {
        std::string rebuilt;
        for (const catalog::RequestTemplatePart &part : parsed->parts)
            if (part.kind == catalog::RequestTemplatePart::Kind::Text)
                rebuilt += part.text;
        FUZZ_CHECK(rebuilt.size() <= text.size(), "template text grew");
        (void)parsed->setting_keys();
    }
    catalog::RequestTemplate url;
    try {
        url = catalog::parse_base_url("url", text);
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "parse_base_url");
        return 0;
    }
    std::string rebuilt;
    for (const catalog::RequestTemplatePart &part : url.parts)
        rebuilt += part.kind == catalog::RequestTemplatePart::Kind::Text       ? part.text
                   : part.kind == catalog::RequestTemplatePart::Kind::RecordId ? std::string("{{record_id}}")
                                                                              : "{{fields." + part.text + "}}";
    FUZZ_CHECK(rebuilt == text, "parse_base_url lost text: " + rebuilt);
    render(text, url);
    return 0;
}
