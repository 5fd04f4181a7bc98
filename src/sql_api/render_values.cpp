// reverse_etl_state.render_values(VARIADIC "any"): the JSON text of every
// value a sync sends, computed once per record on every sync.
//
// The fields are exactly what pg_catalog.to_json(value)::text gives, joined by
// the byte 0x1F (valid JSON text never contains it raw); a NULL gives an empty
// field. to_json(anyelement) works out how to render its argument's type on
// every call (a domain lookup, an output function lookup, for some types a
// cast lookup), builds its text in a fresh buffer and copies it into a fresh
// text datum; at a million records of a dozen columns that is most of the
// cost of rendering them. Here the same decisions are made once per call site
// and cached in fn_extra, and every field is appended to one buffer.
//
// The common built-in types are rendered the way PostgreSQL 15's
// datum_to_json (utils/adt/json.c) renders them: the category comes from the
// base type of a domain, exactly as json_categorize_type decides it, and each
// category is written with the same functions json.c uses (output function,
// IsValidJsonNumber, escape_json, JsonEncodeDateTime, JsonbToCString).
// Everything json.c renders by recursion or by catalog lookups (arrays,
// composites, and every type created after initdb, which may have a cast to
// json: enums, extension types) is handed to the real to_json, called through
// fmgr with an expression that tells it the argument's type, so that the text
// is the same for every type.
//
// Written as plain C against PostgreSQL: no C++ object lives in these frames,
// so an error raised by detoasting, an output function or to_json may longjmp
// through them safely, and the hot path pays for no error crossing.
#include "pg/postgres_headers.hpp"

extern "C" {
#include "access/transam.h"
#include "common/jsonapi.h"
#include "nodes/makefuncs.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/json.h"
#include "utils/jsonb.h"
}

namespace {

// json_categorize_type's categories, split where a faster way to write the
// same text exists.
enum class Rendering : char {
    Bool,         // true / false
    Int2,         // the output function's digits, always a JSON number
    Int4,
    Int8,
    Number,       // float4, float8, numeric: bare if a JSON number (not NaN, Infinity)
    Date,         // JsonEncodeDateTime, quoted
    Timestamp,
    TimestampTz,
    Json,         // the text as stored
    Jsonb,        // its output
    String,       // any other built-in type: its output, escaped as a JSON string
    ToJson,       // everything else: pg_catalog.to_json itself
};

struct ArgumentRenderInfo {
    Rendering rendering;
    FmgrInfo function;  // output function (Number, String) or to_json (ToJson)
};

struct RenderValuesCache {
    int count;
    ArgumentRenderInfo arguments[FLEXIBLE_ARRAY_MEMBER];
};

constexpr char kFieldSeparator = '\x1f';

// How json_categorize_type (PostgreSQL 15) classifies a type, reduced to what
// is rendered here and what is left to to_json. Like it, this takes the base
// type of a domain: a domain is rendered as its base type (a cast from the
// domain to json is never used; one from its base type is).
Rendering rendering_of(Oid base_type) {
    switch (base_type) {
    case BOOLOID:
        return Rendering::Bool;
    case INT2OID:
        return Rendering::Int2;
    case INT4OID:
        return Rendering::Int4;
    case INT8OID:
        return Rendering::Int8;
    case FLOAT4OID:
    case FLOAT8OID:
    case NUMERICOID:
        return Rendering::Number;
    case DATEOID:
        return Rendering::Date;
    case TIMESTAMPOID:
        return Rendering::Timestamp;
    case TIMESTAMPTZOID:
        return Rendering::TimestampTz;
    case JSONOID:
        return Rendering::Json;
    case JSONBOID:
        return Rendering::Jsonb;
    default:
        break;
    }
    // Arrays and composites (including record) are rendered element by
    // element, each by its own category.
    if (OidIsValid(get_element_type(base_type)) || base_type == ANYARRAYOID || base_type == ANYCOMPATIBLEARRAYOID ||
        base_type == RECORDARRAYOID || type_is_rowtype(base_type))
        return Rendering::ToJson;
    // json.c looks for a cast to json only for types created after initdb;
    // a built-in type is always its output, escaped.
    if (base_type >= FirstNormalObjectId)
        return Rendering::ToJson;
    return Rendering::String;
}

// to_json finds its argument's type in its call expression; this one stands
// for a call to_json(<value of this type>).
void prepare_to_json(FmgrInfo *to_json, Oid type, MemoryContext context) {
    fmgr_info_cxt(F_TO_JSON, to_json, context);
    const MemoryContext previous = MemoryContextSwitchTo(context);
    Const *argument = makeNullConst(type, -1, InvalidOid);
    to_json->fn_expr = reinterpret_cast<Node *>(
        makeFuncExpr(F_TO_JSON, JSONOID, lappend(NIL, argument), InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL));
    MemoryContextSwitchTo(previous);
}

RenderValuesCache *build_cache(FunctionCallInfo fcinfo, int count) {
    const MemoryContext context = fcinfo->flinfo->fn_mcxt;
    auto *cache = static_cast<RenderValuesCache *>(MemoryContextAllocZero(
        context, offsetof(RenderValuesCache, arguments) + sizeof(ArgumentRenderInfo) * static_cast<size_t>(count)));
    cache->count = count;
    for (int i = 0; i < count; i++) {
        ArgumentRenderInfo &info = cache->arguments[i];
        const Oid type = get_fn_expr_argtype(fcinfo->flinfo, i);
        if (!OidIsValid(type))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("could not determine the type of argument %d of render_values", i + 1)));
        const Oid base_type = getBaseType(type);
        info.rendering = rendering_of(base_type);
        if (info.rendering == Rendering::Number || info.rendering == Rendering::String) {
            Oid output_function;
            bool is_varlena;
            getTypeOutputInfo(base_type, &output_function, &is_varlena);
            fmgr_info_cxt(output_function, &info.function, context);
        } else if (info.rendering == Rendering::ToJson) {
            prepare_to_json(&info.function, type, context);
        }
    }
    return cache;
}

void append_quoted_datetime(StringInfo out, Datum value, Oid type) {
    char text[MAXDATELEN + 1];
    JsonEncodeDateTime(text, value, type, NULL);
    appendStringInfoChar(out, '"');
    appendStringInfoString(out, text);
    appendStringInfoChar(out, '"');
}

void append_json(StringInfo out, ArgumentRenderInfo &info, Datum value) {
    switch (info.rendering) {
    case Rendering::Bool:
        if (DatumGetBool(value))
            appendBinaryStringInfo(out, "true", 4);
        else
            appendBinaryStringInfo(out, "false", 5);
        break;
    case Rendering::Int2:
        // What int2out, int4out and int8out write, straight into the buffer
        // (enlargeStringInfo leaves room for the terminator they add too).
        enlargeStringInfo(out, 6);
        out->len += pg_itoa(DatumGetInt16(value), out->data + out->len);
        break;
    case Rendering::Int4:
        enlargeStringInfo(out, 11);
        out->len += pg_ltoa(DatumGetInt32(value), out->data + out->len);
        break;
    case Rendering::Int8:
        enlargeStringInfo(out, 20);
        out->len += pg_lltoa(DatumGetInt64(value), out->data + out->len);
        break;
    case Rendering::Number: {
        char *text = OutputFunctionCall(&info.function, value);
        if (IsValidJsonNumber(text, static_cast<int>(strlen(text))))
            appendStringInfoString(out, text);
        else
            escape_json(out, text);
        pfree(text);
        break;
    }
    case Rendering::Date:
        append_quoted_datetime(out, value, DATEOID);
        break;
    case Rendering::Timestamp:
        append_quoted_datetime(out, value, TIMESTAMPOID);
        break;
    case Rendering::TimestampTz:
        append_quoted_datetime(out, value, TIMESTAMPTZOID);
        break;
    case Rendering::Json: {
        // json_out is the stored text as it is.
        struct varlena *json = PG_DETOAST_DATUM_PACKED(value);
        appendBinaryStringInfo(out, VARDATA_ANY(json), static_cast<int>(VARSIZE_ANY_EXHDR(json)));
        if (json != reinterpret_cast<struct varlena *>(DatumGetPointer(value)))
            pfree(json);
        break;
    }
    case Rendering::Jsonb: {
        // jsonb_out is JsonbToCString into a new buffer; this one is as good.
        Jsonb *jsonb = DatumGetJsonbP(value);
        JsonbToCString(out, &jsonb->root, static_cast<int>(VARSIZE(jsonb)));
        if (jsonb != reinterpret_cast<Jsonb *>(DatumGetPointer(value)))
            pfree(jsonb);
        break;
    }
    case Rendering::String: {
        char *text = OutputFunctionCall(&info.function, value);
        escape_json(out, text);
        pfree(text);
        break;
    }
    case Rendering::ToJson: {
        text *json = DatumGetTextPP(FunctionCall1Coll(&info.function, InvalidOid, value));
        appendBinaryStringInfo(out, VARDATA_ANY(json), static_cast<int>(VARSIZE_ANY_EXHDR(json)));
        pfree(json);
        break;
    }
    }
}

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(reverse_etl_render_values);

Datum reverse_etl_render_values(PG_FUNCTION_ARGS) {
    if (get_fn_expr_variadic(fcinfo->flinfo))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("render_values takes its values as separate arguments, not as a VARIADIC array")));
    const int count = PG_NARGS();
    auto *cache = static_cast<RenderValuesCache *>(fcinfo->flinfo->fn_extra);
    if (cache == nullptr || cache->count != count) {
        cache = build_cache(fcinfo, count);
        fcinfo->flinfo->fn_extra = cache;
    }
    // The buffer starts with room for the text header, so that its data
    // becomes the result without a copy.
    StringInfoData out;
    initStringInfo(&out);
    out.len = VARHDRSZ;
    for (int i = 0; i < count; i++) {
        if (i > 0)
            appendStringInfoChar(&out, kFieldSeparator);
        if (!PG_ARGISNULL(i))
            append_json(&out, cache->arguments[i], PG_GETARG_DATUM(i));
    }
    SET_VARSIZE(out.data, out.len);
    PG_RETURN_TEXT_P(reinterpret_cast<text *>(out.data));
}

}  // extern "C"
