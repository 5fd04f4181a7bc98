#include "catalog/definition_reader.hpp"

#include <algorithm>
#include <climits>

#include "common/version.hpp"
#include "http/http_text.hpp"

namespace reverse_etl::catalog::definition {

bool contains(const std::vector<std::string> &list, const std::string &value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

std::string join_names(const std::vector<std::string> &names) {
    std::string joined;
    for (const std::string &name : names)
        joined += (joined.empty() ? "" : ", ") + name;
    return joined;
}

// Type names and keys users type in SQL: lower-case snake_case only.
bool is_snake_case(const std::string &text) {
    if (text.empty() || text[0] < 'a' || text[0] > 'z')
        return false;
    return std::all_of(text.begin(), text.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

const Node &require_present(const Node &node) {
    node.expect(node.present(), "is missing");
    return node;
}

std::string read_string(const Node &node) {
    require_present(node).expect(json_is_string(node.value()), "must be a string");
    return std::string(json_string_value(node.value()), json_string_length(node.value()));
}

std::string read_text(const Node &node) {
    std::string text = read_string(node);
    node.expect(!text.empty(), "must not be empty");
    return text;
}

std::string read_snake_case(const Node &node) {
    std::string text = read_string(node);
    node.expect(is_snake_case(text), "\"" + text + "\" must be lower-case snake_case");
    return text;
}

bool read_bool(const Node &node, bool fallback) {
    if (!node.present())
        return fallback;
    node.expect(json_is_boolean(node.value()), "must be true or false");
    return json_is_true(node.value());
}

long long read_integer(const Node &node) {
    require_present(node).expect(json_is_integer(node.value()), "must be an integer");
    return json_integer_value(node.value());
}

int read_positive_int(const Node &node) {
    const long long value = read_integer(node);
    node.expect(value >= 1 && value <= INT_MAX,
                "must be between 1 and " + std::to_string(INT_MAX));
    return static_cast<int>(value);
}

int read_optional_positive_int(const Node &node) {
    return node.present() ? read_positive_int(node) : 0;  // 0: no limit
}

void require_array(const Node &node) {
    require_present(node).expect(json_is_array(node.value()), "must be an array");
}

// A list of distinct non-empty strings.
std::vector<std::string> read_name_list(const Node &node) {
    require_array(node);
    std::vector<std::string> names;
    for (size_t i = 0; i < json_array_size(node.value()); ++i) {
        const Node item = node.element(i);
        std::string name = read_text(item);
        item.expect(!contains(names, name), "repeats \"" + name + "\"");
        names.push_back(std::move(name));
    }
    return names;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool same_header_name(const std::string &a, const std::string &b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

// Typos in a shipped definition would otherwise be silently ignored.
void expect_only_keys(const Node &node, const std::vector<std::string> &known) {
    const char *key;
    const json_t *member;
    json_object_foreach(const_cast<json_t *>(node.value()), key, member) {
        node.expect(contains(known, key),
                    "has unknown key \"" + std::string(key) + "\" (" + join_names(known) + ")");
    }
}

const SettingSpec &read_setting_reference(const Node &node, const DestinationType &type,
                                          SettingType expected) {
    const std::string key = read_string(node);
    const SettingSpec *spec = type.find_setting(key);
    node.expect(spec != nullptr, "names unknown setting \"" + key + "\"");
    node.expect(spec->type == expected, "names setting \"" + key + "\", which is not of type " +
                                            setting_type_name(expected));
    return *spec;
}

void check_placeholder(const Node &node, const DestinationType &type, const RequestTemplatePart &part,
                       unsigned allowed) {
    using Kind = RequestTemplatePart::Kind;
    const auto allow = [&](unsigned flag, const std::string &placeholder) {
        node.expect((allowed & flag) != 0, "uses " + placeholder + ", which is not allowed here");
    };
    switch (part.kind) {
    case Kind::Text: return;
    case Kind::RecordId: allow(kRecordId, "{{record_id}}"); return;
    case Kind::MessageId: allow(kMessageId, "{{message_id}}"); return;
    case Kind::MessageUuid: allow(kMessageId, "{{message_uuid}}"); return;
    case Kind::ObjectId: allow(kObjectId, "{{object_id}}"); return;
    case Kind::Field: allow(kFields, "{{fields." + part.text + "}}"); return;
    case Kind::Key: allow(kFields, "{{key}}"); return;
    // A name, like an action setting's value; whether the action has a key
    // field is checked once the action is read.
    case Kind::KeyField: allow(kSettings, "{{key_field}}"); return;
    // Wherever a plain setting may go: action settings are never secret. Whether
    // the action declares it is checked once the action is read (the type's
    // request block is read before any action).
    case Kind::ActionSetting: allow(kSettings, "{{action_settings." + part.text + "}}"); return;
    case Kind::Setting: break;
    }
    allow(kSettings, "{{settings." + part.text + "}}");
    const SettingSpec *spec = type.find_setting(part.text);
    node.expect(spec != nullptr, "names unknown setting \"" + part.text + "\"");
    node.expect(spec->type == SettingType::String || spec->type == SettingType::Integer,
                "uses setting \"" + part.text + "\", which is not a string or integer setting");
    node.expect(!spec->secret || (allowed & kSecretSettings) != 0,
                "uses secret setting \"" + part.text + "\", which is not allowed here");
}


std::string with_version(std::string text) {
    const std::string placeholder = kVersionPlaceholder;
    const std::string version = kExtensionVersion;
    for (size_t pos = text.find(placeholder); pos != std::string::npos;
         pos = text.find(placeholder, pos + version.size()))
        text.replace(pos, placeholder.size(), version);
    return text;
}

RequestTemplate read_template(const Node &node, const DestinationType &type, unsigned allowed) {
    std::string problem;
    const std::string text = read_string(node);
    std::optional<RequestTemplate> parsed =
        parse_request_template((allowed & kVersion) != 0 ? with_version(text) : text, problem);
    node.expect(parsed.has_value(), problem);
    for (const RequestTemplatePart &part : parsed->parts) {
        node.expect(part.filter == RequestTemplatePart::Filter::None || (allowed & kFilters) != 0,
                    "uses a filter (|md5_lower), which only a URL may use");
        check_placeholder(node, type, part, allowed);
    }
    return std::move(*parsed);
}

std::string read_header_name(const Node &node) {
    std::string name = read_string(node);
    node.expect(http::is_token(name), "\"" + name + "\" is not an HTTP header name");
    return name;
}

JsonPath read_dotted_path(const Node &node, const std::string &text, const char *whole_step_placeholder) {
    JsonPath path;
    if (text.empty())
        return path;
    size_t start = 0;
    for (;;) {
        const size_t dot = text.find('.', start);
        path.push_back(text.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
        node.expect(!path.back().empty(), "\"" + text + "\" has an empty step");
        if (whole_step_placeholder)
            node.expect(path.back() == whole_step_placeholder || path.back().find("{{") == std::string::npos,
                        "\"" + text + "\" has a placeholder other than a whole step " + whole_step_placeholder);
        else
            node.expect(path.back().find("{{") == std::string::npos,
                        "\"" + text + "\" has a placeholder: a path's steps are names");
        if (dot == std::string::npos)
            return path;
        start = dot + 1;
    }
}

}  // namespace reverse_etl::catalog::definition
