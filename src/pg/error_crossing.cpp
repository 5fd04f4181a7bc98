#include "pg/error_crossing.hpp"

#include <string>

namespace reverse_etl::pg {

namespace {

// The error on its way from a caught C++ exception to ereport. It lives in
// static storage on purpose: ereport longjmps, so nothing on the shim's stack
// may need a destructor when it is called. errmsg() copies the text, so the
// buffers are free for reuse as soon as ereport has started.
struct PendingError {
    std::string sqlstate;
    std::string message;
    std::string detail;
    std::string hint;

    void set(const Error &error) noexcept {
        try {
            sqlstate = error.sqlstate().size() == 5 ? error.sqlstate() : sqlstate::kInternalError;
            message = error.message();
            detail = error.detail();
            hint = error.hint();
        } catch (...) {
            set_fallback("out of memory while reporting an error");
        }
    }

    void set_fallback(const char *text) noexcept {
        try {
            sqlstate = sqlstate::kInternalError;
            message = text;
            detail.clear();
            hint.clear();
        } catch (...) {
            // Assignment of a short literal into reserved storage cannot
            // reasonably fail; if it does, report whatever the buffers hold.
        }
    }
};

PendingError pending;

int sqlstate_code(const std::string &state) {
    return MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
}

// Raised with no C++ object alive in this frame or any caller inside the shim.
pg_attribute_noreturn() void raise_pending_error() {
    ereport(ERROR, (errcode(sqlstate_code(pending.sqlstate)),
                    errmsg_internal("%s", pending.message.c_str()),
                    pending.detail.empty() ? 0 : errdetail_internal("%s", pending.detail.c_str()),
                    pending.hint.empty() ? 0 : errhint("%s", pending.hint.c_str())));
    pg_unreachable();
}

}  // namespace

Error capture_postgres_error(MemoryContext memory_context) {
    // CopyErrorData refuses to run in ErrorContext, where a longjmp can leave us.
    MemoryContextSwitchTo(memory_context);
    ErrorData *data = CopyErrorData();
    FlushErrorState();
    const char *code = unpack_sql_state(data->sqlerrcode);
    Error error(code, data->message ? data->message : "unknown error",
                data->detail ? data->detail : "", data->hint ? data->hint : "");
    FreeErrorData(data);
    return error;
}

Datum call_cpp_body(FunctionCallInfo fcinfo, Datum (*body)(FunctionCallInfo)) {
    // A query cancel or termination request arriving while C++ code runs is
    // honoured here, outside any C++ frame.
    CHECK_FOR_INTERRUPTS();
    try {
        return body(fcinfo);
    } catch (const Error &error) {
        pending.set(error);
    } catch (const std::bad_alloc &) {
        pending.set_fallback("out of memory");
    } catch (const std::exception &exception) {
        pending.set(Error(sqlstate::kInternalError, exception.what()));
    } catch (...) {
        pending.set_fallback("unexpected C++ exception");
    }
    raise_pending_error();
}

}  // namespace reverse_etl::pg
