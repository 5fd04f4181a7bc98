// Column values: what PostgreSQL's to_json() rendered for each column of a
// row, which the payload builder copies, parses where a spec looks inside it
// (paths, templates, select_object/select_array, customize arrays) and
// converts to field types (engine/payload_builder, catalog/field_conversion);
// then the request builder puts the payloads into requests. The values are the
// users' data: JSON and text columns hold anything.
//
// Input: the values of the model's columns (fuzz_support.cpp) in order,
// separated by the byte 0x1E; an empty or missing value is NULL. The mappings
// are fixed and use every spec form.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "catalog/settings.hpp"
#include "common/json.hpp"
#include "common/json_text.hpp"
#include "destinations/request_builder.hpp"
#include "engine/payload_builder.hpp"
#include "fuzz_support.hpp"
#include "http/http_types.hpp"

using namespace reverse_etl;

namespace {

struct Mapping {
    const char *type;
    const char *action;
    const char *fields;
    const char *settings;   // nullptr: fuzz::valid_settings
};

const Mapping kMappings[] = {
    {"webhook", "send", R"({
        "id": "id",
        "email": {"column": "email", "sync_nulls": false},
        "company": {"column": "traits", "path": "company"},
        "city": {"column": "traits", "path": "address.city"},
        "first_x": {"column": "data", "path": "x.0"},
        "source": {"value": "postgres"},
        "number": {"value": 1.50},
        "greeting": {"template": "Hi {{first_name}} {{ last_name }} of {{traits.company}} / {{data.x.1.y}}"},
        "profile": {"object": {"plan": "plan", "mrr": {"column": "mrr"}, "deep": {"object": {"t": "tags"}}}},
        "all_traits": {"select_object": "traits"},
        "from_text": {"select_object": "payload"},
        "lines": {"array": "items", "items": {"product": {"prop": "sku"}, "quantity": "qty",
                  "fixed": {"value": 1}, "nested": {"prop": "a.b", "sync_nulls": true}}},
        "raw_items": {"select_array": "items"},
        "tags": {"select_array": "tags"},
        "change": {"meta": "change"},
        "synced": {"meta": "synced_at"},
        "rid": {"meta": "record_id"},
        "run": {"meta": "run_id"},
        "mapping": {"meta": "mapping"}
    })", nullptr},
    {"webhook", "send", R"({"id": "id", "email": "email", "plan": "plan"})",
     R"({"url": "https://h.example.com/u/{{fields.id}}/{{fields.email}}?p={{fields.plan}}&r={{record_id}}"})"},
    // Element templates: merged objects, epoch milliseconds, message UUIDs.
    {"mixpanel", "import_events", R"({"event": "plan", "distinct_id": "email", "time": "signed_up_at",
                                      "properties": "traits"})", nullptr},
    {"amplitude", "log_event", R"({"event_type": "plan", "user_id": "email", "time": "signed_up_at",
                                   "event_properties": "traits", "revenue": "mrr"})", nullptr},
    // An element rendered from copies (destinations/element_copy_plan),
    // its payloads leaving out nulls: layouts vary from row to row.
    {"amplitude", "identify_user", R"({"user_id": "email", "name": "first_name", "plan": "plan",
                                       "traits": "traits", "mrr": "mrr", "tags": "tags"})", nullptr},
    {"braze", "track_purchase", R"({"external_id": "email", "product_id": "plan", "currency": {"value": "USD"},
                                    "price": "mrr", "time": "signed_up_at"})", nullptr},
    {"fuzz_all_types", "upsert_all", R"({
        "id": "order_id", "amount": "mrr", "count": "count", "active": "consent_marketing",
        "seen_at": "signed_up_at", "traits": "traits",
        "address": {"object": {"street": "first_name", "city": {"column": "traits", "path": "address.city"}, "zip": "phone"}},
        "tags": "tags", "anything": "data", "email": "email", "phone": "phone"
    })", nullptr},
    {"fuzz_all_types", "upsert_all", R"({
        "id": {"template": "{{payload}}-{{id}}"}, "amount": "plan", "count": "total", "active": "phone",
        "seen_at": "local_at", "traits": "payload", "tags": "payload", "anything": "ratio",
        "email": {"column": "traits", "path": "email"}, "phone": "last_name"
    })", nullptr},
    {"fuzz_all_types", "upsert_all", R"({
        "id": "email", "count": "ratio", "seen_at": "birthday", "amount": "raw",
        "traits": {"select_object": "data"}, "tags": {"select_array": "data"},
        "active": {"column": "data", "path": "flag"}, "phone": {"meta": "run_id"}
    })", nullptr},
    {"segment", "identify", R"({"userId": "id", "anonymousId": "email",
        "traits": {"object": {"email": "email", "plan": "plan"}}, "timestamp": "signed_up_at"})", nullptr},
    {"segment", "track", R"({"event": {"template": "Bought {{plan}}"}, "userId": "user_id",
        "properties": "traits", "timestamp": "ordered_at"})", nullptr},
};

struct Compiled {
    const catalog::DestinationType *type;
    const catalog::ActionDef *action;
    std::unique_ptr<engine::PayloadBuilder> payloads;
    std::unique_ptr<destinations::RequestBuilder> requests;
};

const std::vector<Compiled> &compiled() {
    static const std::vector<Compiled> all = [] {
        std::vector<Compiled> list;
        for (const Mapping &mapping : kMappings) {
            const catalog::DestinationType &type = fuzz::destination_type(mapping.type);
            const catalog::ActionDef *action = type.find_action(mapping.action);
            FUZZ_CHECK(action != nullptr, mapping.action);
            const JsonPtr fields = parse_json_shape(mapping.fields, "fields");
            const JsonValue written = parse_json_text(mapping.fields);
            (void)catalog::validate_field_mapping(fields.get(), *action, fuzz::model_columns(), &written);
            const JsonPtr settings =
                parse_json(mapping.settings ? mapping.settings : fuzz::valid_settings(type.type), "settings");
            catalog::validate_settings(type, settings.get(), fuzz::read_interval);
            list.push_back({&type, action,
                            std::make_unique<engine::PayloadBuilder>(mapping.fields, *action, fuzz::model_columns()),
                            std::make_unique<destinations::RequestBuilder>(type, *action, settings.get())});
        }
        return list;
    }();
    return all;
}

// Whether to_json() could have written these values: JSON for the types whose
// text is kept as it is (json, jsonb, arrays: any spacing), and for the others
// one scalar token exactly as PostgreSQL escapes it (no spaces around it).
bool renderable(const fuzz::Row &row) {
    for (size_t column = 0; column < row.size(); ++column) {
        if (!row[column])
            continue;
        const std::string &value = *row[column];
        const std::string &type = fuzz::model_columns()[column].type;
        if (type == "json" || type == "jsonb" || type == "text[]") {
            if (!is_json_text(value))
                return false;
            continue;
        }
        const std::optional<JsonValue> token = try_parse_json_text(value);
        if (!token || token->kind() == JsonKind::Object || token->kind() == JsonKind::Array ||
            to_json_text(*token) != value)
            return false;
    }
    return true;
}

void build_and_send(const Compiled &mapping, const fuzz::Row &row) {
    engine::RecordValues values{"r/1", "added", {}};
    for (const std::optional<std::string> &value : row)
        values.json_values.push_back(value ? std::optional<std::string_view>(*value) : std::nullopt);
    const engine::BuiltPayload built = mapping.payloads->build(values, {"fuzz", 1, "2026-01-05T10:00:00Z"});
    if (!built.valid)
        return;
    // Only values PostgreSQL could have rendered promise a JSON payload, and
    // only such payloads reach the request builder.
    if (!renderable(row))
        return;
    FUZZ_CHECK(is_json_text(built.json), "payload is not JSON: " + built.json);
    // Three copies, to fill a batch (or three requests).
    std::vector<destinations::OutgoingRecord> records;
    for (const char *id : {"r/1", "r 2", "r\"3"})
        records.push_back({id, built.json, std::string("m-") + id});
    // The element from the payload's member spans (a plan of copies, or
    // the walk with member views) is the element from a scan of the payload.
    const engine::BuiltPayload spanned = mapping.payloads->build(values, {"fuzz", 1, "2026-01-05T10:00:00Z"}, true);
    FUZZ_CHECK(spanned.json == built.json, "a payload built with its members differs");
    const destinations::ElementResult scanned = mapping.requests->element(records.front());
    const destinations::ElementResult from_spans =
        mapping.requests->element({"r/1", built.json, "m-r/1", "", spanned.members});
    FUZZ_CHECK(scanned.valid == from_spans.valid && scanned.element == from_spans.element &&
                   scanned.invalid_reason == from_spans.invalid_reason,
               "the element from member spans differs: " + from_spans.element + " against " + scanned.element);
    std::vector<destinations::InvalidRecord> invalid;
    for (const destinations::PlannedRequest &request : mapping.requests->plan(records, &invalid)) {
        const std::string *content_type = http::find_header(request.request.headers, "Content-Type");
        if (content_type == nullptr || content_type->rfind("application/json", 0) == 0)   // not a form
            FUZZ_CHECK(is_json_text(request.request.body), "request body is not JSON");
        (void)mapping.requests->masked(request.request);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const size_t columns = fuzz::model_columns().size();
    fuzz::Row row;
    for (std::string &value : fuzz::split(fuzz::text_of(data, size), '\x1e')) {
        if (row.size() == columns)
            break;
        row.push_back(value.empty() ? std::nullopt : std::optional<std::string>(std::move(value)));
    }
    row.resize(columns);
    for (const Compiled &mapping : compiled())
        build_and_send(mapping, row);
    return 0;
}
