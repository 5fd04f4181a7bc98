# Shutdown (SPEC 8): while syncs wait on a destination that takes 60 s to
# answer, a fast shutdown still completes promptly (the launcher and the sync
# workers stop on SIGTERM), and after the restart the runs are recorded as
# failed, not left 'running'. One run was started by the launcher
# (request_sync), the other by a sync() call in a session.
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

my $mock = ReverseEtlTest::Mock->start(name => 'mock_003');
$mock->config({ default => { delay_ms => 60000 } });
my $node = new_node('shutdown', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $url = $mock->url('/wait');
q1(qq{
CREATE TABLE public.one (id int PRIMARY KEY, v text);
INSERT INTO public.one VALUES (1, 'only row');
SELECT reverse_etl.create_model('one', 'SELECT id, v FROM public.one', 'id');
SELECT reverse_etl.create_destination('waits', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('one', 'waits', 'send', '{"id": "id"}', name => 'requested', enabled => true);
SELECT reverse_etl.create_mapping('one', 'waits', 'send', '{"id": "id"}', name => 'called', enabled => true);
});

# A run started by the launcher, and a sync() call in a session of its own.
my $requested = q1("SELECT reverse_etl.request_sync('requested')");
my ($call_out, $call_err) = ('', '');
my $call = IPC::Run::start(
	[ 'psql', '-XAt', '-d', $node->connstr('postgres'),
		'-c', "SELECT run_id FROM reverse_etl.sync('called')" ],
	'<', \undef, '>', \$call_out, '2>', \$call_err);
ok($mock->wait_for(2, 30), 'both runs sent their request and wait for the answer');
is( q1("SELECT string_agg(mapping || ':' || phase, ',' ORDER BY mapping) FROM reverse_etl.sync_progress"),
	'called:delivering,requested:delivering', 'both runs are delivering');
my $called = q1("SELECT run_id FROM reverse_etl.sync_progress WHERE mapping = 'called'");

# Fast shutdown: SIGTERM to every backend and worker.
my $log_offset = -s $node->logfile;
my $t0 = time();
$node->stop('fast');
my $elapsed = time() - $t0;
ok($elapsed < 10, sprintf('fast shutdown completed in %.1f s (< 10 s) while syncs waited on the destination',
		$elapsed));
$node->log_check('shutdown', $log_offset,
	log_like => [qr/reverse_etl launcher shutting down/, qr/database system is shut down/]);
$call->finish;
like($call_err, qr/terminating connection due to administrator command|server closed the connection/,
	'the sync() call ended with the session');

$node->start;
ok( poll_sql($node,
		"SELECT count(*) FROM reverse_etl.sync_runs WHERE run_id IN ($requested, $called) "
		  . "AND status = 'failed' AND error IN ('interrupted by server shutdown', 'interrupted by server restart')",
		'2', 15),
	'after the restart both runs are failed, interrupted');
note('how the runs ended: '
	  . q1("SELECT string_agg(mapping || ': ' || error, '; ' ORDER BY mapping) FROM reverse_etl.sync_runs"));
is(q1("SELECT count(*) FROM reverse_etl.sync_runs WHERE status IN ('running', 'queued')"),
	'0', 'no run is left running or queued');
ok(poll_sql($node,
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher'", 't', 15),
	'the launcher is back');

# pg_terminate_backend (SIGTERM) of one sync worker waiting on the
# destination: it ends promptly and records its run as failed.
$mock->reset;
$mock->config({ default => { delay_ms => 60000 } });
my $again = q1("SELECT reverse_etl.request_sync('requested')");
ok($mock->wait_for(1, 30), 'a new run waits on the destination');
my $worker = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $again");
$t0 = time();
q1("SELECT pg_terminate_backend($worker)");
ok(poll_sql($node, "SELECT status FROM reverse_etl.sync_runs WHERE run_id = $again", 'failed', 10),
	sprintf('pg_terminate_backend of its worker: the run is failed (after %.1f s)', time() - $t0));
note('its error: ' . q1("SELECT error FROM reverse_etl.sync_runs WHERE run_id = $again"));
ok(poll_sql($node, "SELECT count(*) FROM pg_stat_activity WHERE pid = $worker", '0', 10),
	'the worker is gone');

$node->stop;
$mock->stop;
done_testing();
