#include "pg/args.hpp"

#include "pg/error_crossing.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
}

namespace reverse_etl::pg {

namespace {

[[noreturn]] void throw_null_argument(const char *arg_name) {
    throw Error(sqlstate::kNullValueNotAllowed, std::string(arg_name) + " must not be null");
}

}  // namespace

std::optional<std::string> optional_text(FunctionCallInfo fcinfo, int arg) {
    if (PG_ARGISNULL(arg))
        return std::nullopt;
    char *cstring = pg_guard([&] { return text_to_cstring(PG_GETARG_TEXT_PP(arg)); });
    std::string value(cstring);
    pfree(cstring);
    return value;
}

std::string required_text(FunctionCallInfo fcinfo, int arg, const char *arg_name) {
    auto value = optional_text(fcinfo, arg);
    if (!value)
        throw_null_argument(arg_name);
    return *value;
}

std::optional<bool> optional_bool(FunctionCallInfo fcinfo, int arg) {
    if (PG_ARGISNULL(arg))
        return std::nullopt;
    return PG_GETARG_BOOL(arg);
}

bool required_bool(FunctionCallInfo fcinfo, int arg, const char *arg_name) {
    const auto value = optional_bool(fcinfo, arg);
    if (!value)
        throw_null_argument(arg_name);
    return *value;
}

int required_int32(FunctionCallInfo fcinfo, int arg, const char *arg_name) {
    if (PG_ARGISNULL(arg))
        throw_null_argument(arg_name);
    return PG_GETARG_INT32(arg);
}

std::optional<std::string> optional_value_text(FunctionCallInfo fcinfo, int arg) {
    if (PG_ARGISNULL(arg))
        return std::nullopt;
    char *cstring = pg_guard([&] {
        Oid output_function = InvalidOid;
        bool is_varlena = false;
        getTypeOutputInfo(get_fn_expr_argtype(fcinfo->flinfo, arg), &output_function, &is_varlena);
        return OidOutputFunctionCall(output_function, PG_GETARG_DATUM(arg));
    });
    std::string value(cstring);
    pfree(cstring);
    return value;
}

unsigned int required_oid(FunctionCallInfo fcinfo, int arg, const char *arg_name) {
    if (PG_ARGISNULL(arg))
        throw_null_argument(arg_name);
    return PG_GETARG_OID(arg);
}

std::optional<std::string> optional_jsonb_text(FunctionCallInfo fcinfo, int arg) {
    if (PG_ARGISNULL(arg))
        return std::nullopt;
    char *cstring = pg_guard([&] {
        Jsonb *jsonb = PG_GETARG_JSONB_P(arg);
        return JsonbToCString(nullptr, &jsonb->root, VARSIZE(jsonb));
    });
    std::string value(cstring);
    pfree(cstring);
    return value;
}

std::string required_jsonb_text(FunctionCallInfo fcinfo, int arg, const char *arg_name) {
    auto value = optional_jsonb_text(fcinfo, arg);
    if (!value)
        throw_null_argument(arg_name);
    return *value;
}

std::optional<std::vector<std::optional<std::string>>> optional_text_array(FunctionCallInfo fcinfo, int arg) {
    if (PG_ARGISNULL(arg))
        return std::nullopt;
    struct Elements {
        Datum *values;
        bool *nulls;
        int count;
    };
    const Elements elements = pg_guard([&] {
        Elements result{nullptr, nullptr, 0};
        deconstruct_array(PG_GETARG_ARRAYTYPE_P(arg), TEXTOID, -1, false, TYPALIGN_INT, &result.values,
                          &result.nulls, &result.count);
        return result;
    });
    std::vector<std::optional<std::string>> items;
    for (int i = 0; i < elements.count; i++) {
        if (elements.nulls[i]) {
            items.emplace_back(std::nullopt);
            continue;
        }
        char *cstring = pg_guard([&] { return TextDatumGetCString(elements.values[i]); });
        items.emplace_back(std::string(cstring));
        pfree(cstring);
    }
    return items;
}

Datum text_datum(const std::string &value) {
    return pg_guard([&] { return PointerGetDatum(cstring_to_text_with_len(value.data(), value.size())); });
}

Datum jsonb_datum(const std::string &json_text) {
    return pg_guard([&] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(json_text.c_str())); });
}

}  // namespace reverse_etl::pg
