# Scopes put PostgreSQL state back in their destructors (role and
# search_path, pinned settings, SPI connection) through restore_or_exit
# (src/pg/error_crossing.hpp), which never lets a longjmp out of a
# destructor: should a restore ever raise an error, the session ends with
# FATAL "could not restore ...", and only that session: no process is
# terminated by a signal and the server does not restart its sessions. The
# failure is injected with a test-only C function (src/sql_api/boundary_selftest.cpp),
# which is in the library but not in the extension.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $node = new_node('restore_failure');
$node->safe_psql('postgres', q{
CREATE FUNCTION public.retl_test_failed_restore() RETURNS void
    LANGUAGE c AS '$libdir/reverse_etl', 'reverse_etl_test_failed_restore';
});

# A session that stays open throughout: a server restart would end it.
my $bystander = $node->background_psql('postgres');
my $bystander_pid = $bystander->query_safe('SELECT pg_backend_pid()');
my $launcher = launcher_pid($node);

my ($ret, $out, $err) = $node->psql('postgres', 'SELECT public.retl_test_failed_restore()');
isnt($ret, 0, 'the failing restore ends the statement');
like($err, qr/FATAL:  could not restore the test's state/, 'with FATAL "could not restore ..."');
like($err, qr/DETAIL:  injected failure to restore/, "and the error that got in the way as its detail");

is($bystander->query_safe('SELECT pg_backend_pid()'), $bystander_pid,
	'another session goes on: the server did not restart');
is(launcher_pid($node), $launcher, 'the launcher goes on');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'new sessions work');

$bystander->quit;
$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no process was terminated by a signal');
unlike($log, qr/terminating any other active server processes/, 'no crash recovery');
done_testing();
