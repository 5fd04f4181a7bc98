# The launcher (SPEC 5, 8): it starts with the server, runs interval
# mappings by itself, runs request_sync() queues, leaves manual and disabled
# mappings alone, honours max_parallel_syncs, reloads on SIGHUP, keeps its
# memory flat, does not block DROP DATABASE, survives a model owner without
# LOGIN, and comes back after being killed.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use Time::HiRes qw(time usleep sleep);

my $mock = ReverseEtlTest::Mock->start(name => 'mock_001');
# /slow answers after 1.5 s: long enough to see a run in progress. (A mock
# reset forgets this, so it is set again after each.)
sub configure_mock { $mock->config({ per_path => { '/slow' => { delay_ms => 1500 } } }); }
configure_mock();

my $node = new_node('launcher', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# A run's column, by run id.
sub run_field
{
	my ($run_id, $column) = @_;
	return q1("SELECT $column FROM reverse_etl.sync_runs WHERE run_id = $run_id");
}

# --- The launcher is there ---------------------------------------------------
ok(poll_sql($node,
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher'", 't', 15),
	'launcher is visible in pg_stat_activity');
my $launcher_pid = launcher_pid($node);
like($launcher_pid, qr/^\d+$/, "launcher pid $launcher_pid");

my $hook = $mock->url('/hook');
my $slow = $mock->url('/slow');
my $off = $mock->url('/off');
q1(qq{
CREATE TABLE public.people (id int PRIMARY KEY, email text);
INSERT INTO public.people SELECT g, 'user' || g || '\@example.com' FROM generate_series(1, 5) g;
SELECT reverse_etl.create_model('people', 'SELECT id, email FROM public.people', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$hook"}', enabled => true);
SELECT reverse_etl.create_destination('slow', 'webhook', '{"url": "$slow"}', enabled => true);
SELECT reverse_etl.create_destination('off', 'webhook', '{"url": "$off"}', enabled => false);
});
my $fields = q{'{"id": "id", "email": "email"}'};

# --- An interval mapping runs by itself ---------------------------------------
q1("SELECT reverse_etl.create_mapping('people', 'hook', 'send', $fields, "
	  . "schedule => '1 minute', name => 'interval', enabled => true)");
ok(poll_sql($node,
		"SELECT count(*) = 1 FROM reverse_etl.sync_runs WHERE mapping = 'interval' AND status = 'succeeded'",
		't', 15),
	'interval mapping ran by itself');
is(q1("SELECT trigger || ' ' || records_succeeded FROM reverse_etl.sync_runs WHERE mapping = 'interval'"),
	'schedule 5', 'its trigger is schedule and it delivered the 5 records');
# The next run is planned one interval after this one started.
my $gap = q1("SELECT extract(epoch FROM m.next_run_at - r.started_at) FROM reverse_etl.mappings m "
	  . "JOIN reverse_etl.sync_runs r ON r.mapping = m.name WHERE m.name = 'interval'");
ok($gap > 55 && $gap <= 60, "next_run_at is ~1 minute after the run started ($gap s)");

# --- manual and disabled mappings never run ----------------------------------
q1("SELECT reverse_etl.create_mapping('people', 'hook', 'send', $fields, "
	  . "name => 'manual', enabled => true)");
q1("SELECT reverse_etl.create_mapping('people', 'hook', 'send', $fields, "
	  . "schedule => '1 minute', name => 'disabled mapping', enabled => false)");
q1("SELECT reverse_etl.create_mapping('people', 'off', 'send', $fields, "
	  . "schedule => '1 minute', name => 'disabled destination', enabled => true)");
sleep(2);    # ten naptimes
is(q1("SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'interval'"),
	'1', 'the interval mapping ran once, not again');
is( q1("SELECT count(*) FROM reverse_etl.sync_runs "
		  . "WHERE mapping IN ('manual', 'disabled mapping', 'disabled destination')"),
	'0', 'manual mapping, disabled mapping, mapping of a disabled destination: no run');
is( q1("SELECT string_agg(name || '=' || coalesce(next_run_at::text, 'null'), ', ' ORDER BY name) "
		  . "FROM reverse_etl.mappings WHERE name IN ('manual', 'disabled mapping', 'disabled destination')"),
	'disabled destination=null, disabled mapping=null, manual=null',
	'none of them has a next_run_at');
my ($ret, $out, $err) = $node->psql('postgres',
	"SELECT reverse_etl.request_sync('disabled destination')");
like($err, qr/destination "off" is disabled/, 'request_sync refuses a disabled destination');
q1("SELECT reverse_etl.disable_mapping('interval')");
is(q1("SELECT next_run_at IS NULL FROM reverse_etl.mappings WHERE name = 'interval'"),
	't', 'disabling the interval mapping clears next_run_at');

# --- request_sync queues a run the launcher runs ------------------------------
$mock->reset;
configure_mock();
my $run = q1("SELECT reverse_etl.request_sync('manual')");
like($run, qr/^\d+$/, 'request_sync returns a run id');
ok(poll_sql($node,
		"SELECT status FROM reverse_etl.sync_runs WHERE run_id = $run", 'succeeded', 15),
	'the launcher ran the requested run');
is(run_field($run, 'trigger'), 'manual', 'requested run has trigger manual');
is(join(',', $mock->record_ids), '1,2,3,4,5', 'the mock received the 5 records');

# --- request_sync during a run queues exactly one more run --------------------
q1("SELECT reverse_etl.create_mapping('people', 'slow', 'send', $fields, "
	  . "name => 'slow manual', enabled => true)");
my $first = q1("SELECT reverse_etl.request_sync('slow manual')");
ok(poll_sql($node, "SELECT status FROM reverse_etl.sync_runs WHERE run_id = $first", 'running', 10),
	'first requested run is running');
my $second = q1("SELECT reverse_etl.request_sync('slow manual')");
my $third = q1("SELECT reverse_etl.request_sync('slow manual')");
isnt($second, $first, 'request_sync during a run queues another run');
is($third, $second, 'a second request_sync returns the same queued run');
is(run_field($second, 'status'), 'queued', 'the extra run waits while the first runs');
ok(poll_sql($node,
		"SELECT count(*) FILTER (WHERE status = 'succeeded') || '/' || count(*) "
		  . "FROM reverse_etl.sync_runs WHERE mapping = 'slow manual'", '2/2', 20),
	'both runs succeeded, and there were only two');
is( q1("SELECT (SELECT started_at FROM reverse_etl.sync_runs WHERE run_id = $second) >= "
		  . "(SELECT finished_at FROM reverse_etl.sync_runs WHERE run_id = $first)"),
	't', 'the queued run started after the first ended');

# --- SIGHUP: ALTER SYSTEM + pg_reload_conf reach the launcher -----------------
# The launcher wakes once per naptime when idle, so the rate of its voluntary
# context switches follows reverse_etl.naptime.
sub switches_per_2s
{
	my $before = proc_status_kb($launcher_pid, 'voluntary_ctxt_switches');
	sleep(2);
	return proc_status_kb($launcher_pid, 'voluntary_ctxt_switches') - $before;
}
my $busy = switches_per_2s();
q1("ALTER SYSTEM SET reverse_etl.naptime = '5s'");
q1("ALTER SYSTEM SET reverse_etl.max_parallel_syncs = 1");
q1("SELECT pg_reload_conf()");
sleep(0.5);
my $idle = switches_per_2s();
ok($busy >= 6 && $idle <= 3,
	"after reload the launcher wakes less often (2 s: $busy wakeups at 200ms, $idle at 5s)");
is(launcher_pid($node), $launcher_pid, 'the launcher is still the same process after SIGHUP');

# --- max_parallel_syncs = 1: two due mappings run one after the other ---------
q1("SELECT reverse_etl.create_mapping('people', 'slow', 'send', $fields, "
	  . "schedule => '1 minute', name => 'par a')");
q1("SELECT reverse_etl.create_mapping('people', 'slow', 'send', $fields, "
	  . "schedule => '1 minute', name => 'par b')");
q1("SELECT reverse_etl.enable_mapping('par a'), reverse_etl.enable_mapping('par b')");
my $max_running = 0;
my $both_done = ReverseEtlTest::wait_until(
	sub {
		my ($running, $done) = split /\|/,
		  q1("SELECT count(*) FILTER (WHERE status = 'running'), "
			  . "count(*) FILTER (WHERE status = 'succeeded') "
			  . "FROM reverse_etl.sync_runs WHERE mapping IN ('par a', 'par b')");
		$max_running = $running if $running > $max_running;
		return $done == 2;
	},
	30);
ok($both_done, 'both due mappings ran');
is($max_running, 1, 'never two running at once (sampled)');
is( q1("SELECT count(*) FROM reverse_etl.sync_runs a JOIN reverse_etl.sync_runs b "
		  . "ON a.mapping = 'par a' AND b.mapping = 'par b' "
		  . "WHERE a.started_at < b.finished_at AND b.started_at < a.finished_at"),
	'0', 'their run times do not overlap');
q1("SELECT reverse_etl.disable_mapping('par a'), reverse_etl.disable_mapping('par b')");

# --- memory stays flat --------------------------------------------------------
q1("ALTER SYSTEM SET reverse_etl.naptime = '100ms'");
q1("ALTER SYSTEM RESET reverse_etl.max_parallel_syncs");
q1("SELECT pg_reload_conf()");
sleep(1);
my %start = map { $_ => proc_status_kb($launcher_pid, $_) } qw(VmRSS RssAnon);
# About 50 passes, and meanwhile requested runs one after the other, so that
# the launcher also starts workers and forgets them.
my $t_end = time() + 5;
my $runs = 0;
while (time() < $t_end)
{
	my $r = q1("SELECT reverse_etl.request_sync('manual')");
	poll_sql($node, "SELECT status FROM reverse_etl.sync_runs WHERE run_id = $r", 'succeeded', 10);
	$runs++;
}
my %end = map { $_ => proc_status_kb($launcher_pid, $_) } qw(VmRSS RssAnon);
my $anon_growth = $end{RssAnon} - $start{RssAnon};
my $rss_growth = $end{VmRSS} - $start{VmRSS};
ok($anon_growth < 2048 && $rss_growth < 2048,
	"launcher memory flat over 5 s at naptime 100ms and $runs runs (RssAnon $start{RssAnon} -> "
	  . "$end{RssAnon} kB, VmRSS $start{VmRSS} -> $end{VmRSS} kB)");

# --- DROP DATABASE of another database is not blocked -------------------------
q1('CREATE DATABASE other');
my $t0 = time();
($ret, $out, $err) = $node->psql('postgres', 'DROP DATABASE other');
my $drop_time = time() - $t0;
is($ret, 0, 'DROP DATABASE other succeeds while the launcher runs');
ok($drop_time < 5, sprintf('... promptly (%.2f s)', $drop_time));

# --- a model owner without LOGIN: the run fails, the launcher goes on ----------
q1(qq{
CREATE ROLE nologin_owner LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO nologin_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO nologin_owner;
GRANT SELECT ON public.people TO nologin_owner;
SET ROLE nologin_owner;
SELECT reverse_etl.create_model('owned', 'SELECT id, email FROM public.people', 'id');
SELECT reverse_etl.create_destination('owned hook', 'webhook', '{"url": "$hook"}', enabled => true);
SELECT reverse_etl.create_mapping('owned', 'owned hook', 'send', $fields,
                                  schedule => '1 minute', name => 'owned');
RESET ROLE;
ALTER ROLE nologin_owner NOLOGIN;
SELECT reverse_etl.enable_mapping('owned');
});
ok(poll_sql($node, "SELECT status FROM reverse_etl.sync_runs WHERE mapping = 'owned'", 'failed', 15),
	'the scheduled run of a model whose owner cannot log in failed');
like(q1("SELECT trigger || ': ' || error FROM reverse_etl.sync_runs WHERE mapping = 'owned'"),
	qr/^schedule: .*cannot log in/, 'its error says the owner cannot log in');
q1("SELECT reverse_etl.disable_mapping('owned')");
is(launcher_pid($node), $launcher_pid, 'the launcher keeps running');

# --- the launcher comes back after kill -9 (crash restart) ----------------------
kill 'KILL', $launcher_pid;
my $new_pid;
ok( ReverseEtlTest::wait_until(
		sub { $new_pid = launcher_pid($node); $new_pid ne '' && $new_pid ne $launcher_pid },
		15),
	'after kill -9 a new launcher appears within 15 s');
$node->log_check('crash restart was logged', 0,
	log_like => [qr/background worker "reverse_etl launcher" \(PID $launcher_pid\) was terminated by signal 9/]);

# --- ... and after pg_terminate_backend, after its 10 s restart delay ----------
# The postmaster restarts a worker after bgw_restart_time only if it exited
# with a non-zero status: one that exits with 0 is unregistered for good.
$launcher_pid = $new_pid;
is(q1("SELECT pg_terminate_backend($launcher_pid)"), 't', 'pg_terminate_backend(launcher)');
ok( ReverseEtlTest::wait_until(
		sub { $new_pid = launcher_pid($node); $new_pid ne '' && $new_pid ne $launcher_pid },
		15),
	'after pg_terminate_backend a new launcher appears within 15 s');

$node->stop;
$mock->stop;
done_testing();
