// Reading destination type definitions (src/destinations/<type>.json): a
// position-aware view of the JSON (every complaint names the offending key)
// and the readers the definition's parts share. Definitions ship with the
// extension, so every complaint is a bug in this project: XX000.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <jansson.h>

#include "catalog/destination_type.hpp"
#include "common/error.hpp"

namespace reverse_etl::catalog::definition {

bool contains(const std::vector<std::string> &list, const std::string &value);

std::string join_names(const std::vector<std::string> &names);

// Type names and keys users type in SQL: lower-case snake_case only.
bool is_snake_case(const std::string &text);

// A value inside the definition together with where it sits, so every complaint
// points at the offending key (e.g. "actions[1].fields[0].type"). Definitions ship
// with the extension: a bad one is a bug in this project, hence XX000.
class Node {
  public:
    Node(const json_t *value, std::string path, const std::string &type_name)
        : value_(value), path_(std::move(path)), type_name_(type_name) {}

    const json_t *value() const { return value_; }
    bool present() const { return value_ != nullptr; }
    const std::string &path() const { return path_; }

    Node member(const char *key) const {
        const json_t *child = json_is_object(value_) ? json_object_get(value_, key) : nullptr;
        return Node(child, path_.empty() ? key : path_ + "." + key, type_name_);
    }
    Node element(size_t index) const {
        return Node(json_array_get(value_, index), path_ + "[" + std::to_string(index) + "]",
                    type_name_);
    }

    // `predicate` completes a sentence whose subject is this node's path.
    [[noreturn]] void fail(const std::string &predicate) const {
        const std::string subject = path_.empty() ? "the definition" : path_;
        const std::string what = type_name_.empty()
                                     ? "invalid destination type definition"
                                     : "invalid definition of destination type \"" +
                                           type_name_ + "\"";
        throw Error(sqlstate::kInternalError, what + ": " + subject + " " + predicate);
    }

    void expect(bool condition, const std::string &predicate) const {
        if (!condition)
            fail(predicate);
    }

  private:
    const json_t *value_;
    std::string path_;
    const std::string &type_name_;  // the definition's "type" once read, else empty
};

const Node &require_present(const Node &node);

std::string read_string(const Node &node);

// `text` as a dotted path into an answer (a.b.c); complaints name `node`. A
// step may be `whole_step_placeholder` (e.g. {{key_field}}) when one is
// given; no other step may hold a placeholder.
JsonPath read_dotted_path(const Node &node, const std::string &text, const char *whole_step_placeholder = nullptr);

std::string read_text(const Node &node);

std::string read_snake_case(const Node &node);

bool read_bool(const Node &node, bool fallback);

long long read_integer(const Node &node);

int read_positive_int(const Node &node);

int read_optional_positive_int(const Node &node);

void require_array(const Node &node);

// A list of distinct non-empty strings.
std::vector<std::string> read_name_list(const Node &node);

template <typename Enum, size_t N>
Enum read_enum(const Node &node, const Enum (&values)[N], const char *(*name_of)(Enum),
               const char *what) {
    const std::string name = read_string(node);
    std::vector<std::string> known;
    for (const Enum value : values) {
        if (name == name_of(value))
            return value;
        known.emplace_back(name_of(value));
    }
    node.fail("\"" + name + "\" is not a " + what + " (" + join_names(known) + ")");
}

// Which placeholders a template may use depends on where it sits.
// Which placeholders a template may use depends on where it sits.
enum Allowed : unsigned {
    kSettings = 1u << 0,
    kSecretSettings = 1u << 1,   // not in bodies: request bodies are shown unmasked
    kRecordId = 1u << 2,
    kFields = 1u << 3,           // URL only: it forces one record per request
    kMessageId = 1u << 4,
    kVersion = 1u << 5,          // {{extension_version}}, replaced as the definition is read
    kObjectId = 1u << 6,         // elements only: a record's own id at the destination
    kFilters = 1u << 7,          // URL only: {{fields.NAME|md5_lower}}, {{key|md5_lower}}
};

char ascii_lower(char c);

bool same_header_name(const std::string &a, const std::string &b);

// Typos in a shipped definition would otherwise be silently ignored.
void expect_only_keys(const Node &node, const std::vector<std::string> &known);

const SettingSpec &read_setting_reference(const Node &node, const DestinationType &type,
                                          SettingType expected);

void check_placeholder(const Node &node, const DestinationType &type, const RequestTemplatePart &part,
                       unsigned allowed);

// Record extras may name the extension's version (Segment's context.library),
// a constant, so it is substituted as the definition is read.
inline constexpr const char *kVersionPlaceholder = "{{extension_version}}";

std::string with_version(std::string text);

RequestTemplate read_template(const Node &node, const DestinationType &type, unsigned allowed);

std::string read_header_name(const Node &node);

// Either the value itself or {"setting": KEY, "default": VALUE}.
template <typename T, typename ReadValue>
Configurable<T> read_configurable(const Node &node, const DestinationType &type,
                                  SettingType setting_type, ReadValue read_value) {
    Configurable<T> result;
    if (!json_is_object(node.value())) {
        result.fallback = read_value(node);
        return result;
    }
    expect_only_keys(node, {"setting", "default"});
    result.setting = read_setting_reference(node.member("setting"), type, setting_type).key;
    const Node fallback = node.member("default");
    if (fallback.present())
        result.fallback = read_value(fallback);
    return result;
}

}  // namespace reverse_etl::catalog::definition
