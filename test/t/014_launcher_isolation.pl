# The launcher schedules each due mapping in a subtransaction of its own: a
# mapping whose stored schedule or time zone cannot be evaluated (written
# into the catalog directly, or a time zone the server no longer knows) is
# taken off the schedule, with one WARNING in the server log and the reason
# in mapping_status.schedule_error, while the other mappings keep running.
# Correcting it with alter_mapping() puts it back on the schedule.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_013');
# WARNINGs go to the log too (log_min_messages = log leaves them out).
my $node = new_node('launcher_isolation', naptime => '200ms', conf => "log_min_messages = warning\n");
sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $launcher = launcher_pid($node);
like($launcher, qr/^\d+$/, 'the launcher runs');
my $log_offset = -s $node->logfile;

# Three enabled mappings, two of them broken by direct catalog writes and
# due before the good one, all in one transaction: the launcher sees them
# only as they are at the end.
my $url = $mock->url('/iso');
q1(qq{
BEGIN;
CREATE TABLE public.items (id int PRIMARY KEY);
INSERT INTO public.items VALUES (1), (2);
SELECT reverse_etl.create_model('items', 'SELECT id FROM public.items', 'id');
SELECT reverse_etl.create_destination('iso', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('items', 'iso', 'send', '{"id": "id"}', name => 'good',
                                  schedule => '1 hour', enabled => true);
SELECT reverse_etl.create_mapping('items', 'iso', 'send', '{"id": "id"}', name => 'bad zone',
                                  schedule => 'daily 06:00', enabled => true);
SELECT reverse_etl.create_mapping('items', 'iso', 'send', '{"id": "id"}', name => 'bad schedule',
                                  schedule => 'daily 06:00', enabled => true);
UPDATE reverse_etl.mapping_catalog SET timezone = 'Not/AZone', next_run_at = now() - interval '1 minute'
 WHERE name = 'bad zone';
UPDATE reverse_etl.mapping_catalog SET schedule = '*/5 * * * * *', next_run_at = now() - interval '2 minutes'
 WHERE name = 'bad schedule';
COMMIT;
});

ok( poll_sql($node,
		"SELECT status || '/' || trigger FROM reverse_etl.sync_runs WHERE mapping = 'good'",
		'succeeded/schedule', 30),
	'the good mapping ran on schedule');
is( q1(
		"SELECT string_agg(mapping || ': ' || coalesce(next_run_at::text, 'no next run') || ', ' "
		  . "|| coalesce(schedule_error, 'no error'), E'\\n' ORDER BY mapping) "
		  . "FROM reverse_etl.mapping_status"),
	qq{bad schedule: no next run, invalid schedule "*/5 * * * * *"
bad zone: no next run, time zone "Not/AZone" not recognized
good: } . q1("SELECT next_run_at FROM reverse_etl.mappings WHERE name = 'good'") . ', no error',
	'mapping_status shows why the broken mappings are off the schedule');
is(q1("SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping <> 'good'"),
	'0', 'no run of a broken mapping was queued');

# Many passes later (naptime 200 ms), each broken mapping was reported once,
# and no pass failed.
sleep 2;
my $log = slurp_file($node->logfile, $log_offset);
my @zone = $log =~ /WARNING:  mapping "bad zone" cannot be scheduled: time zone "Not\/AZone" not recognized/g;
my @schedule = $log =~ /WARNING:  mapping "bad schedule" cannot be scheduled: invalid schedule/g;
is(scalar(@zone), 1, 'the broken time zone was reported once in the server log');
is(scalar(@schedule), 1, 'the broken schedule was reported once in the server log');
unlike($log, qr/reverse_etl launcher: /, 'no launcher pass failed');
is(launcher_pid($node), $launcher, 'the same launcher is still running');

# Corrected: on the schedule again, and it runs (an interval mapping is due
# at once).
q1("SELECT reverse_etl.alter_mapping('bad zone', schedule => '1 hour', timezone => 'UTC')");
is(q1("SELECT schedule_error IS NULL AND next_run_at IS NOT NULL FROM reverse_etl.mapping_status "
		  . "WHERE mapping = 'bad zone'"),
	't', 'alter_mapping clears the error and plans the next run');
ok( poll_sql($node,
		"SELECT status || '/' || trigger FROM reverse_etl.sync_runs WHERE mapping = 'bad zone'",
		'succeeded/schedule', 30),
	'the corrected mapping runs on schedule');

$node->stop;
done_testing();
