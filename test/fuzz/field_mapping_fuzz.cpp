// Field specs: a mapping's `fields` text as create_mapping and alter_mapping
// read it (catalog/field_mapping: parse and validate against every action of
// every destination type and a model with a column of each type), then what a
// sync does with an accepted one: the payload builder over sample rows
// (engine/payload_builder) and the request builder over the payloads
// (destinations/request_builder).
#include <string>
#include <vector>

#include "catalog/field_mapping.hpp"
#include "common/json.hpp"
#include "common/json_text.hpp"
#include "destinations/request_builder.hpp"
#include "engine/payload_builder.hpp"
#include "fuzz_support.hpp"

using namespace reverse_etl;

namespace {

std::vector<destinations::OutgoingRecord> payloads(const engine::PayloadBuilder &builder) {
    std::vector<destinations::OutgoingRecord> records;
    const engine::RunContext context{"fuzz mapping", 7, "2026-01-05T10:00:00Z"};
    for (size_t index = 0; index < fuzz::sample_rows().size(); ++index) {
        const fuzz::Row &row = fuzz::sample_rows()[index];
        const std::string record_id = "rid/" + std::to_string(index);
        engine::RecordValues values;
        values.record_id = record_id;
        values.change = "updated";
        for (const std::optional<std::string> &value : row)
            values.json_values.push_back(value ? std::optional<std::string_view>(*value) : std::nullopt);
        const engine::BuiltPayload built = builder.build(values, context);
        FUZZ_CHECK(built.valid != built.json.empty(), "a payload is valid exactly when it has JSON");
        FUZZ_CHECK(built.valid == built.invalid_reason.empty(), "an invalid payload says why");
        if (!built.valid)
            continue;
        const std::optional<JsonValue> parsed = try_parse_json_text(built.json);
        FUZZ_CHECK(parsed && parsed->kind() == JsonKind::Object, "payload is not a JSON object: " + built.json);
        records.push_back({record_id, built.json, "message-" + record_id});
    }
    return records;
}

void send(const catalog::DestinationType &type, const catalog::ActionDef &action,
          std::vector<destinations::OutgoingRecord> records) {
    // A row_index action's records carry their row (engine/sheet_rows) as their id.
    if (action.row_index)
        for (size_t i = 0; i < records.size(); i++)
            records[i].object_id = std::to_string(i + 2);
    const JsonPtr settings = parse_json(fuzz::valid_settings(type.type), "settings");
    const destinations::RequestBuilder builder(type, action, settings.get());
    std::vector<destinations::InvalidRecord> invalid;
    const std::vector<destinations::PlannedRequest> requests = builder.plan(records, &invalid);
    size_t planned = invalid.size();
    for (const destinations::PlannedRequest &request : requests) {
        planned += request.records.size();
        FUZZ_CHECK(is_json_text(request.request.body), "request body is not JSON: " + request.request.body);
        (void)builder.masked(request.request);
        // Splitting a rejected batch rebuilds requests from any subset.
        const destinations::PlannedRequest again = builder.build(records, request.records);
        FUZZ_CHECK(again.request.body == request.request.body, "build and plan disagree");
    }
    FUZZ_CHECK(planned == records.size(), "plan lost or duplicated records");
}

void try_action(const std::string &text, const JsonPtr &fields, const JsonValue &written,
                const catalog::DestinationType &type, const catalog::ActionDef &action) {
    std::vector<std::string> columns;
    try {
        columns = catalog::validate_field_mapping(fields.get(), action, fuzz::model_columns(), &written);
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "validate_field_mapping");
        return;
    }
    FUZZ_CHECK(catalog::referenced_columns(fields.get()) == columns,
               "referenced_columns differs from what validation returned");
    (void)catalog::parse_field_mapping(fields.get());
    // Accepted fields must make payloads: anything thrown now would fail syncs.
    const engine::PayloadBuilder builder(text, action, fuzz::model_columns());
    send(type, action, payloads(builder));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text = fuzz::text_of(data, size);
    JsonPtr fields;
    try {
        fields = parse_json_shape(text, "fields");
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "parse_json_shape");
        return 0;
    }
    const JsonValue written = parse_json_text(text);
    // Fields arrive as jsonb, which has no NUL characters (jansson's object keys stop at one).
    if (fuzz::holds_nul(written))
        return 0;
    try {
        (void)catalog::parse_field_mapping(fields.get());
    } catch (const Error &problem) {
        fuzz::expect_user_error(problem, "parse_field_mapping");
        return 0;
    }
    for (const catalog::DestinationType &type : fuzz::destination_types())
        for (const catalog::ActionDef &action : type.actions)
            try_action(text, fields, written, type, fuzz::bound(action));
    return 0;
}
