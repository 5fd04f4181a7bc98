// Crossing errors between PostgreSQL (ereport + longjmp) and C++ (exceptions).
//
// C -> C++: every SQL-callable function is an extern "C" shim made with
// REVERSE_ETL_FUNCTION; its body is C++ and may throw. The shim catches
// everything and re-raises it with ereport only after every C++ object of the
// body has been destroyed, keeping SQLSTATE, detail and hint. Other C entry
// points (background worker mains) do the same with run_catching() and
// report_kept_error(): no exception, std::bad_alloc included, may reach a C
// frame, where it would end in std::terminate, an abort, and a restart of
// every session of the server.
//
// C++ -> PostgreSQL: PostgreSQL calls that can ereport go through pg_guard(),
// which catches the longjmp with PG_TRY, copies the error and throws it as a
// reverse_etl::Error after the PG_TRY block has been left. The callable given
// to pg_guard must not own objects with destructors: a longjmp would skip them.
// It may throw a C++ exception: pg_guard catches it inside the PG_TRY block
// and rethrows it after PG_END_TRY, so PostgreSQL's exception stack never
// points into a frame the exception has left.
//
// After a guarded PostgreSQL error the transaction is in an error state: the
// exception must travel up to the shim, which re-raises it and so aborts the
// (sub)transaction. Code that wants to carry on after a PostgreSQL error must
// run the guarded part in a subtransaction.
#pragma once

#include <cstdint>
#include <exception>
#include <type_traits>

#include "common/error.hpp"
#include "pg/postgres_headers.hpp"

namespace reverse_etl::pg {

// Runs call(context) inside PG_TRY. When PostgreSQL raises an error there,
// returns a copy of it (allocated in the memory context current at the call)
// and puts back what the error changed: the memory context, and the
// interrupt holdoff counts, which errfinish sets to zero before it longjmps
// (the code around the guard may be inside HOLD_INTERRUPTS, and its
// RESUME_INTERRUPTS would then fail an assertion, or wrap the count around
// and hold off interrupts for the rest of the session). Returns nullptr when
// no error was raised. `call` must not throw.
ErrorData *call_guarded(void (*call)(void *), void *context);

// The copied error as a C++ Error (frees the copy).
[[noreturn]] void throw_postgres_error(ErrorData *data);

// How many PostgreSQL errors pg_guard has caught in this process. A scope
// that saw this change knows its transaction is failing and must abort.
uint64_t postgres_errors_caught();

// Calls fn, storing its result in *out or, should it throw, the exception in
// *thrown: no exception may unwind through call_guarded's PG_TRY, which
// would leave PostgreSQL's exception stack pointing into a dead frame.
template <typename Fn, typename Out>
void call_keeping_exception(Fn &fn, Out *out, std::exception_ptr *thrown) noexcept {
    try {
        if constexpr (std::is_void_v<decltype(fn())>)
            fn();
        else
            *out = fn();
    } catch (...) {
        *thrown = std::current_exception();
    }
}

template <typename Fn>
auto pg_guard(Fn &&fn) -> decltype(fn()) {
    using Result = decltype(fn());
    constexpr bool kVoid = std::is_void_v<Result>;
    // Result must be trivially destructible (Datum, pointers, scalars): it is
    // assigned inside PG_TRY, where a longjmp may occur.
    static_assert(kVoid || std::is_trivially_destructible_v<Result>,
                  "pg_guard callables must return trivially destructible values");
    using Out = std::conditional_t<kVoid, char, Result>;
    struct Context {
        std::remove_reference_t<Fn> *fn;
        Out *out;
        std::exception_ptr *thrown;
    };
    Out result{};
    std::exception_ptr thrown;
    Context context{&fn, &result, &thrown};
    ErrorData *const postgres_error = call_guarded(
        [](void *data) {
            Context *const c = static_cast<Context *>(data);
            call_keeping_exception(*c->fn, c->out, c->thrown);
        },
        &context);
    if (thrown)
        std::rethrow_exception(thrown);
    if (postgres_error != nullptr)
        throw_postgres_error(postgres_error);
    if constexpr (!kVoid)
        return result;
}

// For code that must not throw and must not fail, destructors above all:
// runs `fn` (PostgreSQL calls that put state back: the user id, settings, an
// SPI connection; `fn` itself must not throw). PostgreSQL does not raise
// errors there; if it ever did, the state would be unknown and carrying on
// (as another role, perhaps) not safe, so the session ends with FATAL "could
// not restore <what>": one session, never a crash of the server. Never
// longjmps out, never throws.
[[noreturn]] void fail_restore(const char *what, ErrorData *error) noexcept;

template <typename Fn>
void restore_or_exit(const char *what, Fn &&fn) noexcept {
    ErrorData *const error = call_guarded(
        [](void *data) { (*static_cast<std::remove_reference_t<Fn> *>(data))(); }, &fn);
    if (error != nullptr)
        fail_restore(what, error);
}

// Keeps the exception being handled for report_kept_error (call it inside a
// catch block). Never throws.
void keep_current_exception() noexcept;

// Runs fn, catching everything: true when it returned, false when it threw
// (the exception then kept). For C entry points: the caller reports the kept
// error after every C++ object of the body is gone.
template <typename Fn>
bool run_catching(Fn &&fn) noexcept {
    try {
        fn();
        return true;
    } catch (...) {
        keep_current_exception();
        return false;
    }
}

// ereport of the kept exception at `elevel`, its message after `prefix`.
// Call with no C++ object alive between here and the C entry point: at ERROR
// it longjmps (and does not return).
void report_kept_error(int elevel, const char *prefix = "");
pg_attribute_noreturn() void raise_kept_error();

enum class VersionCheck { Required, Skipped };

// Runs a C++ body for an SQL-callable function; never lets an exception out.
// With VersionCheck::Required the body runs only when the installed
// extension is the library's version (pg/extension_version.hpp).
Datum call_cpp_body(FunctionCallInfo fcinfo, Datum (*body)(FunctionCallInfo), VersionCheck check);

}  // namespace reverse_etl::pg

#define REVERSE_ETL_DEFINE_FUNCTION(name, check)                                \
    static Datum name##_body(FunctionCallInfo fcinfo);                          \
    extern "C" {                                                                \
    PG_FUNCTION_INFO_V1(name);                                                  \
    Datum name(PG_FUNCTION_ARGS) {                                              \
        return reverse_etl::pg::call_cpp_body(fcinfo, name##_body, check);      \
    }                                                                           \
    }                                                                           \
    static Datum name##_body(FunctionCallInfo fcinfo)

// Declares the SQL-callable C symbol `name` whose C++ body is `name##_body`.
#define REVERSE_ETL_FUNCTION(name) REVERSE_ETL_DEFINE_FUNCTION(name, reverse_etl::pg::VersionCheck::Required)

// The same for a function the views call: reading the catalog stays possible
// while the library and the installed extension differ in version.
#define REVERSE_ETL_VIEW_FUNCTION(name) REVERSE_ETL_DEFINE_FUNCTION(name, reverse_etl::pg::VersionCheck::Skipped)
