# Concurrent sync() and request_sync() calls on one mapping, with the launcher
# running: never two running runs, the losers of sync() get 55006 naming the
# running run, request_sync() hands out the one queued run, and in the end
# every run is finished and every record reached the destination.
#
# The destination is a slow mock (200 ms a request, 2 requests in flight), so
# a run of 30 records takes about 3 s and the other calls land while it runs.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time usleep);

my $started_at = time;
my $records = 30;
my $delay_ms = 200;
my $in_flight = 2;    # reverse_etl.max_concurrent_requests

# ---------------------------------------------------------------- mock
my ($mock_out, $mock_err) = ('', '');
my $mock_timer = IPC::Run::timer(30);
my $mock = IPC::Run::start(
    [ 'python3', "$ENV{TESTDIR}/mock_destination.py", '--host', '127.0.0.1', '--port', '0',
      '--log', "$PostgreSQL::Test::Utils::log_path/004_mock.log" ],
    '<', '/dev/null', '>', \$mock_out, '2>', \$mock_err, $mock_timer);
END { $mock->kill_kill if $mock && $mock->pumpable; }
$mock_timer->start;
pump_until($mock, $mock_timer, \$mock_out, qr/listening on 127\.0\.0\.1:(\d+)/)
  or BAIL_OUT("mock destination did not start: $mock_err");
$mock_out =~ /listening on 127\.0\.0\.1:(\d+)/;
my $mock_base = "http://127.0.0.1:$1";
my $http = HTTP::Tiny->new(timeout => 30);

sub mock_post {
    my ($path, $body) = @_;
    my $r = $http->post("$mock_base$path",
        { content => $body, headers => { 'content-type' => 'application/json' } });
    die "mock $path: $r->{status} $r->{content}" unless $r->{success};
}

sub mock_requests {
    my $r = $http->get("$mock_base/_mock/requests?path_prefix=/hook");
    die "mock requests: $r->{status}" unless $r->{success};
    return decode_json($r->{content});
}

# Largest number of requests the mock was answering at once: a request is in
# flight from its arrival until its delay has passed (the client can only send
# its next request on that connection after the answer).
sub max_in_flight {
    my @events;
    for my $req (@{ mock_requests() }) {
        push @events, [ $req->{epoch}, 1 ], [ $req->{epoch} + $req->{delay_ms} / 1000.0, -1 ];
    }
    my ($now, $max) = (0, 0);
    for my $e (sort { $a->[0] <=> $b->[0] || $a->[1] <=> $b->[1] } @events) {
        $now += $e->[1];
        $max = $now if $now > $max;
    }
    return $max;
}

# id => how many times the mock received that record.
sub received_ids {
    my %seen;
    $seen{ decode_json($_->{body})->{id} }++ for @{ mock_requests() };
    return \%seen;
}

# ---------------------------------------------------------------- server
my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'reverse_etl'
reverse_etl.database = 'postgres'
reverse_etl.naptime = '200ms'
reverse_etl.allowed_hosts = '127.0.0.1'
reverse_etl.max_concurrent_requests = $in_flight
max_worker_processes = 24
});
$node->start;
$node->safe_psql('postgres', qq{
CREATE EXTENSION reverse_etl;
CREATE TABLE public.items (id int PRIMARY KEY, label text);
INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, $records) g;
SELECT reverse_etl.create_model('items', 'SELECT id, label FROM public.items', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$mock_base/hook"}', enabled => true);
SELECT reverse_etl.create_mapping('items', 'hook', 'send', '{"id": "id", "label": "label"}',
                                  name => 'm', enabled => true);
});
my $mid = $node->safe_psql('postgres', "SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = 'm'");
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher'"),
   'launcher is running');
mock_post('/_mock/config', encode_json({ default => { status => 200, delay_ms => $delay_ms } }));

# A session that watches the catalog while the calls run, and holds the
# barrier (advisory lock 42) the callers wait on so that they go at once.
my $monitor = $node->background_psql('postgres');
# The monitor's queries, without background_psql's notes (hundreds of polls).
sub monitor_query {
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
my $running_sql = "SELECT count(*) FROM reverse_etl.run_catalog WHERE status = 'running' AND mapping_id = $mid";
my $unfinished_sql =
  "SELECT count(*) FROM reverse_etl.run_catalog WHERE status IN ('queued', 'running') AND mapping_id = $mid";

my $script_dir = PostgreSQL::Test::Utils::tempdir;
my $call_count = 0;

# Starts one psql process running $call; with $barrier it first waits for
# the monitor to release advisory lock 42.
sub start_call {
    my ($call, $barrier) = @_;
    my $script = '';
    $script .= "SELECT pg_advisory_lock_shared(42) \\g /dev/null\n"
      . "SELECT pg_advisory_unlock_shared(42) \\g /dev/null\n" if $barrier;
    $script .= "$call;\n\\echo SQLSTATE :SQLSTATE\n";
    # A script file, not stdin: IPC::Run feeds stdin only while pumped.
    my $file = "$script_dir/call" . $call_count++ . '.sql';
    open(my $fh, '>', $file) or die "$file: $!";
    print $fh $script;
    close($fh);
    my %p = (call => $call, stdout => '', stderr => '');
    $p{h} = IPC::Run::start(
        [ 'psql', '-X', '-A', '-t', '-q', '-v', 'VERBOSITY=verbose', '-d', $node->connstr('postgres'), '-f', $file ],
        '<', '/dev/null', '>', \$p{stdout}, '2>', \$p{stderr});
    return \%p;
}

# Polls the number of running runs of the mapping (keeping the largest seen
# in $max_running) while pumping the calls, until they all ended; with
# $until_idle, goes on until no run of the mapping is queued or running.
my ($max_running, $polls) = (0, 0);
sub wait_polling {
    my ($until_idle, @calls) = @_;
    my $deadline = time + 45;
    for (;;) {
        my $alive = 0;
        for my $c (@calls) {
            next if $c->{done};
            if ($c->{h}->pumpable) {
                $c->{h}->pump_nb;
                $alive++;
            } else {
                $c->{h}->finish;
                $c->{done} = 1;
            }
        }
        my $n = monitor_query($running_sql);
        $max_running = $n if $n > $max_running;
        $polls++;
        last if !$alive && (!$until_idle || monitor_query($unfinished_sql) == 0);
        die "calls or runs did not finish in time" if time > $deadline;
        usleep(20_000);
    }
    for my $c (@calls) {
        ($c->{sqlstate}) = $c->{stdout} =~ /^SQLSTATE (\w+)$/m;
        ($c->{result}) = $c->{stdout} =~ /^RESULT\|(.*)$/m;
        ($c->{error}) = $c->{stderr} =~ /ERROR:\s+(.*)$/m;    # after "psql:FILE:LINE: "
        ($c->{detail}) = $c->{stderr} =~ /^DETAIL:\s+(.*)$/m;
    }
}

sub fire_with_barrier {
    my @calls_sql = @_;
    $monitor->query_safe('SELECT pg_advisory_lock(42)');
    my @calls = map { start_call($_, 1) } @calls_sql;
    my $n = scalar @calls;
    $node->poll_query_until('postgres',
        "SELECT count(*) = $n FROM pg_locks WHERE locktype = 'advisory' AND objid = 42 AND NOT granted")
      or die 'callers did not reach the barrier';
    $monitor->query_safe('SELECT pg_advisory_unlock(42)');
    return @calls;
}

my $sync_sql = "SELECT 'RESULT', run_id, status FROM reverse_etl.sync('m')";
my $request_sql = "SELECT 'RESULT', reverse_etl.request_sync('m')";

# ---------------------------------------------------------------- phase A
# One sync() runs; meanwhile 4 more sync() and 5 request_sync() at once.
my $phase = time;
my $first = start_call($sync_sql, 0);
$node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM reverse_etl.run_catalog WHERE mapping_id = $mid AND status = 'running' "
      . "AND phase = 'delivering'")
  or die 'the first sync did not start delivering';
my $first_run = $node->safe_psql('postgres',
    "SELECT run_id FROM reverse_etl.run_catalog WHERE mapping_id = $mid AND status = 'running'");
my @a_syncs = fire_with_barrier(($sync_sql) x 4, ($request_sql) x 5);
my @a_requests = splice(@a_syncs, 4);
wait_polling(0, @a_syncs, @a_requests);
# Asked again once the others returned, the run is still queued: same id.
my $again = $monitor->query_safe("SELECT reverse_etl.request_sync('m')");
my $still_running = $monitor->query_safe($running_sql);
wait_polling(1, $first);
my $max_a = $max_running;
note sprintf('phase A: %.1f s, %d polls', time - $phase, $polls);

is($first->{sqlstate}, '00000', 'phase A: the first sync() succeeded') or diag $first->{stderr};
like($first->{result} // '', qr/^$first_run\|succeeded$/, 'phase A: it returns its run, succeeded');
is($still_running, 1, 'phase A: the first run was still running when the others returned');
is(scalar(grep { ($_->{sqlstate} // '') eq '55006' } @a_syncs), 4,
   'phase A: the 4 other sync() calls fail with 55006')
  or diag explain [ map { $_->{stderr} } @a_syncs ];
is(scalar(grep { ($_->{error} // '') eq '55006: mapping "m" is already running' } @a_syncs), 4,
   'phase A: ... "mapping "m" is already running"');
is(scalar(grep { ($_->{detail} // '') eq "Run $first_run is in progress." } @a_syncs), 4,
   'phase A: ... naming the running run')
  or diag explain [ map { $_->{detail} } @a_syncs ];
my @a_ids = map { $_->{result} } @a_requests;
is(scalar(grep { defined $_ && $_ =~ /^\d+$/ } @a_ids), 5, 'phase A: the 5 request_sync() calls succeed')
  or diag explain [ map { $_->{stderr} } @a_requests ];
is(scalar(keys %{ { map { ($_ // 'undef') => 1 } @a_ids, $again } }), 1,
   'phase A: request_sync() returns the same queued run every time')
  or diag explain [ @a_ids, $again ];
isnt($again, $first_run, 'phase A: the queued run is another run');
is($max_a, 1, 'phase A: never more than one running run');
is($node->safe_psql('postgres',
    "SELECT string_agg(trigger || ' ' || status, ', ' ORDER BY run_id) FROM reverse_etl.run_catalog "
      . "WHERE mapping_id = $mid"),
   'manual succeeded, manual succeeded', 'phase A: two runs, both succeeded');
is($node->safe_psql('postgres',
    "SELECT q.started_at >= f.finished_at FROM reverse_etl.run_catalog q, reverse_etl.run_catalog f "
      . "WHERE q.run_id = $again AND f.run_id = $first_run"),
   't', 'phase A: the queued run started after the first one finished');
my $seen = received_ids();
is(scalar(grep { ($seen->{$_} // 0) >= 1 } 1 .. $records), $records, 'phase A: every record received');
is(scalar(grep { ($seen->{$_} // 0) == 1 } 1 .. $records), $records,
   'phase A: ... exactly once (the queued run found nothing changed)');
cmp_ok(max_in_flight(), '<=', $in_flight, "phase A: at most $in_flight requests in flight at once");

# ---------------------------------------------------------------- phase B
# From idle: 5 sync() and 5 request_sync() at the same moment. The launcher may
# start the queued run before any sync() gets the mapping: then every sync()
# fails; otherwise one succeeds.
mock_post('/_mock/reset', '{}');
mock_post('/_mock/config', encode_json({ default => { status => 200, delay_ms => $delay_ms } }));
$node->safe_psql('postgres', "SELECT reverse_etl.reset_mapping('m')");
my $last_a = $node->safe_psql('postgres', "SELECT max(run_id) FROM reverse_etl.run_catalog");
$phase = time;
my @b_syncs = fire_with_barrier(($sync_sql, $request_sql) x 5);
my @b_requests = map { $b_syncs[ 2 * $_ + 1 ] } 0 .. 4;
@b_syncs = map { $b_syncs[ 2 * $_ ] } 0 .. 4;
($max_running, $polls) = (0, 0);
wait_polling(1, @b_syncs, @b_requests);
my $max_b = $max_running;
note sprintf('phase B: %.1f s, %d polls', time - $phase, $polls);

my @b_won = grep { ($_->{sqlstate} // '') eq '00000' } @b_syncs;
my @b_lost = grep { ($_->{sqlstate} // '') eq '55006' } @b_syncs;
cmp_ok(scalar @b_won, '<=', 1, 'phase B: at most one sync() succeeds');
is(scalar(@b_won) + scalar(@b_lost), 5, 'phase B: the others fail with 55006')
  or diag explain [ map { $_->{stderr} } @b_syncs ];
is(scalar(grep { ($_->{error} // '') eq '55006: mapping "m" is already running' } @b_lost), scalar @b_lost,
   'phase B: ... "mapping "m" is already running"');
# A loser that looks before the winner committed its run row (and keeps not
# seeing it for a while) says "A run is starting." (phase C shows it).
is(scalar(grep { ($_->{detail} // '') =~ /^(Run [1-9]\d* is in progress|A run is starting)\.$/ } @b_lost), scalar @b_lost,
   'phase B: ... with a detail "Run N is in progress."')
  or diag explain [ map { $_->{detail} } @b_lost ];
note 'phase B: details: ' . join(', ', map { $_->{detail} // 'undef' } @b_lost);
is(scalar(grep { ($_->{result} // '') =~ /^\d+\|succeeded$/ } @b_won), scalar @b_won,
   'phase B: a winning sync() returns its run, succeeded');
my @b_ids = map { $_->{result} } @b_requests;
is(scalar(grep { defined $_ && $_ =~ /^\d+$/ } @b_ids), 5, 'phase B: the 5 request_sync() calls succeed')
  or diag explain [ map { $_->{stderr} } @b_requests ];
note 'phase B: request_sync() ids: ' . join(', ', map { $_ // 'undef' } @b_ids);
is($max_b, 1, 'phase B: never more than one running run');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM reverse_etl.run_catalog WHERE mapping_id = $mid AND run_id > $last_a "
      . "AND status <> 'succeeded'"),
   '0', 'phase B: every run succeeded');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM reverse_etl.run_catalog WHERE mapping_id = $mid AND run_id > $last_a "
      . "AND run_id NOT IN (" . join(',', map { $_ // 0 } @b_ids) . ") AND trigger = 'manual'"),
   scalar @b_won, 'phase B: the runs are the requested ones and the winning sync()');
$seen = received_ids();
is(scalar(grep { ($seen->{$_} // 0) >= 1 } 1 .. $records), $records, 'phase B: every record received');
is(scalar(grep { ($seen->{$_} // 0) == 1 } 1 .. $records), $records, 'phase B: ... exactly once');
cmp_ok(max_in_flight(), '<=', $in_flight, "phase B: at most $in_flight requests in flight at once");

# ---------------------------------------------------------------- phase C
# The window between a run taking the mapping (its advisory lock) and
# committing its 'running' row, held open: the monitor locks the run table so
# the winner's first catalog write waits. A sync() arriving then must still
# fail with 55006. Its run row is held back by the lock, so there is no run
# to name yet: the detail says one is starting (never "Run 0").
$monitor->query_safe('BEGIN');
$monitor->query_safe('LOCK TABLE reverse_etl.run_catalog IN SHARE MODE');
my $holder = start_call($sync_sql, 0);
$node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
      . "AND objid = $mid")
  or die 'the first sync did not take the mapping';
my $late = start_call($sync_sql, 0);
wait_polling(0, $late);
$monitor->query_safe('COMMIT');
($max_running, $polls) = (0, 0);
wait_polling(1, $holder);
is($holder->{sqlstate}, '00000', 'phase C: the sync() holding the mapping succeeds')
  or diag $holder->{stderr};
is($late->{error} // '', '55006: mapping "m" is already running',
   'phase C: a sync() while the run starts fails with 55006')
  or diag $late->{stderr};
is($late->{detail} // '', 'A run is starting.', 'phase C: ... saying a run is starting, not "Run 0"');
cmp_ok($max_running, '<=', 1, 'phase C: never more than one running run');

# ---------------------------------------------------------------- overall
# Runs of the mapping never overlapped in time either.
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM (
    SELECT started_at, lag(finished_at) OVER (ORDER BY started_at) AS previous_end
      FROM reverse_etl.run_catalog WHERE mapping_id = $mid) r
 WHERE started_at < previous_end}),
   '0', 'no run started before the previous one finished');
is($node->safe_psql('postgres',
    "SELECT count(*) FROM reverse_etl.run_catalog WHERE status IN ('queued', 'running')"),
   '0', 'no run left queued or running');

$monitor->quit;
$node->stop;
$mock->signal('TERM');
$mock->finish;
note sprintf('004_concurrency: %.1f s', time - $started_at);
done_testing();
