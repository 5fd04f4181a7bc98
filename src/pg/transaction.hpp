// Transactions of their own, for code that runs in a background worker and
// commits as it goes. Never used from a SQL function: there the caller's
// transaction is the only one.
#pragma once

#include <functional>

namespace reverse_etl::pg {

enum class Isolation { ReadCommitted, RepeatableRead };

// Runs `body` in a new transaction with SPI connected and a snapshot pushed,
// and commits. If `body` throws, the transaction is aborted (which also undoes
// role switches and SPI) and the exception goes on. REPEATABLE READ gives
// every statement of `body` one snapshot: what one statement read, the next
// reads again unchanged, whatever other sessions commit meanwhile.
void run_in_transaction(const std::function<void()> &body, Isolation isolation = Isolation::ReadCommitted);

// Whether a cancel (SIGINT, cancel_sync) or termination (SIGTERM, shutdown)
// has been requested of this process.
bool cancel_requested();
bool termination_requested();

// Makes SIGTERM (a fast shutdown, pg_terminate_backend) a query cancel that
// termination_requested() remembers, for a process that must record how its
// work ended before it exits. PostgreSQL's own handler (die) makes the next
// CHECK_FOR_INTERRUPTS raise FATAL, which does not longjmp: it exits the
// process on the spot, so no C++ code learns of it and, in the middle of a
// query, the run's row would stay 'running'. A cancel is an ERROR that
// reaches the run as any other error; the run sees termination_requested(),
// records "interrupted by server shutdown", and the process then exits.
void cancel_on_termination_signal();
// Clears a handled cancel request so that the process can record the outcome.
void clear_cancel_request();

// Holds off cancel and termination while a run records how it ended: a fast
// shutdown still lets the worker write "interrupted" before it exits.
class InterruptHoldoff {
  public:
    InterruptHoldoff();
    ~InterruptHoldoff();
    InterruptHoldoff(const InterruptHoldoff &) = delete;
    InterruptHoldoff &operator=(const InterruptHoldoff &) = delete;
};

}  // namespace reverse_etl::pg
