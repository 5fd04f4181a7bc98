// Builds each record's JSON payload from a mapping's `fields` (SPEC section 4,
// "Field mapping"). The spec tree is compiled once per run; building a record
// then mostly copies PostgreSQL's to_json() text of each column verbatim, and
// parses a value only where a spec looks inside it (a path, a template path,
// select_object/select_array over text, a customize array). A declared field's
// value is then converted to the field's type in place (catalog/field_conversion:
// a bigint to a string field goes out as "1"). Pure C++.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/destination_type.hpp"
#include "catalog/field_mapping.hpp"
#include "common/json_object_view.hpp"

namespace reverse_etl::engine {

namespace detail {
struct CompiledMapping;   // the compiled spec tree; defined in payload_builder.cpp
}

// What PostgreSQL gives the builder for one record: for each model column, in
// the model's column order, the column's value rendered by PostgreSQL's to_json()
// (NULL -> nullopt). bytea columns arrive already base64-encoded as a JSON string.
// Views, so that delivery builds payloads straight from the rows it fetched:
// what they view must outlive build().
struct RecordValues {
    std::string_view record_id;
    std::string_view change;   // "added" | "updated" | "deleted"
    std::vector<std::optional<std::string_view>> json_values;
};

struct RunContext {
    std::string mapping_name;
    std::int64_t run_id = 0;
    std::string synced_at;   // ISO 8601
};

struct BuiltPayload {
    bool valid = false;
    std::string json;             // the record's object, compact; empty when invalid
    std::string invalid_reason;   // why the record cannot be sent; empty when valid
    std::vector<JsonMemberSpan> members;   // where each member of `json` lies, when asked
};

class PayloadBuilder {
  public:
    // `fields_text` is the JSON text of the mapping's (validated) fields object;
    // static values ({"value": ...}) are sent as that text writes them, numbers
    // digit for digit. Throws Error 22P02 if the text is not JSON, 22023 if the
    // object is malformed and 42703 if it names a column that is not in `columns`.
    PayloadBuilder(const std::string &fields_text, const catalog::ActionDef &action,
                   const std::vector<Column> &columns);
    ~PayloadBuilder();
    PayloadBuilder(PayloadBuilder &&) noexcept;
    PayloadBuilder &operator=(PayloadBuilder &&) noexcept;
    PayloadBuilder(const PayloadBuilder &) = delete;
    PayloadBuilder &operator=(const PayloadBuilder &) = delete;

    // A record that cannot be built is returned invalid with the reason; only a
    // caller bug (a record with the wrong number of values) throws (Error XX000).
    // With `record_members`, BuiltPayload::members says where each member
    // went (else it stays empty: most destinations never look); it is
    // written into `members_storage`, whose capacity a caller building many
    // records passes back from one to the next.
    BuiltPayload build(const RecordValues &record, const RunContext &context, bool record_members = false,
                       std::vector<JsonMemberSpan> members_storage = {}) const;

    // The keys a payload's members can have, in the order they are written
    // (a member whose value is null may be left out): the mapping's fields.
    std::vector<std::string> member_keys() const;

  private:
    std::unique_ptr<const detail::CompiledMapping> plan_;
};

}  // namespace reverse_etl::engine
