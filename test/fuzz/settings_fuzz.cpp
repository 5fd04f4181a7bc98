// Destination settings: the JSON create_destination and alter_destination
// take, for every destination type (catalog/settings and
// catalog/request_rules: validation, the key-by-key merge, masking), then what
// runs do with accepted settings (destinations/request_builder): build
// requests, mask what they show. Input: the settings text.
#include <string>
#include <vector>

#include "catalog/settings.hpp"
#include "common/json.hpp"
#include "common/json_text.hpp"
#include "destinations/request_builder.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;

namespace {

bool validates(const catalog::DestinationType &type, const json_t *settings) {
    try {
        catalog::validate_settings(type, settings, fuzz::read_interval);
        return true;
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "validate_settings");
        return false;
    }
}

// The secret settings' string values, as the masks must hide them.
std::vector<std::string> secret_values(const catalog::DestinationType &type, const json_t *settings) {
    std::vector<std::string> values;
    for (const catalog::SettingSpec &spec : type.settings) {
        const json_t *value = json_object_get(settings, spec.key.c_str());
        if (spec.secret && json_is_string(value))
            values.emplace_back(json_string_value(value), json_string_length(value));
    }
    return values;
}

bool is_mask(const json_t *value) {
    return json_is_string(value) && std::string(json_string_value(value)) == catalog::kMaskedValue;
}

// Every secret setting's value, or each value of a secret object, is the mask.
void check_masked(const catalog::DestinationType &type, const json_t *settings) {
    const JsonPtr masked = catalog::mask_settings(type, settings);
    if (!json_is_object(settings))
        return;
    for (const catalog::SettingSpec &spec : type.settings) {
        const json_t *value = json_object_getn(masked.get(), spec.key.data(), spec.key.size());
        if (!spec.secret || value == nullptr || json_is_null(value))
            continue;
        if (spec.type == catalog::SettingType::Object && json_is_object(value)) {
            const char *key;
            json_t *member;
            json_object_foreach(const_cast<json_t *>(value), key, member)
                FUZZ_CHECK(is_mask(member), "a value of secret object " + spec.key + " is shown");
        } else {
            FUZZ_CHECK(is_mask(value), "secret setting " + spec.key + " is shown");
        }
    }
}

void make_requests(const catalog::DestinationType &type, const json_t *settings) {
    const std::vector<std::string> secrets = secret_values(type, settings);
    for (const catalog::SettingSpec &spec : type.settings)
        (void)catalog::effective_setting(type, settings, spec.key);
    // The actions of a type share its request block: the first one will do.
    {
        const destinations::RequestBuilder builder(type, fuzz::bound(type.actions.front()), settings);
        const std::vector<destinations::OutgoingRecord> records = {
            {"1", R"({"id":"1","userId":"u1","email":"a@b.c"})", "m1"},
            {"2/x", R"({"id":2,"anonymousId":"a2","phone":"+1"})", "m2"},
        };
        for (const destinations::PlannedRequest &planned : builder.plan(records)) {
            const http::HttpRequest shown = builder.masked(planned.request);
            FUZZ_CHECK(is_json_text(planned.request.body), "request body is not JSON");
            for (const std::string &secret : secrets) {
                if (secret.size() < 4 || secret.find('*') != std::string::npos)
                    continue;
                FUZZ_CHECK(shown.url.find(secret) == std::string::npos, "a masked URL shows a secret");
                for (const auto &[name, value] : shown.headers)
                    FUZZ_CHECK(value.find(secret) == std::string::npos, "a masked header shows a secret: " + name);
                FUZZ_CHECK(builder.secrets().mask(shown.url) == shown.url, "masking twice changes the URL");
            }
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = fuzz::text_of(data, size);
    JsonPtr settings;
    try {
        settings = parse_json(text, "settings");
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "parse_json");
        return 0;
    }
    for (const catalog::DestinationType &type : fuzz::destination_types()) {
        check_masked(type, settings.get());
        if (validates(type, settings.get()))
            make_requests(type, settings.get());
        // alter_destination: the input as a patch over working settings.
        const JsonPtr current = parse_json(fuzz::valid_settings(type.type), "settings");
        try {
            const JsonPtr merged = catalog::merge_settings(current.get(), settings.get());
            if (validates(type, merged.get()))
                make_requests(type, merged.get());
        } catch (const Error &problem) {
            fuzz::expect_user_error(problem, "merge_settings");
        }
    }
    return 0;
}
