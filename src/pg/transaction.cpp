#include "pg/transaction.hpp"

#include "pg/error_crossing.hpp"

extern "C" {
#include "access/xact.h"
#include "utils/snapmgr.h"
}

namespace reverse_etl::pg {

namespace {

void start(Isolation isolation) {
    pg_guard([&] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        // Before the first snapshot, as SET TRANSACTION ISOLATION LEVEL must be.
        if (isolation == Isolation::RepeatableRead)
            XactIsoLevel = XACT_REPEATABLE_READ;
        PushActiveSnapshot(GetTransactionSnapshot());
        if (SPI_connect() != SPI_OK_CONNECT)
            elog(ERROR, "SPI_connect failed");
    });
}

void commit() {
    pg_guard([] {
        SPI_finish();
        PopActiveSnapshot();
        CommitTransactionCommand();
    });
}

}  // namespace

void run_in_transaction(const std::function<void()> &body, Isolation isolation) {
    start(isolation);
    try {
        body();
        commit();
    } catch (...) {
        // The error (C++ or a guarded PostgreSQL one) was already copied into
        // the exception; abort cleans up SPI, snapshots, locks and user id.
        AbortCurrentTransaction();
        throw;
    }
}

bool cancel_requested() { return QueryCancelPending; }
bool termination_requested() { return ProcDiePending; }

void clear_cancel_request() {
    QueryCancelPending = false;
}

InterruptHoldoff::InterruptHoldoff() { HOLD_INTERRUPTS(); }
InterruptHoldoff::~InterruptHoldoff() { RESUME_INTERRUPTS(); }

}  // namespace reverse_etl::pg
