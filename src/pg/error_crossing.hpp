// Crossing errors between PostgreSQL (ereport + longjmp) and C++ (exceptions).
//
// C -> C++: every SQL-callable function is an extern "C" shim made with
// REVERSE_ETL_FUNCTION; its body is C++ and may throw. The shim catches
// everything and re-raises it with ereport only after every C++ object of the
// body has been destroyed, keeping SQLSTATE, detail and hint.
//
// C++ -> PostgreSQL: PostgreSQL calls that can ereport go through pg_guard(),
// which catches the longjmp with PG_TRY, copies the error and throws it as a
// reverse_etl::Error after the PG_TRY block has been left. The callable given
// to pg_guard must not own objects with destructors: a longjmp would skip them.
//
// After a guarded PostgreSQL error the transaction is in an error state: the
// exception must travel up to the shim, which re-raises it and so aborts the
// (sub)transaction. Code that wants to carry on after a PostgreSQL error must
// run the guarded part in a subtransaction.
#pragma once

#include <type_traits>

#include "common/error.hpp"
#include "pg/postgres_headers.hpp"

namespace reverse_etl::pg {

// Turns the error PostgreSQL just raised (inside PG_CATCH) into a C++ Error.
// Restores `memory_context`, copies the error data and flushes the error state.
Error capture_postgres_error(MemoryContext memory_context);

template <typename Fn>
auto pg_guard(Fn &&fn) -> decltype(fn()) {
    using Result = decltype(fn());
    const MemoryContext memory_context = CurrentMemoryContext;
    bool failed = false;
    Error error("", "");
    if constexpr (std::is_void_v<Result>) {
        PG_TRY();
        {
            fn();
        }
        PG_CATCH();
        {
            error = capture_postgres_error(memory_context);
            failed = true;
        }
        PG_END_TRY();
        if (failed)
            throw error;
    } else {
        // Result must be trivially destructible (Datum, pointers, scalars):
        // it is assigned inside PG_TRY, where a longjmp may occur.
        static_assert(std::is_trivially_destructible_v<Result>,
                      "pg_guard callables must return trivially destructible values");
        Result result{};
        PG_TRY();
        {
            result = fn();
        }
        PG_CATCH();
        {
            error = capture_postgres_error(memory_context);
            failed = true;
        }
        PG_END_TRY();
        if (failed)
            throw error;
        return result;
    }
}

// Runs a C++ body for an SQL-callable function; never lets an exception out.
Datum call_cpp_body(FunctionCallInfo fcinfo, Datum (*body)(FunctionCallInfo));

}  // namespace reverse_etl::pg

// Declares the SQL-callable C symbol `name` whose C++ body is `name##_body`.
#define REVERSE_ETL_FUNCTION(name)                                              \
    static Datum name##_body(FunctionCallInfo fcinfo);                          \
    extern "C" {                                                                \
    PG_FUNCTION_INFO_V1(name);                                                  \
    Datum name(PG_FUNCTION_ARGS) {                                              \
        return reverse_etl::pg::call_cpp_body(fcinfo, name##_body);             \
    }                                                                           \
    }                                                                           \
    static Datum name##_body(FunctionCallInfo fcinfo)
