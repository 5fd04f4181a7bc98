// Privilege checks on a prepared statement, done before anything runs or is
// planned.
#pragma once

struct _SPI_plan;  // SPIPlanPtr, without PostgreSQL headers in the caller

namespace reverse_etl::pg {

// Throws PostgreSQL's own 42501 error ("permission denied for table x",
// "permission denied for function f") unless the current user may read every
// relation the prepared statement names and execute every function and
// operator it calls, in every subquery, sublink and CTE. Relations are checked
// as the executor checks them (ExecCheckRTPerms: column privileges count; a
// view's tables as the view's owner), functions as the current user, as
// ExecInitFunc does. Checked on the analyzed, rewritten statement: the planner
// may fold away a subquery that cannot matter (false AND EXISTS (...)) or a
// strict function of a NULL, and then the executor's own checks never see them.
void check_statement_privileges(_SPI_plan *plan);

}  // namespace reverse_etl::pg
