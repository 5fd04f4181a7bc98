# Live syncs (schedule 'live', docs/live-syncs.md): a change reaches the
# destination seconds after it commits, through the capture trigger on the
# model's table and a run the launcher starts; a rolled-back change is never
# sent; a change to a column the mapping does not send sends nothing; a
# crash between commit and delivery loses nothing; a disabled mapping
# catches up when enabled; a mapping that stops being live stops capturing.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);

my $mock = ReverseEtlTest::Mock->start(name => 'mock_033');
my $node = new_node('live');
my $url = $mock->url('/people');
$node->safe_psql('postgres', qq{
CREATE TABLE public.people (id int PRIMARY KEY, email text, note text);
INSERT INTO public.people VALUES (1, 'ann\@live.test', 'n1'), (2, 'bob\@live.test', 'n2');
SELECT reverse_etl.create_model('people', 'SELECT id, email FROM public.people', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'hook', 'send',
    '{"id": "id", "email": "email", "change": {"meta": "change"}}',
    sync_mode => 'all', schedule => 'live', enabled => true, name => 'people_live');
});

# The records received so far, as "change id email" lines in arrival order.
sub received
{
	return map { "$_->{change} $_->{id} " . ($_->{email} // '') } $mock->records;
}

# Waits until the destination has received $count records; returns the
# seconds it took from $since.
sub wait_records
{
	my ($count, $since) = @_;
	my $ok = wait_until(sub { scalar(received()) >= $count }, 30);
	return $ok ? time() - $since : undef;
}

sub last_status
{
	return $node->safe_psql('postgres',
		"SELECT trigger || ' ' || status FROM reverse_etl.sync_runs WHERE mapping = 'people_live' "
		  . "ORDER BY run_id DESC LIMIT 1");
}

# The first run sets the capture up and sends what the model holds.
my $start = time();
ok(defined wait_records(2, $start), 'the first live run sends the model');
is(join(',', sort(received())), 'added 1 ann@live.test,added 2 bob@live.test', 'both records, as added');
ok(poll_sql($node, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.people'::regclass "
	  . "AND tgname = 'reverse_etl_live_capture'", '1'), 'the capture trigger is on the table');
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl_state.live_pending", '0'), 'nothing is pending after it');
is($node->safe_psql('postgres', "SELECT next_run_at IS NULL FROM reverse_etl.mappings WHERE name = 'people_live'"),
	't', 'a live mapping has no next_run_at');
is(last_status(), 'live succeeded', 'the run was started by the live schedule');

# An insert, an update and a delete, each delivered seconds after it commits.
my @steps = (
	[ "INSERT INTO public.people VALUES (3, 'cy\@live.test', 'n3')", 'added 3 cy@live.test' ],
	[ "UPDATE public.people SET email = 'ann\@new.test' WHERE id = 1", 'updated 1 ann@new.test' ],
	[ "DELETE FROM public.people WHERE id = 2", 'deleted 2 ' ],);
my $expected = 2;
for my $step (@steps)
{
	my ($sql, $record) = @$step;
	$start = time();
	$node->safe_psql('postgres', $sql);
	$expected++;
	my $took = wait_records($expected, $start);
	ok(defined $took, "delivered after commit: $sql");
	is((received())[-1], $record, "  as $record");
	ok(defined $took && $took < 10, sprintf("  within seconds (%.1f s)", $took // -1));
}

# A rolled-back change records nothing and is never sent; the committed one
# after it is.
$node->safe_psql('postgres', "BEGIN; INSERT INTO public.people VALUES (4, 'rolled\@live.test', 'x'); ROLLBACK;");
$node->safe_psql('postgres', "INSERT INTO public.people VALUES (5, 'eve\@live.test', 'n5')");
ok(defined wait_records($expected + 1, time()), 'the committed change after a rollback is delivered');
$expected++;
is((received())[-1], 'added 5 eve@live.test', '  it is the committed one');
ok(!grep({ /rolled/ } received()), 'the rolled-back insert was never sent');

# A change to a column the mapping does not send: a run, and no request.
my $runs = $node->safe_psql('postgres', "SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'people_live'");
$node->safe_psql('postgres', "UPDATE public.people SET note = 'changed' WHERE id = 1");
ok(poll_sql($node, "SELECT count(*) > $runs AND bool_and(status = 'succeeded') FROM reverse_etl.sync_runs "
	  . "WHERE mapping = 'people_live'"), 'a change to an unsent column runs the mapping');
is(scalar(received()), $expected, 'and sends nothing');

# kill -9 of the run between the commit and the delivery: the change stays
# pending and the run after the restart delivers it.
$mock->config({ default => { status => 200, delay_ms => 4000 } });
$node->safe_psql('postgres', "UPDATE public.people SET email = 'cy\@crash.test' WHERE id = 3");
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_progress p JOIN reverse_etl.sync_runs r USING (run_id) "
	  . "WHERE r.mapping = 'people_live' AND p.phase = 'delivering'", '1'), 'the live run is delivering');
my $pid = $node->safe_psql('postgres',
	"SELECT p.pid FROM reverse_etl.sync_progress p JOIN reverse_etl.sync_runs r USING (run_id) WHERE r.mapping = 'people_live'");
kill 'KILL', $pid;
$mock->config({ default => { status => 200 } });
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl_state.live_pending", '1', 60), 'after the crash the change is still pending');
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl_state.live_pending", '0', 90), 'a run after the restart settles it');
ok(grep({ $_ eq 'updated 3 cy@crash.test' } received()), 'the change was delivered');
is(last_status(), 'live succeeded', '  by a live run');
$expected = scalar(received());

# Disabled, the mapping sends nothing; enabled again, it catches up.
$node->safe_psql('postgres', "SELECT reverse_etl.disable_mapping('people_live')");
$node->safe_psql('postgres', "INSERT INTO public.people VALUES (6, 'fay\@live.test', 'n6')");
sleep(2);
is(scalar(received()), $expected, 'a disabled live mapping sends nothing');
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl_state.live_pending", '1'), 'but keeps the change pending');
is($node->safe_psql('postgres', "SELECT live_changes_since <= now() AND live_changes_since > now() - interval '1 minute' "
	  . "FROM reverse_etl.mapping_status WHERE mapping = 'people_live'"),
	't', '  which mapping_status shows, with since when');
$node->safe_psql('postgres', "SELECT reverse_etl.enable_mapping('people_live')");
ok(defined wait_records($expected + 1, time()), 'enabled again, it catches up');
is((received())[-1], 'added 6 fay@live.test', '  with the change made meanwhile');
ok(poll_sql($node, "SELECT live_changes_since IS NULL FROM reverse_etl.mapping_status WHERE mapping = 'people_live'"),
	'  after which nothing waits');
$expected++;

# reset_mapping: the next run resends every record, and for a live mapping
# it comes at once.
$node->safe_psql('postgres', "SELECT reverse_etl.reset_mapping('people_live')");
ok(defined wait_records($expected + 4, time()), 'reset, a live mapping resends its four records');
is(join(',', sort(map { (split / /)[1] } (received())[-4 .. -1])), '1,3,5,6', '  every one of them');
$expected += 4;

# No longer live: the capture is forgotten and changes wait for a run.
$node->safe_psql('postgres', "SELECT reverse_etl.alter_mapping('people_live', schedule => 'manual')");
is($node->safe_psql('postgres', "SELECT count(*) FROM reverse_etl_state.live_capture"), '0',
	'a mapping made manual captures nothing');
$node->safe_psql('postgres', "INSERT INTO public.people VALUES (7, 'gus\@live.test', 'n7')");
sleep(2);
is(scalar(received()), $expected, 'and its changes wait for a sync');

# Two live mappings whose first runs set up the same new table at once (two
# sync workers): a writer holds the table, so both runs reach the trigger's
# creation before either can create it; both succeed, the second finding
# the first's trigger.
$node->safe_psql('postgres', q{
CREATE TABLE public.pairs (id int PRIMARY KEY);
INSERT INTO public.pairs SELECT generate_series(1, 3);
SELECT reverse_etl.create_model('pairs', 'SELECT id FROM public.pairs', 'id');
});
my ($in, $out, $err) = ("BEGIN;\nUPDATE public.pairs SET id = id WHERE false;\nSELECT 'holding';\n", '', '');
my $writer = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ], '<', \$in, '>', \$out, '2>', \$err);
ok(wait_until(sub { $writer->pump_nb; $out =~ /holding/ }, 30), 'a writer holds the new table');
$node->safe_psql('postgres', q{
BEGIN;
SELECT reverse_etl.create_mapping('pairs', 'hook', 'send', '{"id": "id"}', schedule => 'live', enabled => true,
                                  name => 'pairs one');
SELECT reverse_etl.create_mapping('pairs', 'hook', 'send', '{"id": "id"}', schedule => 'live', enabled => true,
                                  name => 'pairs two');
COMMIT;
});
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping LIKE 'pairs %' AND status = 'running'",
	'2'), 'both first runs are running');
ok(poll_sql($node, "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid IN "
	  . "(SELECT pid FROM reverse_etl.sync_progress WHERE mapping LIKE 'pairs %')", '2'),
	'  both wait to set the table up');
$in .= "COMMIT;\n";
$writer->finish;
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping LIKE 'pairs %' AND status = 'succeeded'",
	'2'), 'both succeed once the writer commits');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping LIKE 'pairs %' AND status <> 'succeeded'"),
	'0', '  neither first run failed');
is($node->safe_psql('postgres', "SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger "
	  . "WHERE tgrelid = 'public.pairs'::regclass"),
	'reverse_etl_live_capture,reverse_etl_live_keys_delete,reverse_etl_live_keys_insert,reverse_etl_live_keys_update',
	'  and the table has one set of capture triggers');

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal (?!9)/, 'no process crashed');
$node->stop;
$mock->stop;
done_testing();
