# Parallel extraction (docs/performance.md): a first sync that reads the
# model itself (here: one whose identifier is not proven unique; one whose
# identifier is streams it through a model reader, t/035) does so with a
# SELECT that PostgreSQL may plan with parallel workers
# (pg::select_into_table), as it does for a large model. Here the planner's
# parallel costs are set to nothing so that a small table gets such a plan,
# and auto_explain shows the workers the run's statement launched.
#
#  - The workers run the model's query as its owner (current_user in the
#    records sent), read-only: a model whose function, marked PARALLEL SAFE,
#    writes a table fails its run, and the table stays empty.
#  - Every record reaches the destination once, and the checkpoint holds them.
#  - A diff of a model whose ids are not proven unique reads the ids and
#    hashes with parallel workers too, and finds the records changed.
#  - A parallel worker killed (kill -9) in the middle of the extraction: the
#    server restarts, the run is recorded as interrupted, nothing was sent,
#    and the next run sends every record once.
#  - The diff of a model whose id is proven unique runs with parallel
#    workers too; it finds additions, updates and deletions, and looks for
#    deletions only when the model has fewer checkpointed records than the
#    checkpoint.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $rows = 3000;
my $mock = ReverseEtlTest::Mock->start(name => 'mock_031');
my $node = new_node(
	'parallel_extraction',
	conf => qq{
shared_preload_libraries = 'reverse_etl,auto_explain'
max_parallel_workers_per_gather = 2
parallel_setup_cost = 0
parallel_tuple_cost = 0
min_parallel_table_scan_size = 0
auto_explain.log_min_duration = 0
auto_explain.log_analyze = on
auto_explain.log_nested_statements = on
});

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $url = $mock->url('/items');
q1(qq{
CREATE ROLE alice LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO alice;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO alice;
CREATE SCHEMA AUTHORIZATION alice;
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url", "batch_size": 100}', enabled => true);
SET ROLE alice;
CREATE TABLE alice.items (id int PRIMARY KEY, label text NOT NULL);
INSERT INTO alice.items SELECT g, 'item ' || g FROM generate_series(1, $rows) g;
ANALYZE alice.items;
CREATE TABLE alice.written (id int);
-- Marked PARALLEL SAFE, yet it writes: PostgreSQL trusts the label.
CREATE FUNCTION alice.sneaky(int) RETURNS int LANGUAGE plpgsql PARALLEL SAFE
  AS \$\$ BEGIN INSERT INTO alice.written VALUES (\$1); RETURN \$1; END \$\$;
-- Two milliseconds a row: an extraction that lasts a few seconds.
CREATE FUNCTION alice.slowly(int) RETURNS int LANGUAGE sql PARALLEL SAFE
  AS 'SELECT \$1 FROM pg_catalog.pg_sleep(0.002)';
SELECT reverse_etl.create_model('items', 'SELECT id, label, current_user AS who FROM alice.items', 'id');
SELECT reverse_etl.create_model('sneaky', 'SELECT alice.sneaky(id) AS id, label FROM alice.items', 'id');
SELECT reverse_etl.create_model('slow', 'SELECT alice.slowly(id) AS id, label FROM alice.items', 'id');
-- An id the engine can not prove unique: a diff groups the ids first.
SELECT reverse_etl.create_model('grouped', 'SELECT id + 0 AS id, label FROM alice.items', 'id');
RESET ROLE;
SELECT reverse_etl.create_mapping('items', 'hook', 'send', '{"id": "id", "label": "label", "who": "who"}',
    name => 'items');
SELECT reverse_etl.create_mapping('sneaky', 'hook', 'send', '{"id": "id"}', name => 'sneaky');
SELECT reverse_etl.create_mapping('slow', 'hook', 'send', '{"id": "id"}', name => 'slow');
SELECT reverse_etl.create_mapping('grouped', 'hook', 'send', '{"id": "id", "label": "label"}', name => 'grouped');
});

# The first statement matching $pattern that auto_explain logged after
# $offset of the server log: its text and plan.
sub logged_plan
{
	my ($offset, $pattern) = @_;
	my $log = slurp_file($node->logfile, $offset);
	my @plans = grep { /$pattern/ } split /\n(?=\S.*LOG:  duration: )/, $log;
	return $plans[0] // '';
}

# The statement that filled a first run's outbox from the model.
sub outbox_fill_plan { return logged_plan($_[0], qr/'added'::text, reverse_etl_state.record_hash.*render_values/); }

# ---------------------------------------------------------------- a parallel first sync
my $offset = -s $node->logfile;
is(q1("SELECT status || ' ' || records_added || ' ' || records_succeeded FROM reverse_etl.sync('items')"),
	"succeeded $rows $rows", 'a first sync sends every record');
# Its identifier is proven unique: the model reader streams the records to
# delivery (t/035), and reads the model alone, the sync worker delivering on
# the second core.
my $plan = outbox_fill_plan($offset);
like($plan, qr/Seq Scan on items/, "the model reader's statement was logged") or diag($plan);
unlike($plan, qr/Gather/, 'the model reader read the model without parallel workers');
my @records = $mock->records;
is(scalar(@records), $rows, 'the destination received each record once');
is(join(',', sort { $a <=> $b } map { $_->{id} } @records), join(',', 1 .. $rows), '... every one of them');
is(join(',', sort keys %{ { map { $_->{who} => 1 } @records } }), 'alice',
	"the model's query ran as its owner, in the workers too");
is((grep { $_->{label} ne "item $_->{id}" } @records), 0, 'every record carries its own values');
is(checkpoint_count($node, 'items'), $rows, 'the checkpoint holds every record');

# ---------------------------------------------------------------- a parallel diff
$mock->reset;
$offset = -s $node->logfile;
is(q1("SELECT records_added FROM reverse_etl.sync('grouped')"), $rows, 'a model of unproven ids: first sync');
# Its duplicates are found over the whole outbox: the sync worker reads the
# model itself, with parallel workers.
$plan = outbox_fill_plan($offset);
like($plan, qr/Workers Launched: [1-9]/, 'its extraction ran with parallel workers') or diag($plan);
q1("UPDATE alice.items SET label = 'changed ' || id WHERE id % 100 = 0");
$mock->reset;
$offset = -s $node->logfile;
is(q1("SELECT records_updated || ' ' || records_unchanged || ' ' || records_succeeded FROM reverse_etl.sync('grouped')"),
	'30 2970 30', '... the next run finds the 30 records changed among the ids and hashes it grouped');
like(logged_plan($offset, qr/Query Text: SELECT \(\(m."id"\)::text COLLATE "C"\), reverse_etl_state.record_hash/),
	qr/Workers Launched: [1-9]/, "... which parallel workers read from the model");
is(join(',', sort map { "$_->{id}:$_->{label}" } $mock->records),
	join(',', sort map { "$_:changed $_" } grep { $_ % 100 == 0 } 1 .. $rows), '... and sends them, changed');

# ---------------------------------------------------------------- read-only in the workers
$mock->reset;
my $sneaky = q1("SELECT status || ': ' || error FROM reverse_etl.sync('sneaky')");
like($sneaky, qr/^failed: .*(read-only transaction|parallel)/,
	"a model's function that writes fails the run ($sneaky)");
is(q1('SELECT count(*) FROM alice.written'), '0', '... and the table it writes stays empty');
is(scalar(@{ $mock->requests }), 0, '... and nothing was sent');

# ---------------------------------------------------------------- a worker killed mid-extraction
$mock->reset;
my $run = q1("SELECT reverse_etl.request_sync('slow')");
ok( poll_sql($node,
		"SELECT count(*) > 0 FROM pg_stat_activity a JOIN reverse_etl.sync_progress p ON a.leader_pid = p.pid "
		  . "WHERE p.run_id = $run AND a.backend_type = 'parallel worker'"),
	'the run extracts with a parallel worker');
my $worker = q1("SELECT a.pid FROM pg_stat_activity a JOIN reverse_etl.sync_progress p ON a.leader_pid = p.pid "
	  . "WHERE p.run_id = $run AND a.backend_type = 'parallel worker' LIMIT 1");
kill 'KILL', $worker;
ok( poll_sql($node, "SELECT status || ': ' || error FROM reverse_etl.sync_runs WHERE run_id = $run",
		'failed: interrupted by server restart', 60),
	'after kill -9 of the parallel worker the run is recorded as interrupted');
is(scalar(@{ $mock->requests }), 0, 'nothing was sent before the extraction ended');
is(checkpoint_count($node, 'slow'), '0', 'nothing is checkpointed');
is(q1("SELECT status || ' ' || records_added || ' ' || records_succeeded FROM reverse_etl.sync('slow')"),
	"succeeded $rows $rows", 'the next run sends every record');
@records = $mock->records;
is(join(',', sort { $a <=> $b } map { $_->{id} } @records), join(',', 1 .. $rows), '... each once');
is(checkpoint_count($node, 'slow'), $rows, '... and checkpoints them');

# ---------------------------------------------------------------- a parallel diff of unique ids
# The model's id is its table's primary key: the diff is a LEFT JOIN that
# parallel workers run, then a count of the model's records, and a search
# for deleted ones only when the count says some went away. One record goes
# and another comes, so the model has as many records as the checkpoint.
my $new_id = $rows + 1;
q1("UPDATE alice.items SET label = 'renamed ' || id WHERE id % 100 = 0");
q1("DELETE FROM alice.items WHERE id = 1");
q1("INSERT INTO alice.items VALUES ($new_id, 'item $new_id')");
$mock->reset;
$offset = -s $node->logfile;
is( q1( "SELECT records_added || ' ' || records_updated || ' ' || records_deleted || ' ' || records_unchanged "
		  . "|| ' ' || records_succeeded FROM reverse_etl.sync('items')"),
	'1 30 1 2969 31', 'a resync of a unique id finds 1 added, 30 updated and 1 deleted record among as many');
like(logged_plan($offset, qr/Query Text: SELECT d\.rid, d\.chg, d\.hash, d\.ver, 1::bigint/),
	qr/Workers Launched: [1-9]/, '... its diff ran with parallel workers');
like(logged_plan($offset, qr/Query Text: SELECT k\.record_id, 'deleted'::text/),
	qr/Workers Launched|Anti Join/, '... and the deletion step ran');
is(join(',', sort { $a <=> $b } map { $_->{id} } $mock->records),
	join(',', (grep { $_ % 100 == 0 } 1 .. $rows), $new_id), '... the added and updated records were sent');
is(join(',', sort map { $_->{label} } grep { $_->{id} != $new_id } $mock->records),
	join(',', sort map { "renamed $_" } grep { $_ % 100 == 0 } 1 .. $rows), '... with their new values');
is(q1("SELECT count(*) || ' ' || count(*) FILTER (WHERE record_id = '1') || ' ' || count(*) FILTER (WHERE record_id = '$new_id') "
		  . 'FROM reverse_etl_state.checkpoint_' . mapping_id($node, 'items')),
	"$rows 0 1", '... and the checkpoint lost the deleted record and gained the added one');
$mock->reset;
$offset = -s $node->logfile;
is(q1("SELECT records_unchanged || ' ' || records_deleted || ' ' || records_selected FROM reverse_etl.sync('items')"),
	"$rows 0 0", 'the next resync finds nothing changed');
is(logged_plan($offset, qr/Query Text: SELECT k\.record_id, 'deleted'::text/), '',
	'... and, the count showing every checkpointed record, skips the deletion step');
q1("DELETE FROM alice.items WHERE id % 1000 = 0");
$mock->reset;
is(q1("SELECT records_deleted || ' ' || records_unchanged || ' ' || records_selected FROM reverse_etl.sync('items')"),
	'3 ' . ($rows - 3) . ' 0', 'records deleted alone are found (and not sent: the sync mode sends no deletions)');
is(scalar(@{ $mock->requests }), 0, '... nothing was sent');
is(checkpoint_count($node, 'items'), $rows - 3, '... and the checkpoint forgot them');

# ---------------------------------------------------------------- changed records looked up by their id
# A resync reads the values of the changed records back by their id, as
# the id column's type (its unique index can find them). Deleted records
# are not read back: here the model's id turns from int to text, and the
# ids the checkpoint holds go out as deletions.
q1(q{
SET ROLE alice;
CREATE TABLE alice.tagged (tag text PRIMARY KEY, n int NOT NULL UNIQUE);
INSERT INTO alice.tagged VALUES ('x1', 1), ('x2', 2), ('x3', 3);
SELECT reverse_etl.create_model('tagged', 'SELECT n AS id, tag FROM alice.tagged', 'id');
RESET ROLE;
SELECT reverse_etl.create_mapping('tagged', 'hook', 'send', '{"id": "id", "tag": "tag"}', name => 'tagged',
    sync_mode => 'all');
});
is(q1("SELECT records_added FROM reverse_etl.sync('tagged')"), '3', 'int ids: first sync');
q1("UPDATE alice.tagged SET tag = 'y2' WHERE n = 2");
$mock->reset;
is(q1("SELECT records_updated || ' ' || records_succeeded FROM reverse_etl.sync('tagged')"), '1 1',
	'a changed record is found by its id');
is(join(',', map { "$_->{id}:$_->{tag}" } $mock->records), '2:y2', '... and sent with its new value');
q1("SET ROLE alice; SELECT reverse_etl.alter_model('tagged', query => 'SELECT tag AS id, tag FROM alice.tagged')");
$mock->reset;
is( q1( "SELECT status || ' ' || records_added || ' ' || records_deleted || ' ' || records_succeeded "
		  . "FROM reverse_etl.sync('tagged')"),
	'succeeded 3 3 6', 'the id turned text: 3 added, and the 3 int ids deleted');
is(join(',', sort map { $_->{id} } $mock->records), '1,2,3,x1,x3,y2', '... every one of them sent');

my @signals = grep { !/signal 9/ } (slurp_file($node->logfile) =~ /^.*terminated by signal.*$/mg);
is(scalar(@signals), 0, 'no process ended by a signal other than the test\'s kill -9') or diag(join("\n", @signals));

$node->stop;
$mock->stop;
done_testing();
