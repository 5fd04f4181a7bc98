# Durability (SPEC 6, 8): a run cut short by a crash (kill -9 of its sync
# worker) or an immediate shutdown is recorded as failed with
# 'interrupted by server restart' once the server is back, and the next run
# sends what was not acknowledged: across both runs the destination received
# every record (at-least-once), and the checkpoint ends complete.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use Time::HiRes qw(time);

my $rows = 2000;
my $mock = ReverseEtlTest::Mock->start(name => 'mock_002');
# Two requests in flight of 10 records, 100 ms each: 200 requests take ~10 s,
# so a run is caught in the middle of its delivery.
my $node = new_node('crash', naptime => '200ms',
	conf => "reverse_etl.max_concurrent_requests = 2\n");

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $url = $mock->url('/items');
q1(qq{
CREATE TABLE public.items (id int PRIMARY KEY, v text);
INSERT INTO public.items SELECT g, 'value ' || g FROM generate_series(1, $rows) g;
SELECT reverse_etl.create_model('items', 'SELECT id, v FROM public.items', 'id');
SELECT reverse_etl.create_destination('items hook', 'webhook', '{"url": "$url", "batch_size": 10}',
                                      enabled => true);
SELECT reverse_etl.create_mapping('items', 'items hook', 'send', '{"id": "id", "v": "v"}',
                                  name => 'after kill', enabled => true);
SELECT reverse_etl.create_mapping('items', 'items hook', 'send', '{"id": "id", "v": "v"}',
                                  name => 'after immediate', enabled => true);
});

# Starts a run of $mapping, interrupts it with $interrupt once 40 requests
# (400 records, ~2 s of delivery) arrived, checks how the run is recorded
# after the restart, then syncs again and checks nothing was lost.
sub interrupted_run
{
	my ($mapping, $how, $interrupt) = @_;
	$mock->reset;
	$mock->config({ default => { delay_ms => 100 } });
	my $run = q1("SELECT reverse_etl.request_sync('$mapping')");
	ok($mock->wait_for(40, 30), "$how: the run is delivering (40 requests arrived)");
	my $pid = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $run");
	like($pid, qr/^\d+$/, "$how: sync_progress shows the run's worker (pid $pid)");
	is( q1("SELECT backend_type FROM pg_stat_activity WHERE pid = $pid"),
		'reverse_etl sync', "$how: pg_stat_activity shows it as a reverse_etl sync");

	$interrupt->($pid);

	# The launcher's first pass after the restart records the run as failed.
	ok( poll_sql($node,
			"SELECT status || ': ' || error FROM reverse_etl.sync_runs WHERE run_id = $run",
			'failed: interrupted by server restart', 30),
		"$how: the interrupted run is failed with 'interrupted by server restart'");
	is(q1("SELECT count(*) FROM reverse_etl.sync_progress"), '0', "$how: nothing left running");
	my $kept = checkpoint_count($node, $mapping);
	ok($kept > 0 && $kept < $rows,
		"$how: the checkpoint kept the acknowledged part of the interrupted run ($kept records)");

	# Again, without the delay: the records not acknowledged go now.
	$mock->config({ default => { delay_ms => 0 } });
	my $second = q1("SELECT status || ' ' || records_added || ' ' || records_unchanged "
		  . "FROM reverse_etl.sync('$mapping')");
	my ($status, $added, $unchanged) = split / /, $second;
	is($status, 'succeeded', "$how: the next run succeeded");
	is($added + $unchanged, $rows, "$how: it saw every record ($added added, $unchanged unchanged)");
	ok($added < $rows, "$how: it did not start over");

	my @ids = $mock->record_ids('id');
	my $all_received = scalar(@ids) == $rows
	  && join(',', sort { $a <=> $b } @ids) eq join(',', 1 .. $rows);
	ok($all_received, "$how: across both runs the mock received all $rows ids (" . scalar(@ids) . ' distinct)');
	my $received = scalar($mock->records);
	note("$how: $received records received in all, " . ($received - $rows) . ' sent twice');
	is(checkpoint_count($node, $mapping), $rows, "$how: the checkpoint has all $rows records");
}

# 1. kill -9 of the sync worker: the postmaster restarts everything.
interrupted_run('after kill', 'kill -9',
	sub {
		my ($pid) = @_;
		kill 'KILL', $pid;
	});
$node->log_check('kill -9', 0,
	log_like => [qr/"reverse_etl sync" \(PID \d+\) was terminated by signal 9/,
		qr/all server processes terminated; reinitializing/]);

# 2. immediate shutdown in the middle of a run, then start.
interrupted_run('after immediate', 'immediate shutdown',
	sub {
		$node->stop('immediate');
		$node->start;
	});

$node->stop;
$mock->stop;
done_testing();
