// The single place C++ code pulls in PostgreSQL's C headers. Only files under
// src/pg/ include this: everything else talks to PostgreSQL through the
// header-free interfaces declared next to it.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
}

// PostgreSQL's headers define these as macros; they collide with the C++ library.
#undef snprintf
#undef vsnprintf
#undef printf
#undef sprintf
#undef fprintf
#undef vfprintf
