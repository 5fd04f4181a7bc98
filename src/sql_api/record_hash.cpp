// reverse_etl._record_hash(seed, VARIADIC "any"): the hash change detection
// compares with the checkpoint, computed once per record on every sync.
//
// Hashing the text form of a row (ROW(...)::text) costs as much as rendering
// the row: every numeric, timestamp and jsonb goes through its output
// function. For the common types the stored bytes already determine what the
// mapping sends (their output depends on nothing but the value and the
// formatting settings, which the engine pins), so those are hashed as they
// are. Other types (enums, reg* types, anything whose output reads the
// catalogs or is defined by an extension) are hashed by their text form, so
// that a change visible in the payload always changes the hash.
//
// Two different byte strings with the same text form (numeric 1.0 written
// differently cannot happen, but NaN payloads or an equal jsonb built another
// way might) only cost a resend, never a lost change.
//
// Written as plain C against PostgreSQL: no C++ object lives in these frames,
// so an error raised by detoasting or an output function may longjmp through
// them safely, and the hot path pays for no error crossing.
#include "pg/postgres_headers.hpp"

extern "C" {
#include "common/hashfn.h"
#include "utils/fmgroids.h"
}

namespace {

enum class HashMethod : char { Bytes, Text };

struct ArgumentHashInfo {
    Oid type;
    int16 length;
    bool by_value;
    HashMethod method;
    FmgrInfo output;  // for HashMethod::Text
};

struct RecordHashCache {
    int count;
    ArgumentHashInfo arguments[FLEXIBLE_ARRAY_MEMBER];
};

// Types whose stored bytes fix their text form.
bool bytes_determine_output(Oid base_type) {
    switch (base_type) {
    case BOOLOID:
    case INT2OID:
    case INT4OID:
    case INT8OID:
    case FLOAT4OID:
    case FLOAT8OID:
    case NUMERICOID:
    case TEXTOID:
    case VARCHAROID:
    case BPCHAROID:
    case NAMEOID:
    case CHAROID:
    case BYTEAOID:
    case JSONOID:
    case JSONBOID:
    case UUIDOID:
    case DATEOID:
    case TIMEOID:
    case TIMETZOID:
    case TIMESTAMPOID:
    case TIMESTAMPTZOID:
    case INTERVALOID:
    case INETOID:
    case CIDROID:
    case MACADDROID:
        return true;
    default:
        return false;
    }
}

bool hashable_as_bytes(Oid type) {
    const Oid base_type = getBaseType(type);
    if (bytes_determine_output(base_type))
        return true;
    // An array's bytes hold its element type's bytes, dimensions and nulls.
    const Oid element_type = get_element_type(base_type);
    return OidIsValid(element_type) && bytes_determine_output(getBaseType(element_type));
}

RecordHashCache *build_cache(FunctionCallInfo fcinfo, int count) {
    auto *cache = static_cast<RecordHashCache *>(
        MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, offsetof(RecordHashCache, arguments) +
                                                            sizeof(ArgumentHashInfo) * static_cast<size_t>(count)));
    cache->count = count;
    for (int i = 0; i < count; i++) {
        ArgumentHashInfo &info = cache->arguments[i];
        info.type = get_fn_expr_argtype(fcinfo->flinfo, i + 1);
        if (!OidIsValid(info.type))
            ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                            errmsg("could not determine the type of argument %d of record_hash", i + 2)));
        get_typlenbyval(info.type, &info.length, &info.by_value);
        info.method = hashable_as_bytes(info.type) ? HashMethod::Bytes : HashMethod::Text;
        if (info.method == HashMethod::Text) {
            Oid output_function;
            bool is_varlena;
            getTypeOutputInfo(info.type, &output_function, &is_varlena);
            fmgr_info_cxt(output_function, &info.output, fcinfo->flinfo->fn_mcxt);
        }
    }
    return cache;
}

uint64 hash_bytes_of(const ArgumentHashInfo &info, Datum value) {
    if (info.by_value) {
        // Widened to 64 bits so that the hash does not depend on the Datum's
        // unused bytes.
        const int64 widened = info.length == 8   ? DatumGetInt64(value)
                              : info.length == 4 ? DatumGetInt32(value)
                              : info.length == 2 ? DatumGetInt16(value)
                                                 : DatumGetChar(value);
        return hash_bytes_extended(reinterpret_cast<const unsigned char *>(&widened), sizeof(widened), 0);
    }
    if (info.length == -1) {
        // Compressed, out-of-line and short-header forms of one value hash alike.
        struct varlena *bytes = PG_DETOAST_DATUM_PACKED(value);
        const uint64 hash = hash_bytes_extended(reinterpret_cast<const unsigned char *>(VARDATA_ANY(bytes)),
                                                static_cast<int>(VARSIZE_ANY_EXHDR(bytes)), 0);
        if (bytes != reinterpret_cast<struct varlena *>(DatumGetPointer(value)))
            pfree(bytes);
        return hash;
    }
    if (info.length == -2) {
        const char *text = DatumGetCString(value);
        return hash_bytes_extended(reinterpret_cast<const unsigned char *>(text), static_cast<int>(strlen(text)), 0);
    }
    return hash_bytes_extended(reinterpret_cast<const unsigned char *>(DatumGetPointer(value)), info.length, 0);
}

uint64 hash_text_of(ArgumentHashInfo &info, Datum value) {
    char *text = OutputFunctionCall(&info.output, value);
    const uint64 hash =
        hash_bytes_extended(reinterpret_cast<const unsigned char *>(text), static_cast<int>(strlen(text)), 0);
    pfree(text);
    return hash;
}

// A NULL, an empty string and a missing column must all differ.
constexpr uint64 kNullHash = UINT64CONST(0x9e3779b97f4a7c15);

}  // namespace

extern "C" {

PG_FUNCTION_INFO_V1(reverse_etl_record_hash);

Datum reverse_etl_record_hash(PG_FUNCTION_ARGS) {
    if (PG_ARGISNULL(0))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("seed must not be null")));
    if (get_fn_expr_variadic(fcinfo->flinfo))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("record_hash takes its values as separate arguments, not as a VARIADIC array")));
    const int count = PG_NARGS() - 1;
    auto *cache = static_cast<RecordHashCache *>(fcinfo->flinfo->fn_extra);
    if (cache == nullptr || cache->count != count) {
        cache = build_cache(fcinfo, count);
        fcinfo->flinfo->fn_extra = cache;
    }
    uint64 hash = static_cast<uint64>(PG_GETARG_INT64(0));
    for (int i = 0; i < count; i++) {
        ArgumentHashInfo &info = cache->arguments[i];
        uint64 value_hash = kNullHash;
        if (!PG_ARGISNULL(i + 1))
            value_hash = info.method == HashMethod::Bytes ? hash_bytes_of(info, PG_GETARG_DATUM(i + 1))
                                                          : hash_text_of(info, PG_GETARG_DATUM(i + 1));
        hash = hash_combine64(hash, value_hash);
    }
    PG_RETURN_INT64(static_cast<int64>(hash));
}

}  // extern "C"
