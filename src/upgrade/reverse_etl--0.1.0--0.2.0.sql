-- reverse_etl 0.1.0 -> 0.2.0
--
-- 0.2.0 changes no SQL object and no stored state: the library refuses to run
-- syncs while the installed extension's version is not its own, and this
-- script is what moves that version. The build appends the refresh of the
-- built-in destination types (scripts/build_install_sql.sh).

\echo Use "ALTER EXTENSION reverse_etl UPDATE" to load this file. \quit
