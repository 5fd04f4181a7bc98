# A sync() call canceled (Ctrl-C, statement_timeout) while it waits for its
# worker to start leaves no run going that nobody waits for:
# 1. the postmaster has not started the worker yet: it never starts (no
#    worker process, nothing in the log, no run);
# 2. the postmaster has started the worker, which has begun its run, but the
#    call has not noticed yet: the run is canceled, as when the call is
#    canceled while the run goes, rather than going on to the end.
# The postmaster (1, 2) and the calling backend (2) are held with SIGSTOP to
# make these moments last.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use Time::HiRes qw(usleep);

my $mock = ReverseEtlTest::Mock->start(name => 'mock_012');
# ERRORs in the log too (a worker that finds its caller gone says so).
my $node = new_node('cancel_startup', naptime => '200ms', conf => "log_min_messages = warning\n");

my $url = $mock->url('/slow');
$node->safe_psql('postgres', qq{
CREATE TABLE public.one (id int PRIMARY KEY);
INSERT INTO public.one VALUES (1);
SELECT reverse_etl.create_model('one', 'SELECT id FROM public.one', 'id');
SELECT reverse_etl.create_destination('slow', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('one', 'slow', 'send', '{"id": "id"}', name => 'slow');
});

open(my $pidfile, '<', $node->data_dir . '/postmaster.pid') or die "postmaster.pid: $!";
chomp(my $postmaster = <$pidfile>);
close($pidfile);

# A session that watches, and the session whose sync() call is canceled.
my $monitor = $node->background_psql('postgres');
my $caller = $node->background_psql('postgres', on_error_stop => 0);
my $caller_pid = $caller->query_safe('SELECT pg_backend_pid()');

# The monitor's polls, without background_psql's notes on each.
sub monitor_query
{
	my ($sql) = @_;
	my $builder = Test::More->builder;
	my $output = $builder->output;
	open(my $null, '>', '/dev/null') or die;
	$builder->output($null);
	my $result = eval { $monitor->query_safe($sql) };
	my $error = $@;
	$builder->output($output);
	die $error if $error;
	return $result;
}

sub wait_event
{
	return monitor_query("SELECT coalesce(wait_event, '') FROM pg_stat_activity WHERE pid = $caller_pid");
}

# Sends sync('slow') in the calling session without waiting for its result.
sub start_sync
{
	$caller->{stderr} = '';
	$caller->{stdin} .= "SELECT status FROM reverse_etl.sync('slow');\n";
	$caller->{run}->pump_nb;
}

# Waits for the calling session to report the cancel.
sub caller_canceled
{
	my $timer = IPC::Run::timer(30);
	$timer->start;
	my $canceled = pump_until($caller->{run}, $timer, \$caller->{stderr},
		qr/canceling statement due to user request/);
	$caller->{stderr} = '';
	return $canceled;
}

sub stop_postmaster_for_a_while
{
	kill 'STOP', $postmaster or die "SIGSTOP $postmaster: $!";
}

sub continue_postmaster
{
	kill 'CONT', $postmaster or die "SIGCONT $postmaster: $!";
}

# --- 1. canceled before the postmaster started the worker ---------------------
my $log_offset = -s $node->logfile;
stop_postmaster_for_a_while();
start_sync();
my $waits = wait_until(sub { wait_event() eq 'BgWorkerStartup' }, 30);
ok($waits, 'sync() registered its worker and waits for the stopped postmaster to start it');
kill 'INT', $caller_pid;
ok(caller_canceled(), 'the canceled call reports the cancel');
continue_postmaster();
# The postmaster starts a registered worker at once when it runs again: by
# now one would have started (and found its caller gone).
sleep 2;
is($monitor->query_safe(
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'reverse_etl sync'"),
	'0', 'no sync worker runs');
ok( !$node->log_contains(
		qr/background worker "reverse_etl sync"|the sync\(\) call that started this worker is gone/,
		$log_offset),
	'no sync worker started: the log has nothing from or about one');
is($monitor->query_safe("SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'slow'"),
	'0', 'no run was recorded');
is($caller->query_safe('SELECT 1'), '1', 'the calling session goes on');

# --- 2. canceled after the worker began its run, before the call noticed ------
$mock->reset;
$mock->config({ default => { delay_ms => 5000 } });
stop_postmaster_for_a_while();
start_sync();
$waits = wait_until(sub { wait_event() eq 'BgWorkerStartup' }, 30);
ok($waits, 'sync() waits for its worker to start');
# The caller cannot notice the start while it is stopped.
kill 'STOP', $caller_pid;
continue_postmaster();
ok($mock->wait_for(1, 30), 'the worker started and sent its request (the destination answers in 5 s)');
my $run = $monitor->query_safe("SELECT run_id FROM reverse_etl.sync_progress WHERE mapping = 'slow'");
like($run, qr/^\d+$/, 'the run is going');
kill 'INT', $caller_pid;
kill 'CONT', $caller_pid;
ok(caller_canceled(), 'the canceled call reports the cancel');
ok( poll_sql(
		$node,
		"SELECT status || ': ' || coalesce(error, '') FROM reverse_etl.sync_runs WHERE run_id = $run "
		  . "AND status <> 'running'",
		'canceled: canceled', 20),
	'the run is canceled, not carried on to the end');
is($monitor->query_safe("SELECT count(*) FROM reverse_etl.sync_runs WHERE status IN ('queued', 'running')"),
	'0', 'no run is left running');
ok( wait_until(
		sub {
			monitor_query(
				"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'reverse_etl sync'") eq '0';
		},
		15),
	'the worker is gone');
is($caller->query_safe('SELECT 1'), '1', 'the calling session goes on');

$caller->quit;
$monitor->quit;
$node->stop;
done_testing();
