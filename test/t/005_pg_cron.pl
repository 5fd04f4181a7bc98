# Scheduling without the reverse_etl launcher: pg_cron calls
# reverse_etl.run_due_syncs(). The launcher runs, but in the "postgres"
# database; the mappings live in "crondb" (pg_cron's database) and "direct".
#
# 1. In "direct" (no pg_cron job there), run_due_syncs() called by hand queues
#    the due interval mappings, starts queued runs up to max_parallel_syncs
#    when its transaction commits, and returns how many it started.
# 2. In "crondb", a pg_cron job calling run_due_syncs() runs an enabled
#    interval mapping with trigger 'pg_cron'. pg_cron 1.4 has no second
#    schedules ('1 seconds' is 1.5+; the test uses it if the installed pg_cron
#    takes it), so with '* * * * *' the job fires at the next minute: the
#    job is scheduled first and part 1 runs while it waits.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use HTTP::Tiny;
use JSON::PP;
use Time::HiRes qw(time);

my $started_at = time;

my $pkglibdir = `pg_config --pkglibdir`;
chomp $pkglibdir;
if (!-f "$pkglibdir/pg_cron.so") {
    plan skip_all => 'pg_cron is not installed (Debian package postgresql-15-cron, see scripts/install_deps.sh)';
}

# ---------------------------------------------------------------- mock
my ($mock_out, $mock_err) = ('', '');
my $mock_timer = IPC::Run::timer(30);
my $mock = IPC::Run::start(
    [ 'python3', "$ENV{TESTDIR}/mock_destination.py", '--host', '127.0.0.1', '--port', '0',
      '--log', "$PostgreSQL::Test::Utils::log_path/005_mock.log" ],
    '<', '/dev/null', '>', \$mock_out, '2>', \$mock_err, $mock_timer);
END { $mock->kill_kill if $mock && $mock->pumpable; }
pump_until($mock, $mock_timer, \$mock_out, qr/listening on 127\.0\.0\.1:(\d+)/)
  or BAIL_OUT("mock destination did not start: $mock_err");
$mock_out =~ /listening on 127\.0\.0\.1:(\d+)/;
my $mock_base = "http://127.0.0.1:$1";
my $http = HTTP::Tiny->new(timeout => 30);

# mapping name => sorted ids of the records the mock received for it.
sub received {
    my $r = $http->get("$mock_base/_mock/requests");
    die "mock requests: $r->{status}" unless $r->{success};
    my %by_mapping;
    for my $req (@{ decode_json($r->{content}) }) {
        my $body = decode_json($req->{body});
        push @{ $by_mapping{ $body->{mapping} } }, $body->{id};
    }
    return { map { $_ => join(',', sort { $a <=> $b } @{ $by_mapping{$_} }) } keys %by_mapping };
}

# ---------------------------------------------------------------- server
my $node = PostgreSQL::Test::Cluster->new('pg_cron');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_cron,reverse_etl'
reverse_etl.database = 'postgres'
reverse_etl.naptime = '200ms'
reverse_etl.allowed_hosts = '127.0.0.1'
max_worker_processes = 24
});
$node->start;
# pg_cron's launcher connects to cron.database_name at start: create it first.
$node->safe_psql('postgres', 'CREATE DATABASE crondb');
$node->safe_psql('postgres', 'CREATE DATABASE direct');
$node->append_conf('postgresql.conf', qq{
cron.database_name = 'crondb'
cron.use_background_workers = on
cron.max_running_jobs = 4
});
$node->restart;
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher' AND datname = 'postgres'"),
   'the reverse_etl launcher runs, in database postgres');
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'"),
   'the pg_cron launcher runs');

# Both databases: a table of records, a model, a destination.
for my $db ('crondb', 'direct') {
    $node->safe_psql($db, qq{
CREATE EXTENSION reverse_etl;
CREATE TABLE public.items (id int PRIMARY KEY, label text);
INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 5) g;
SELECT reverse_etl.create_model('items', 'SELECT id, label FROM public.items', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$mock_base/$db"}', enabled => true);
});
}
my $fields = q('{"id": "id", "mapping": {"meta": "mapping"}}');

# ---------------------------------------------------------------- pg_cron job
$node->safe_psql('crondb', 'CREATE EXTENSION pg_cron');
my $cron_version = $node->safe_psql('crondb', "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'");
like($cron_version, qr/^1\./, "pg_cron $cron_version installed in crondb");
my ($rc, $out, $err) = $node->psql('crondb', "SELECT cron.schedule('probe', '1 seconds', 'SELECT 1')");
my $schedule = $rc == 0 ? '1 seconds' : '* * * * *';
$node->safe_psql('crondb', "SELECT cron.unschedule('probe')") if $rc == 0;
note "pg_cron schedule: '$schedule'" . ($rc == 0 ? '' : " ('1 seconds' refused: $err)");

$node->safe_psql('crondb', qq{
SELECT reverse_etl.create_mapping('items', 'hook', 'send', $fields, name => 'cron_m',
                                  schedule => '1 hour', enabled => true);
SELECT cron.schedule('reverse_etl', '$schedule', 'SELECT reverse_etl.run_due_syncs()');
});
my $job_scheduled_at = time;
is($node->safe_psql('crondb', q{
SELECT next_run_at <= now() FROM reverse_etl.mappings WHERE name = 'cron_m'}), 't',
   'crondb: the interval mapping is due at once');

# ---------------------------------------------------------------- part 1
# Three due interval mappings and a requested run of a manual one; at most
# reverse_etl.max_parallel_syncs (2) start per call.
$node->safe_psql('direct', qq{
SELECT reverse_etl.create_mapping('items', 'hook', 'send', $fields, name => 'd' || g,
                                  schedule => '1 hour', enabled => true)
  FROM generate_series(1, 3) g;
SELECT reverse_etl.create_mapping('items', 'hook', 'send', $fields, name => 'requested', enabled => true);
});
my $requested = $node->safe_psql('direct', "SELECT reverse_etl.request_sync('requested')");
like($requested, qr/^\d+$/, 'direct: request_sync() queues a run');
sleep 1;
is($node->safe_psql('direct', 'SELECT count(*) FROM reverse_etl.run_catalog'), '1',
   'direct: nothing runs by itself (the launcher watches another database)');
is($node->safe_psql('direct', "SELECT status FROM reverse_etl.run_catalog WHERE run_id = $requested"), 'queued',
   'direct: the requested run stays queued');

# Workers start when the transaction commits: in it, the runs are still queued.
my $session = $node->background_psql('direct');
$session->query_safe('BEGIN');
my $first = $session->query_safe('SELECT reverse_etl.run_due_syncs()');
is($first, '2', 'direct: run_due_syncs() starts max_parallel_syncs = 2 runs');
is($session->query_safe(q{
SELECT string_agg(p.name || ' ' || r.trigger || ' ' || r.status, ', ' ORDER BY p.name)
  FROM reverse_etl.run_catalog r JOIN reverse_etl.mapping_catalog p USING (mapping_id)}),
   'd1 pg_cron queued, d2 pg_cron queued, d3 pg_cron queued, requested manual queued',
   'direct: it queued every due mapping (trigger pg_cron) besides the requested run');
$session->query_safe('SELECT pg_sleep(0.5)');
is($node->safe_psql('direct', "SELECT count(*) FROM reverse_etl.run_catalog WHERE status <> 'queued'"), '0',
   'direct: before COMMIT no run started');
$session->query_safe('COMMIT');
ok($node->poll_query_until('direct',
    "SELECT count(*) = 2 FROM reverse_etl.run_catalog WHERE status = 'succeeded'"),
   'direct: after COMMIT the two started runs succeed');
# Which of d1-d3 went first is not defined (they were due at the same time).
is($node->safe_psql('direct', q{
SELECT string_agg(x, ', ' ORDER BY x) FROM (
    SELECT CASE WHEN p.name = 'requested' THEN p.name ELSE 'd' END || ' ' || r.trigger || ' ' || r.status AS x
      FROM reverse_etl.run_catalog r JOIN reverse_etl.mapping_catalog p USING (mapping_id)) s}),
   'd pg_cron queued, d pg_cron queued, d pg_cron succeeded, requested manual succeeded',
   'direct: the requested run and one due mapping ran; the others wait');

# Rolled back: nothing starts, the runs stay queued.
$session->query_safe('BEGIN');
is($session->query_safe('SELECT reverse_etl.run_due_syncs()'), '2', 'direct: a second call would start 2');
$session->query_safe('ROLLBACK');
$session->query_safe('SELECT pg_sleep(0.5)');
is($node->safe_psql('direct', "SELECT count(*) FROM reverse_etl.run_catalog WHERE status = 'queued'"), '2',
   'direct: ... but rolled back, it started nothing');

is($session->query_safe('SELECT reverse_etl.run_due_syncs()'), '2', 'direct: the next call starts the other 2');
ok($node->poll_query_until('direct',
    "SELECT count(*) = 4 FROM reverse_etl.run_catalog WHERE status = 'succeeded'"),
   'direct: and they succeed');
is($session->query_safe('SELECT reverse_etl.run_due_syncs()'), '0', 'direct: then nothing is due: 0');
is($node->safe_psql('direct', q{
SELECT count(*) FROM reverse_etl.mappings
 WHERE name LIKE 'd_' AND next_run_at BETWEEN now() + interval '59 minutes' AND now() + interval '1 hour'}),
   '3', 'direct: the interval mappings are planned an hour later');
$session->quit;
my $got = received();
is($got->{$_}, '1,2,3,4,5', "direct: the mock received every record of $_") for qw(requested d1 d2 d3);

# ---------------------------------------------------------------- part 2
# The pg_cron job fires (at the next minute with '* * * * *').
my $timeout = $schedule eq '1 seconds' ? 20 : 75;
my $succeeded = 0;
for (my $deadline = time + $timeout; time < $deadline; sleep 1) {
    $succeeded = $node->safe_psql('crondb',
        "SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'cron_m' AND status = 'succeeded'");
    last if $succeeded > 0;
}
note sprintf('the pg_cron run ended %.1f s after the job was scheduled', time - $job_scheduled_at);
is($succeeded, '1', 'crondb: the pg_cron job ran the interval mapping');
is($node->safe_psql('crondb', q{
SELECT string_agg(trigger || ' ' || status || ' ' || records_added || ' ' || records_succeeded, ', ')
  FROM reverse_etl.sync_runs WHERE mapping = 'cron_m'}),
   'pg_cron succeeded 5 5', 'crondb: one run, trigger pg_cron, 5 records delivered');
is(received()->{cron_m}, '1,2,3,4,5', 'crondb: the mock received every record');
ok($node->poll_query_until('crondb', q{
SELECT count(*) > 0 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
 WHERE j.jobname = 'reverse_etl' AND d.status = 'succeeded'}),
   'crondb: cron.job_run_details shows the job succeeded');
$node->safe_psql('crondb', "SELECT cron.unschedule('reverse_etl')");
is($node->safe_psql('crondb', "SELECT count(*) FROM reverse_etl.run_catalog WHERE status IN ('queued', 'running')"),
   '0', 'crondb: no run left queued or running');

$node->stop;
$mock->signal('TERM');
$mock->finish;
note sprintf('005_pg_cron: %.1f s', time - $started_at);
done_testing();
