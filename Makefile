# reverse_etl: PGXS build. C++17 sources under src/, one shared library.
EXTENSION   = reverse_etl
# The version is written once, in the control file; the code gets it as a define
# (Segment events name it in context.library).
EXTVERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(EXTENSION).control)
MODULE_big  = reverse_etl

SOURCES     = $(sort $(wildcard src/*/*.cpp))
OBJS        = $(SOURCES:.cpp=.o)

# The scripts are generated: hand-written SQL followed by the statements that
# load the destination definitions (src/destinations/*.json), so adding a
# destination type that fits the common shapes needs only a JSON file. The
# install script of the current version is src/sql/*.sql in name order; each
# upgrade script reverse_etl--A--B.sql is src/upgrade/reverse_etl--A--B.sql
# (docs/releasing.md).
SQL_PARTS   = $(sort $(wildcard src/sql/*.sql))
DEST_DEFS   = $(sort $(wildcard src/destinations/*.json))
UPGRADES    = $(notdir $(sort $(wildcard src/upgrade/$(EXTENSION)--*--*.sql)))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql $(UPGRADES)

PG_CONFIG  ?= pg_config

PG_CPPFLAGS = -Isrc -I$(shell $(PG_CONFIG) --includedir-server) -I$(shell $(PG_CONFIG) --includedir) -DREVERSE_ETL_VERSION='"$(EXTVERSION)"'
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
              -Wno-register -fno-omit-frame-pointer
SHLIB_LINK  = -lpq -lcurl -ljansson -lcrypto -lstdc++

# PGXS would try to emit LLVM bitcode for every object with clang; we do not
# ship JIT bitcode, and clang is not a build dependency.
override with_llvm = no

# pg_regress suites: test/run_tests.sh drives them on a temporary instance.
REGRESS      = $(shell sed -n 's/^test: *//p' test/schedule 2>/dev/null)
REGRESS_OPTS = --schedule=test/schedule --temp-config=test/regress.conf

EXTRA_CLEAN = $(DATA_built)

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(OBJS): $(wildcard src/*/*.hpp)
# Built with the version from the control file (REVERSE_ETL_VERSION).
$(OBJS): $(EXTENSION).control

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS) $(DEST_DEFS) scripts/build_install_sql.sh
	sh scripts/build_install_sql.sh $(SQL_PARTS) -- $(DEST_DEFS) > $@.tmp && mv $@.tmp $@

$(UPGRADES): $(EXTENSION)--%.sql: src/upgrade/$(EXTENSION)--%.sql $(DEST_DEFS) scripts/build_install_sql.sh
	sh scripts/build_install_sql.sh $< -- $(DEST_DEFS) > $@.tmp && mv $@.tmp $@
