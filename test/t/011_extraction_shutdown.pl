# Shutdown during extraction (SPEC 8): while runs are extracting (the model's
# query is running: it sleeps), a fast shutdown stops them promptly and each
# run records its own end before its worker exits: failed, "interrupted by
# server shutdown", as in the delivery phase (003_shutdown.pl). The row is
# finished by the worker itself, not left 'running' for the launcher to mark
# "interrupted by server restart" after the restart. One run was started by
# the launcher (request_sync), the other by a sync() call in a session.
# Then pg_terminate_backend of a worker in the same phase: the run is failed
# at once, without waiting for a restart.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use Time::HiRes qw(time);

my $mock = ReverseEtlTest::Mock->start(name => 'mock_011');
my $node = new_node('extraction_shutdown', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# The model sleeps 60 s before its one row: a run stays in extraction.
my $url = $mock->url('/never');
q1(qq{
CREATE TABLE public.one (id int PRIMARY KEY, v text);
INSERT INTO public.one VALUES (1, 'only row');
SELECT reverse_etl.create_model('slow', 'SELECT o.id, o.v FROM public.one o CROSS JOIN pg_catalog.pg_sleep(60) s',
                                'id');
SELECT reverse_etl.create_destination('never reached', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('slow', 'never reached', 'send', '{"id": "id"}', name => 'requested',
                                  enabled => true);
SELECT reverse_etl.create_mapping('slow', 'never reached', 'send', '{"id": "id"}', name => 'called',
                                  enabled => true);
});

# Both runs extracting: their workers are in the model's pg_sleep.
sub both_extracting
{
	return poll_sql($node,
		"SELECT count(*) FROM reverse_etl.sync_progress p JOIN pg_stat_activity a USING (pid) "
		  . "WHERE p.phase = 'extracting' AND a.wait_event = 'PgSleep'",
		$_[0], 30);
}

my $requested = q1("SELECT reverse_etl.request_sync('requested')");
my ($call_out, $call_err) = ('', '');
my $call = IPC::Run::start(
	[ 'psql', '-XAt', '-d', $node->connstr('postgres'),
		'-c', "SELECT run_id FROM reverse_etl.sync('called')" ],
	'<', \undef, '>', \$call_out, '2>', \$call_err);
ok(both_extracting('2'), 'both runs are extracting, inside the model query');
my $called = q1("SELECT run_id FROM reverse_etl.sync_progress WHERE mapping = 'called'");

my $log_offset = -s $node->logfile;
my $t0 = time();
$node->stop('fast');
my $elapsed = time() - $t0;
ok($elapsed < 10, sprintf('fast shutdown completed in %.1f s (< 10 s) while the model query slept',
		$elapsed));
$call->finish;
like($call_err, qr/terminating connection due to administrator command|server closed the connection/,
	'the sync() call ended with the session');
my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/terminated by signal/, 'no process was terminated by a signal');

# The launcher's first pass after the restart would mark a run still
# 'running' as "interrupted by server restart": the workers finished theirs.
$node->start;
ok(poll_sql($node, "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher'",
		't', 15),
	'the launcher is back');
is( q1("SELECT string_agg(mapping || ': ' || status || ', ' || error, '; ' ORDER BY mapping) "
		  . "FROM reverse_etl.sync_runs WHERE run_id IN ($requested, $called)"),
	'called: failed, interrupted by server shutdown; requested: failed, interrupted by server shutdown',
	'both runs recorded their own end: failed, interrupted by server shutdown');
is(q1("SELECT count(*) FROM reverse_etl.sync_runs WHERE status IN ('running', 'queued')"),
	'0', 'no run is left running or queued');
is(scalar(@{ $mock->requests }), 0, 'nothing was sent');

# pg_terminate_backend (SIGTERM) of a worker inside the model query: the run
# is failed at once, by the worker.
my $again = q1("SELECT reverse_etl.request_sync('requested')");
ok(both_extracting('1'), 'a new run is extracting');
my $worker = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $again");
$t0 = time();
q1("SELECT pg_terminate_backend($worker)");
ok( poll_sql($node,
		"SELECT status || ', ' || error FROM reverse_etl.sync_runs WHERE run_id = $again",
		'failed, interrupted by server shutdown', 10),
	sprintf('pg_terminate_backend of its worker: the run is failed by the worker (after %.1f s)',
		time() - $t0));
ok(poll_sql($node, "SELECT count(*) FROM pg_stat_activity WHERE pid = $worker", '0', 10),
	'the worker is gone');

$node->stop;
$log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no process was terminated by a signal, in the whole log');
$mock->stop;
done_testing();
