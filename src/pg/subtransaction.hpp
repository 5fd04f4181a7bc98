// Running one unit of work in a subtransaction of the current transaction, so
// that its failure rolls back that unit only, as a PL/pgSQL exception block
// does: the launcher schedules each mapping this way, so one mapping whose
// stored schedule cannot be evaluated does not stop the others.
#pragma once

#include <functional>
#include <optional>

#include "common/error.hpp"

namespace reverse_etl::pg {

// Runs `body` in a subtransaction and releases it. When `body` throws an
// Error (its own, or a PostgreSQL error turned into one by pg_guard), the
// subtransaction is rolled back and the error returned, except for errors
// that are not the unit's own (cancel and shutdown, class 57; lack of
// resources, 53; deadlock and serialization failures, 40; system errors,
// 58): they are thrown on after the rollback, to end what the caller does.
// Any other exception is thrown on after the rollback too.
std::optional<Error> run_in_subtransaction(const std::function<void()> &body);

}  // namespace reverse_etl::pg
