// Test-only SQL functions for the C++/PostgreSQL error crossing
// (src/pg/error_crossing.hpp), which no SQL of the extension can reach on
// purpose: a C++ exception thrown inside pg_guard, a guarded error inside
// HOLD_INTERRUPTS, an SPI connection or a role scope left by an exception, a
// restore that fails, a Retry-After header. Their symbols, reverse_etl_test_*,
// are in the library but not in the extension's script: they are not part of
// its SQL API. Only the test suite declares them (CREATE FUNCTION ... LANGUAGE
// C, which takes a superuser, who could run any C function anyway): see
// sql/error_crossing.sql and test/t/012_restore_failure.pl.
#include <chrono>
#include <new>
#include <stdexcept>
#include <string>

#include "http/retry_policy.hpp"
#include "pg/args.hpp"
#include "pg/error_crossing.hpp"
#include "pg/role_scope.hpp"
#include "pg/spi.hpp"
#include "pg/transaction.hpp"

using namespace reverse_etl;

namespace {

[[noreturn]] void throw_kind(const std::string &kind) {
    if (kind == "runtime_error")
        throw std::runtime_error("injected std::runtime_error");
    if (kind == "bad_alloc")
        throw std::bad_alloc();
    if (kind == "error")
        throw Error(sqlstate::kInvalidParameterValue, "injected reverse_etl::Error", "Its detail.", "Its hint.");
    if (kind == "int")
        throw 42;
    if (kind == "postgres")
        pg::pg_guard([] { elog(ERROR, "injected PostgreSQL error"); });
    throw Error(sqlstate::kInvalidParameterValue, "unknown kind \"" + kind + "\"");
}

std::string describe_caught() {
    try {
        throw;
    } catch (const Error &error) {
        return "reverse_etl::Error " + error.sqlstate() + ": " + error.message();
    } catch (const std::bad_alloc &) {
        return "std::bad_alloc";
    } catch (const std::exception &exception) {
        return std::string("std::exception: ") + exception.what();
    } catch (...) {
        return "an exception of another type";
    }
}

std::string yes_no(bool value) { return value ? "yes" : "NO"; }

}  // namespace

// pg_guard around a body that throws `kind` (runtime_error, bad_alloc, error,
// int) or raises a PostgreSQL error (postgres). With escape => false the
// exception is caught here and the function says whether PostgreSQL's
// exception and error context stacks are what they were before the guard;
// with escape => true it goes on to the shim, which raises it as an ERROR.
REVERSE_ETL_FUNCTION(reverse_etl_test_guard_throw) {
    const std::string kind = pg::required_text(fcinfo, 0, "kind");
    const bool escape = pg::required_bool(fcinfo, 1, "escape");
    sigjmp_buf *const exception_stack = PG_exception_stack;
    ErrorContextCallback *const context_stack = error_context_stack;
    const auto guarded = [&] { pg::pg_guard([&] { throw_kind(kind); }); };
    if (escape)
        guarded();
    std::string caught;
    try {
        guarded();
    } catch (...) {
        caught = describe_caught();
    }
    return pg::text_datum("caught " + caught + "; exception stack restored: " +
                          yes_no(PG_exception_stack == exception_stack) +
                          "; error context stack restored: " + yes_no(error_context_stack == context_stack));
}

// A guarded PostgreSQL error inside InterruptHoldoff (as record_end does):
// the holdoff counts, relative to the function's start, while held, after
// the error, and after the scope. The error is one this function raised
// itself, touching no state, so the transaction may go on after it.
REVERSE_ETL_FUNCTION(reverse_etl_test_holdoff_after_error) {
    const uint32 base = InterruptHoldoffCount;
    const uint32 cancel_base = QueryCancelHoldoffCount;
    int64 held = 0, after_error = 0, cancel_after_error = 0;
    {
        const pg::InterruptHoldoff hold;
        held = static_cast<int64>(InterruptHoldoffCount) - base;
        try {
            pg::pg_guard([] { elog(ERROR, "injected PostgreSQL error"); });
        } catch (const Error &) {
        }
        after_error = static_cast<int64>(InterruptHoldoffCount) - base;
        cancel_after_error = static_cast<int64>(QueryCancelHoldoffCount) - cancel_base;
    }
    const int64 after_scope = static_cast<int64>(InterruptHoldoffCount) - base;
    return pg::text_datum("held: +" + std::to_string(held) + ", after the guarded error: +" +
                          std::to_string(after_error) + " (query cancel holdoff +" +
                          std::to_string(cancel_after_error) + "), after the scope: " + std::to_string(after_scope));
}

// An SPI connection whose scope a C++ exception leaves, caught by the caller:
// how many SPI connections are still open afterwards (each one finished here
// to count it).
REVERSE_ETL_FUNCTION(reverse_etl_test_spi_after_cpp_error) {
    std::string caught;
    try {
        const pg::SpiConnection spi;
        pg::execute("SELECT 1");
        throw Error(sqlstate::kInternalError, "injected C++ error");
    } catch (const Error &error) {
        caught = error.message();
    }
    // SPI_finish reports a missing connection by its result, not an error.
    int left_open = 0;
    while (SPI_finish() == SPI_OK_FINISH)
        left_open++;
    return pg::text_datum("caught " + caught + "; SPI connections left open: " + std::to_string(left_open));
}

// A role scope whose constructor fails after switching the user (the
// search_path it sets is refused): whether user, security context, read-only
// flag and search_path are back as they were. The error is the setting's
// check, which touches no state, so the transaction may go on after it.
REVERSE_ETL_FUNCTION(reverse_etl_test_role_scope_failure) {
    const unsigned int role = pg::role_oid_by_name(pg::required_text(fcinfo, 0, "role"));
    Oid user_before = InvalidOid;
    int context_before = 0;
    GetUserIdAndSecContext(&user_before, &context_before);
    const bool read_only_before = XactReadOnly;
    const std::string path_before = pg::pg_guard([] { return GetConfigOption("search_path", false, false); });
    std::string caught;
    try {
        const pg::RoleScope scope(role, "\"unterminated", pg::RoleScope::Restriction::None);
        caught = "nothing";
    } catch (const Error &error) {
        caught = error.sqlstate() + ": " + error.message();
    }
    Oid user_after = InvalidOid;
    int context_after = 0;
    GetUserIdAndSecContext(&user_after, &context_after);
    const std::string path_after = pg::pg_guard([] { return GetConfigOption("search_path", false, false); });
    return pg::text_datum("caught " + caught + "; user restored: " + yes_no(user_after == user_before) +
                          "; security context restored: " + yes_no(context_after == context_before) +
                          "; read-only restored: " + yes_no(XactReadOnly == read_only_before) +
                          "; search_path restored: " + yes_no(path_after == path_before));
}

// restore_or_exit with a restore that raises an error: the session ends
// (FATAL), the server does not.
REVERSE_ETL_FUNCTION(reverse_etl_test_failed_restore) {
    pg::restore_or_exit("the test's state", [] { elog(ERROR, "injected failure to restore"); });
    PG_RETURN_VOID();
}

// The delay a response with this Retry-After header asks for, in
// milliseconds, as the HTTP client reads it (at most 10 minutes); NULL when
// the header cannot be read (the client then backs off on its own).
REVERSE_ETL_FUNCTION(reverse_etl_test_retry_after_ms) {
    http::HttpResponse response;
    response.status = 429;
    response.headers.emplace_back("Retry-After", pg::required_text(fcinfo, 0, "value"));
    const http::BackoffSettings settings;
    const auto delay = http::retry_after_ms(response, std::chrono::system_clock::now(), settings.max_retry_after_ms);
    if (!delay)
        PG_RETURN_NULL();
    PG_RETURN_INT64(*delay);
}
