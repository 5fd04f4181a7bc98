#include "pg/error_crossing.hpp"

#include <new>
#include <string>

#include "pg/extension_version.hpp"

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
            set_internal("out of memory while reporting an error", sqlstate::kOutOfMemory);
        }
    }

    // An exception that is not an Error: its what() (a std::exception) or a
    // fixed text, as an internal error unless told otherwise.
    void set_internal(const char *text, const char *state = sqlstate::kInternalError) noexcept {
        try {
            sqlstate = state;
            message = text;
            detail.clear();
            hint.clear();
        } catch (...) {
            // A long what() did not fit: say so with a short literal (which
            // needs no allocation once the buffer has room for it), or else
            // report whatever the buffers hold.
            try {
                message = "out of memory while reporting an error";
            } catch (...) {
            }
        }
    }
};

PendingError pending;

uint64_t errors_caught = 0;

int sqlstate_code(const std::string &state) {
    if (state.size() != 5)
        return ERRCODE_INTERNAL_ERROR;
    return MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4]);
}

}  // namespace

ErrorData *call_guarded(void (*call)(void *), void *context) {
    const MemoryContext memory_context = CurrentMemoryContext;
    const uint32 interrupt_holdoff = InterruptHoldoffCount;
    const uint32 query_cancel_holdoff = QueryCancelHoldoffCount;
    ErrorData *volatile error = nullptr;
    PG_TRY();
    {
        call(context);
    }
    PG_CATCH();
    {
        // errfinish zeroed the holdoff counts for the handler; the code
        // around the guard is still inside whatever holdoff it entered.
        InterruptHoldoffCount = interrupt_holdoff;
        QueryCancelHoldoffCount = query_cancel_holdoff;
        // CopyErrorData refuses to run in ErrorContext, where a longjmp can leave us.
        MemoryContextSwitchTo(memory_context);
        error = CopyErrorData();
        FlushErrorState();
        errors_caught++;
    }
    PG_END_TRY();
    return error;
}

void throw_postgres_error(ErrorData *data) {
    const char *code = unpack_sql_state(data->sqlerrcode);
    Error error(code, data->message ? data->message : "unknown error", data->detail ? data->detail : "",
                data->hint ? data->hint : "");
    FreeErrorData(data);
    throw error;
}

uint64_t postgres_errors_caught() { return errors_caught; }

void fail_restore(const char *what, ErrorData *error) noexcept {
    ereport(FATAL, (errcode(error->sqlerrcode), errmsg("could not restore %s", what),
                    errdetail_internal("%s", error->message ? error->message : "unknown error")));
    pg_unreachable();
}

void keep_current_exception() noexcept {
    try {
        throw;
    } catch (const Error &error) {
        pending.set(error);
    } catch (const std::bad_alloc &) {
        pending.set_internal("out of memory", sqlstate::kOutOfMemory);
    } catch (const std::exception &exception) {
        pending.set_internal(exception.what());
    } catch (...) {
        pending.set_internal("unexpected C++ exception");
    }
}

void report_kept_error(int elevel, const char *prefix) {
    ereport(elevel, (errcode(sqlstate_code(pending.sqlstate)),
                     errmsg_internal("%s%s", prefix, pending.message.c_str()),
                     pending.detail.empty() ? 0 : errdetail_internal("%s", pending.detail.c_str()),
                     pending.hint.empty() ? 0 : errhint("%s", pending.hint.c_str())));
}

void raise_kept_error() {
    report_kept_error(ERROR);
    pg_unreachable();
}

Datum call_cpp_body(FunctionCallInfo fcinfo, Datum (*body)(FunctionCallInfo), VersionCheck check) {
    // A query cancel or termination request arriving while C++ code runs is
    // honoured here, outside any C++ frame.
    CHECK_FOR_INTERRUPTS();
    Datum result = 0;
    if (run_catching([&] {
            if (check == VersionCheck::Required)
                require_installed_version();
            result = body(fcinfo);
        }))
        return result;
    // Raised with no C++ object alive in this frame or any caller inside the shim.
    raise_kept_error();
}

}  // namespace reverse_etl::pg
