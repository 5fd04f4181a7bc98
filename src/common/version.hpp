// The extension's version: reverse_etl.control's default_version, which the
// Makefile passes as a define so that it is written in one place only.
#pragma once

#ifndef REVERSE_ETL_VERSION
#error "REVERSE_ETL_VERSION is not defined: build with the Makefile, which reads it from reverse_etl.control"
#endif

namespace reverse_etl {

inline constexpr const char *kExtensionVersion = REVERSE_ETL_VERSION;

}  // namespace reverse_etl
