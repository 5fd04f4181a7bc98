#include "pg/transaction.hpp"

#include <cerrno>
#include <csignal>

#include "pg/error_crossing.hpp"

extern "C" {
#include "access/xact.h"
#include "storage/ipc.h"
#include "storage/latch.h"
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
    try {
        // Inside the try: a start that fails half-way (SPI_connect after
        // StartTransactionCommand) leaves a transaction to abort too.
        start(isolation);
        body();
        commit();
    } catch (...) {
        // The error (C++ or a guarded PostgreSQL one) was already copied into
        // the exception; abort cleans up SPI, snapshots, locks and user id.
        // Guarded: should the abort itself fail, its error goes on instead.
        pg_guard([] { AbortCurrentTransaction(); });
        throw;
    }
}

namespace {

volatile sig_atomic_t termination_signalled = false;

// SIGTERM: as die() does, but a query cancel instead of ProcDiePending.
void handle_termination_signal(SIGNAL_ARGS) {
    const int saved_errno = errno;
    termination_signalled = true;
    // Don't joggle the elbow of proc_exit (as die() says).
    if (!proc_exit_inprogress) {
        InterruptPending = true;
        QueryCancelPending = true;
    }
    SetLatch(MyLatch);
    errno = saved_errno;
}

}  // namespace

void cancel_on_termination_signal() { pqsignal(SIGTERM, handle_termination_signal); }

bool cancel_requested() { return QueryCancelPending; }
bool termination_requested() { return ProcDiePending || termination_signalled; }

void clear_cancel_request() {
    QueryCancelPending = false;
}

InterruptHoldoff::InterruptHoldoff() { HOLD_INTERRUPTS(); }
InterruptHoldoff::~InterruptHoldoff() { RESUME_INTERRUPTS(); }

}  // namespace reverse_etl::pg
