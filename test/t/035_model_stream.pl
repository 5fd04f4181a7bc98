# The pipeline of a first sync (docs/performance.md): a model reader (a
# background worker of its own) runs the model's query and streams the
# records to the run, which logs and delivers them while the reader reads
# on. The model here is slow on purpose (a millisecond a row), so the
# overlap, and each point where the pipeline can break, can be reached.
#
#  1. Delivery starts while the reader is still reading; every record
#     reaches the destination once, the checkpoint holds them all, the run
#     counts them, the selection log is empty after it, and no reader is left.
#  2. Writes committed while the reader reads (an update, an insert, a
#     delete) are not in the run (one snapshot); the next run sends them.
#  3. The reader terminated (pg_terminate_backend) mid-stream: the run fails
#     with a clear error, keeps what the destination acknowledged, and the
#     next run sends the rest; nothing is lost.
#  4. The reader killed (kill -9) mid-stream, and the sync worker killed
#     (kill -9) mid-stream: the server restarts, the run is recorded as
#     interrupted, and the next run sends what was not acknowledged. The
#     sync worker killed again inside a checkpoint write (held there by a
#     lock the test takes), after a flush committed some rows: those rows
#     come back whole, and the next run finds exactly them unchanged.
#  5. The model fails part-way (division by zero): the run fails with the
#     model's error, and keeps what was acknowledged.
#  6. cancel_sync mid-stream: the run is canceled and its reader stops.
#  7. The identifier stops being provably unique while the reader reads
#     (a first inheritance child): the run fails with the reason, and the
#     next run sends the rest.
#  8. No background worker slot for a reader (max_worker_processes): the run
#     reads the model itself, as before, and sends every record.
#  9. A fast model: chunks of thousands of records, planned a thousand at
#     a time as they are taken (their requests wait for the chunk's commit):
#     full requests, each record once, the checkpoint whole; the sync worker
#     killed (kill -9) in such a run, and the next run sends the rest.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $rows = 3000;
my $mock = ReverseEtlTest::Mock->start(name => 'mock_035');
my $node = new_node('model_stream');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $url = $mock->url('/items');
q1(qq{
CREATE TABLE public.items (id int PRIMARY KEY, label text NOT NULL);
INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, $rows) g;
-- A millisecond a row while public.slow has a row: reading the model takes
-- seconds. (The runs after each scenario's, which diff the model, need not
-- wait.) At row 2500 it divides by zero when public.fail_at says so.
CREATE TABLE public.slow (on_ boolean);
INSERT INTO public.slow VALUES (true);
CREATE TABLE public.fail_at (id int);
CREATE FUNCTION public.slowly(id int) RETURNS int LANGUAGE sql
  AS 'SELECT id / CASE WHEN EXISTS (SELECT 1 FROM public.fail_at f WHERE f.id = slowly.id) THEN 0 ELSE 1 END
      FROM pg_catalog.pg_sleep(CASE WHEN EXISTS (SELECT 1 FROM public.slow) THEN 0.001 ELSE 0 END)';
SELECT reverse_etl.create_model('items', 'SELECT id, label, public.slowly(id) AS n FROM public.items', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url", "batch_size": 50}', enabled => true);
});

my $mapping_number = 0;

# A new mapping of the model (a first run each), sync_mode 'all'.
sub new_mapping
{
	my $name = 'stream_' . ++$mapping_number;
	q1("SELECT reverse_etl.create_mapping('items', 'hook', 'send', "
		  . "'{\"id\": \"id\", \"label\": \"label\", \"change\": {\"meta\": \"change\"}}', "
		  . "sync_mode => 'all', name => '$name')");
	return $name;
}

sub reader_count
{
	return q1("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'reverse_etl model reader'");
}

# Starts sync($mapping) in a session of its own; returns [handle, \stdout, \stderr].
sub start_sync
{
	my ($mapping) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAt', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
			'-c', "SELECT run_id || ' ' || status FROM reverse_etl.sync('$mapping')" ],
		'<', \undef, '>', \$out, '2>', \$err);
	return [ $h, \$out, \$err ];
}

sub finish_sync
{
	my ($sync) = @_;
	eval { $sync->[0]->finish; };
	return (${ $sync->[1] }, ${ $sync->[2] });
}

# Waits until the destination received records while the model reader is
# still reading: the overlap every scenario interrupts.
sub wait_for_overlap
{
	my ($label) = @_;
	ok($mock->wait_for(2, 30), "$label: the destination received requests");
	is(reader_count(), '1', "$label: ... while the model reader still reads");
}

# kill -9 of the process of backend type $victim while run $run is under
# way; the server restarts and records the run as interrupted.
sub kill_mid_run
{
	my ($victim, $run, $label) = @_;
	my $pid = q1("SELECT pid FROM pg_stat_activity WHERE backend_type = '$victim'");
	like($pid, qr/^\d+$/, "$label: its pid");
	kill_run_process($node, $pid, $run, "$label: after the restart the run is recorded as interrupted");
}

sub received_ids
{
	my %count;
	$count{ $_->{id} }++ for grep { defined $_->{id} } $mock->records('path_prefix=/items');
	return \%count;
}

# The next run, without delays: succeeds, and across both runs the mock
# received every record, the checkpoint holds them all.
sub next_run_completes
{
	my ($mapping, $label) = @_;
	$mock->config({ default => { delay_ms => 0 } });
	q1('DELETE FROM public.slow');
	my ($status, $added, $unchanged) =
	  split / /, q1("SELECT status || ' ' || records_added || ' ' || records_unchanged FROM reverse_etl.sync('$mapping')");
	is($status, 'succeeded', "$label: the next run succeeded");
	is($added + $unchanged, $rows, "$label: it saw every record ($added added, $unchanged unchanged)");
	my $ids = received_ids();
	is(scalar(keys %$ids), $rows, "$label: across both runs the destination received all $rows records");
	is(checkpoint_count($node, $mapping), $rows, "$label: the checkpoint holds them all");
	is(reader_count(), '0', "$label: no model reader is left");
	q1('INSERT INTO public.slow VALUES (true)');
	return $added;
}

# 1. The pipeline.
{
	$mock->reset;
	my $mapping = new_mapping();
	my $sync = start_sync($mapping);
	wait_for_overlap('pipeline');
	my ($out, $err) = finish_sync($sync);
	like($out, qr/^\d+ succeeded$/, 'pipeline: the run succeeded');
	like($err, qr/first run: sending the model's records as a model reader reads them/,
		'pipeline: the run says it streams the model');
	my $ids = received_ids();
	is(scalar(keys %$ids), $rows, "pipeline: the destination received all $rows records");
	is(scalar(grep { $_ != 1 } values %$ids), 0, 'pipeline: each of them once');
	is(checkpoint_count($node, $mapping), $rows, 'pipeline: the checkpoint holds them all');
	my $id = mapping_id($node, $mapping);
	is(q1("SELECT count(*) FROM reverse_etl_state.sending_$id"), '0', 'pipeline: the selection log is empty');
	is( q1("SELECT records_extracted || ' ' || records_added || ' ' || records_selected || ' ' || records_succeeded "
			  . "|| ' ' || records_failed FROM reverse_etl.sync_runs WHERE mapping = '$mapping'"),
		"$rows $rows $rows $rows 0", 'pipeline: the run counts every record extracted, added, sent and delivered');
	is(reader_count(), '0', 'pipeline: the model reader is gone');
	q1('DELETE FROM public.slow');
	is(q1("SELECT count(*) FROM reverse_etl.sync('$mapping') WHERE records_unchanged = $rows AND records_selected = 0"),
		'1', 'pipeline: the next run finds every record unchanged');
	q1('INSERT INTO public.slow VALUES (true)');
}

# 2. Writes committed while the reader reads are not in the run.
{
	$mock->reset;
	my $mapping = new_mapping();
	my $sync = start_sync($mapping);
	wait_for_overlap('concurrent writes');
	q1(qq{
UPDATE public.items SET label = 'changed' WHERE id = 2900;
DELETE FROM public.items WHERE id = 2950;
INSERT INTO public.items VALUES ($rows + 1, 'new');
});
	is(reader_count(), '1', 'concurrent writes: committed while the model reader reads');
	my ($out) = finish_sync($sync);
	like($out, qr/^\d+ succeeded$/, 'concurrent writes: the run succeeded');
	my %sent = map { $_->{id} => $_->{label} } $mock->records('path_prefix=/items');
	is($sent{2900}, 'item 2900', 'concurrent writes: the update is not in the run (its old value went)');
	is($sent{2950}, 'item 2950', 'concurrent writes: the deleted record went, as the snapshot had it');
	ok(!exists $sent{ $rows + 1 }, 'concurrent writes: the new record is not in the run');
	$mock->reset;
	q1('DELETE FROM public.slow');
	is( q1("SELECT records_added || ' ' || records_updated || ' ' || records_deleted FROM reverse_etl.sync('$mapping')"),
		'1 1 1', 'concurrent writes: the next run finds the three changes');
	is( join(' ', map { "$_->{id}:$_->{change}" } sort { $a->{id} <=> $b->{id} } $mock->records('path_prefix=/items')),
		"2900:updated 2950:deleted " . ($rows + 1) . ':added', 'concurrent writes: and sends them');
	q1(qq{
DELETE FROM public.items WHERE id = $rows + 1;
UPDATE public.items SET label = 'item 2900' WHERE id = 2900;
INSERT INTO public.items VALUES (2950, 'item 2950');
INSERT INTO public.slow VALUES (true);
});
}

# 3. The reader terminated mid-stream.
{
	$mock->reset;
	$mock->config({ default => { delay_ms => 20 } });
	my $mapping = new_mapping();
	my $sync = start_sync($mapping);
	wait_for_overlap('reader terminated');
	is(q1("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'reverse_etl model reader'"),
		't', 'reader terminated: pg_terminate_backend of the reader');
	my ($out, $err) = finish_sync($sync);
	like($out, qr/^\d+ failed$/, 'reader terminated: the run failed');
	is( q1("SELECT error FROM reverse_etl.sync_runs WHERE mapping = '$mapping'"),
		'the model reader exited before the end of the model',
		'reader terminated: its error says the model reader exited');
	# Acknowledged: in the checkpoint, confirmed. (Records sent and not
	# acknowledged are there too, unconfirmed: the next run sends them again.)
	my $id = mapping_id($node, $mapping);
	my $kept = q1("SELECT count(*) FROM reverse_etl_state.checkpoint_$id WHERE unconfirmed IS NULL");
	ok($kept > 0 && $kept < $rows, "reader terminated: the checkpoint kept what was acknowledged ($kept records)");
	my $added = next_run_completes($mapping, 'reader terminated');
	is($added, $rows - $kept, 'reader terminated: the next run sent only the records not acknowledged');
}

# 4. kill -9 of the reader, then of the sync worker, mid-stream.
for my $victim ('reverse_etl model reader', 'reverse_etl sync')
{
	my $label = "kill -9 of the $victim";
	$mock->reset;
	$mock->config({ default => { delay_ms => 20 } });
	my $mapping = new_mapping();
	my $run = q1("SELECT reverse_etl.request_sync('$mapping')");
	wait_for_overlap($label);
	kill_mid_run($victim, $run, $label);
	my $kept = checkpoint_count($node, $mapping);
	ok($kept < $rows, "$label: the checkpoint kept what was acknowledged ($kept records)");
	next_run_completes($mapping, $label);
}
# 4b. A crash where a streamed first run stores its checkpoint rows (straight
# from the selection log, pg::append_checkpoint_rows). Once a flush has
# committed some, the test holds the checkpoint so that the next flush waits
# inside that write, and the sync worker is killed there. After the restart
# (WAL replayed) the rows committed are whole: the next run finds exactly
# them unchanged, and sends the rest.
{
	my $label = 'kill -9 inside a checkpoint write';
	$mock->reset;
	$mock->config({ default => { delay_ms => 20 } });
	my $mapping = new_mapping();
	my $checkpoint = 'reverse_etl_state.checkpoint_' . mapping_id($node, $mapping);
	my $run = q1("SELECT reverse_etl.request_sync('$mapping')");
	ok(poll_sql($node, "SELECT count(*) > 0 FROM $checkpoint", 't', 60), "$label: a flush stored checkpoint rows");
	kill_before_checkpoint($node, $run, $checkpoint, $label);
	my $kept = checkpoint_count($node, $mapping);
	ok($kept > 0 && $kept < $rows, "$label: the checkpoint kept the rows committed before the crash ($kept)");
	my $added = next_run_completes($mapping, $label);
	is($rows - $added, $kept, "$label: the next run found exactly those $kept records unchanged");
}

$node->log_check('kill -9', 0,
	log_like => [qr/"reverse_etl model reader" \(PID \d+\) was terminated by signal 9/,
		qr/"reverse_etl sync" \(PID \d+\) was terminated by signal 9/]);

# 5. The model fails part-way.
{
	$mock->reset;
	my $mapping = new_mapping();
	q1('INSERT INTO public.fail_at VALUES (2500)');
	my $sync = start_sync($mapping);
	my ($out) = finish_sync($sync);
	like($out, qr/^\d+ failed$/, 'model error: the run failed');
	is( q1("SELECT error FROM reverse_etl.sync_runs WHERE mapping = '$mapping'"),
		'model "items": division by zero', "model error: with the model's error");
	my $kept = checkpoint_count($node, $mapping);
	my $ids = received_ids();
	ok($kept > 0 && $kept <= scalar(keys %$ids) && scalar(keys %$ids) < 2500,
		"model error: the records before the failing one were sent ($kept of them acknowledged)");
	is(reader_count(), '0', 'model error: no model reader is left');
	q1('DELETE FROM public.fail_at');
	next_run_completes($mapping, 'model error');
}

# 6. cancel_sync mid-stream.
{
	$mock->reset;
	$mock->config({ default => { delay_ms => 20 } });
	my $mapping = new_mapping();
	my $sync = start_sync($mapping);
	wait_for_overlap('cancel');
	is(q1("SELECT reverse_etl.cancel_sync('$mapping')"), 't', 'cancel: cancel_sync');
	my ($out) = finish_sync($sync);
	like($out, qr/^\d+ canceled$/, 'cancel: the run is canceled');
	ok(poll_sql($node, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'reverse_etl model reader'", '0'),
		'cancel: the model reader stopped');
	next_run_completes($mapping, 'cancel');
}

# 7. The identifier stops being provably unique while the reader reads (a
# first inheritance child): the reader proves it again after the last row,
# as a run that reads the model itself does, and the run fails.
{
	$mock->reset;
	my $mapping = new_mapping();
	my $sync = start_sync($mapping);
	wait_for_overlap('unique no more');
	q1('CREATE TABLE public.items_more () INHERITS (public.items)');
	my ($out) = finish_sync($sync);
	like($out, qr/^\d+ failed$/, 'unique no more: the run failed');
	is( q1("SELECT error FROM reverse_etl.sync_runs WHERE mapping = '$mapping'"),
		'model "items": its identifier column "id" is no longer provably unique',
		'unique no more: its error says why');
	q1('DROP TABLE public.items_more');
	next_run_completes($mapping, 'unique no more');
}

# 8. No worker slot for a reader: the run reads the model itself. Slots:
# the logical replication launcher, reverse_etl's launcher, the sync worker.
{
	my $small = new_node('no_reader_slot', conf => "max_worker_processes = 3\n");
	$small->safe_psql('postgres', qq{
CREATE TABLE public.items (id int PRIMARY KEY, label text NOT NULL);
INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 500) g;
SELECT reverse_etl.create_model('items', 'SELECT id, label FROM public.items', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('items', 'hook', 'send', '{"id": "id", "label": "label"}', name => 'items');
});
	$mock->reset;
	my ($ret, $out, $err) = $small->psql('postgres',
		"SELECT status || ' ' || records_added || ' ' || records_succeeded FROM reverse_etl.sync('items')");
	is($out, 'succeeded 500 500', 'no reader slot: the run succeeded and sent every record');
	like($err, qr/500 records: 500 added/, 'no reader slot: it read the model itself (the counts come first)');
	unlike($err, qr/model reader/, 'no reader slot: no model reader was used');
	is(scalar(keys %{ received_ids() }), 500, 'no reader slot: the destination received them all');
	$small->stop;
}

# 9. A fast model and requests of 500 records: the run takes chunks of
# thousands of records, and plans them a thousand at a time as it takes
# them (their requests wait for the chunk to commit). Every request but the
# last is full, the records go in the model's order, each once, and the
# checkpoint holds them all. Then the sync worker is killed (kill -9) in
# such a run, and the next run sends what was not acknowledged.
{
	$mock->reset;
	my $url500 = $mock->url('/items');
	# Scenario 7's inheritance child is gone; the table's relhassubclass
	# stays set until an ANALYZE, and the identifier is proven unique
	# regardless (pg_inherits is read): the runs below stream.
	is(q1("SELECT relhassubclass FROM pg_class WHERE oid = 'public.items'::regclass"), 't',
		'planned as taken: the dropped child still shows in relhassubclass');
	q1(qq{
SELECT reverse_etl.create_destination('hook500', 'webhook', '{"url": "$url500", "batch_size": 500}', enabled => true);
DELETE FROM public.slow;
});
	my @mappings;
	for my $n (1 .. 3)
	{
		my $mapping = 'stream_' . ++$mapping_number;
		q1("SELECT reverse_etl.create_mapping('items', 'hook500', 'send', "
			  . "'{\"id\": \"id\", \"label\": \"label\", \"change\": {\"meta\": \"change\"}}', "
			  . "sync_mode => 'all', name => '$mapping')");
		push @mappings, $mapping;
	}
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT status FROM reverse_etl.sync('$mappings[0]')");
	is($out, 'succeeded', 'planned as taken: the run succeeded');
	like($err, qr/as a model reader reads them/, 'planned as taken: it streamed the model');
	my @sizes;
	my @order;
	for my $request (@{ $mock->requests('path_prefix=/items') })
	{
		my $body = decode_json($request->{body});
		push @sizes, scalar(@$body);
		push @order, map { $_->{id} } @$body;
	}
	is(scalar(@sizes), $rows / 500, 'planned as taken: ' . ($rows / 500) . ' requests');
	is(scalar(grep { $_ != 500 } @sizes), 0, 'planned as taken: each of 500 records');
	is_deeply([ sort { $a <=> $b } @order ], [ 1 .. $rows ], 'planned as taken: every record once');
	is(checkpoint_count($node, $mappings[0]), $rows, 'planned as taken: the checkpoint holds them all');

	# The kill: answers slowed so that the run still sends when it is killed.
	my $label = 'planned as taken, killed';
	$mock->reset;
	$mock->config({ default => { delay_ms => 200 } });
	my $run = q1("SELECT reverse_etl.request_sync('$mappings[1]')");
	ok($mock->wait_for(1, 30, 'path_prefix=/items'), "$label: the destination received requests");
	kill_mid_run('reverse_etl sync', $run, $label);
	ok(checkpoint_count($node, $mappings[1]) < $rows, "$label: the checkpoint kept what was acknowledged");
	q1('INSERT INTO public.slow VALUES (true)');
	next_run_completes($mappings[1], 'planned as taken, killed');

	# The model fails late in a chunk: what was planned of it must not go
	# (it waits for a commit that never comes). What the destination
	# received is all in the selection log: committed. (Nothing here can
	# hold a chunk open between its planning and its commit, so this checks
	# the outcome on whatever chunks the run made, not that window.)
	$label = 'planned as taken, chunk failed';
	$mock->reset;
	q1('DELETE FROM public.slow; INSERT INTO public.fail_at VALUES (2990)');
	($ret, $out, $err) = $node->psql('postgres', "SELECT status FROM reverse_etl.sync('$mappings[2]')");
	is($out, 'failed', "$label: the run failed");
	like($err, qr/as a model reader reads them/, "$label: it streamed the model");
	my @received = keys %{ received_ids() };
	my $id = mapping_id($node, $mappings[2]);
	my %logged = map { $_ => 1 } split /\n/, q1("SELECT record_id FROM reverse_etl_state.sending_$id");
	is(scalar(grep { !$logged{$_} } @received), 0,
		"$label: every record received was in a committed chunk (" . scalar(@received) . ' received)');
	q1('DELETE FROM public.fail_at; INSERT INTO public.slow VALUES (true)');
	next_run_completes($mappings[2], $label);
}

$node->stop;
$mock->stop;
done_testing();
