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
