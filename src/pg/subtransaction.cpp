#include "pg/subtransaction.hpp"

#include "pg/error_crossing.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/resowner.h"
}

namespace reverse_etl::pg {

namespace {

// Errors that say something about the whole transaction or the server, not
// about the work the subtransaction did.
bool concerns_more_than_the_unit(const std::string &sqlstate) {
    const std::string error_class = sqlstate.substr(0, 2);
    return error_class == "57" || error_class == "53" || error_class == "40" || error_class == "58";
}

// Ends the subtransaction and returns to the caller's memory context and
// resource owner, which BeginInternalSubTransaction had switched away from.
void end_subtransaction(bool commit, MemoryContext caller_context, ResourceOwner caller_owner) {
    pg_guard([&] {
        if (commit)
            ReleaseCurrentSubTransaction();
        else
            RollbackAndReleaseCurrentSubTransaction();
    });
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
}

}  // namespace

std::optional<Error> run_in_subtransaction(const std::function<void()> &body) {
    const MemoryContext caller_context = CurrentMemoryContext;
    const ResourceOwner caller_owner = CurrentResourceOwner;
    pg_guard([] { BeginInternalSubTransaction(nullptr); });
    // Allocations of `body` outlive the subtransaction, as PL/pgSQL keeps them.
    MemoryContextSwitchTo(caller_context);
    try {
        body();
    } catch (const Error &error) {
        end_subtransaction(false, caller_context, caller_owner);
        if (concerns_more_than_the_unit(error.sqlstate()))
            throw;
        return error;
    } catch (...) {
        end_subtransaction(false, caller_context, caller_owner);
        throw;
    }
    end_subtransaction(true, caller_context, caller_owner);
    return std::nullopt;
}

}  // namespace reverse_etl::pg
