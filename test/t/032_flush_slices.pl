# A flush writes the acknowledged records to the checkpoint in slices of
# 1,000, and between the slices the run takes answers and sends the requests
# that are ready (DeliveryLoop::pump in src/engine/delivery.cpp), so a flush
# is no longer one statement. It is still one transaction:
# - kill -9 of the sync worker in the middle of a flush (a trigger on the
#   checkpoint holds the flush's second slice): nothing of the flush is
#   checkpointed, the run is recorded as interrupted, and the next run sends
#   every record that was not checkpointed;
# - a cancel in the middle of a flush (the trigger cancels the worker's own
#   statement at the second slice): the run ends canceled, and the flush it
#   ends with checkpoints every record the run counted as delivered, with
#   the hash and key its outbox row had, once; with a destination that
#   answers with ids (Salesforce), each with its id, by which a later
#   deletion goes.
# And the point of the slices: with each slice taking 0.3 s (the trigger
# sleeps), requests reach the destination between a flush's first slice and
# its last, which the loop without pumps never did (it sent only between
# flushes).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $rows = 20000;
my $mock = ReverseEtlTest::Mock->start(name => 'mock_032');
my $node = new_node('flush_slices', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $url = $mock->url('/items');
q1(qq{
CREATE TABLE public.items (id int PRIMARY KEY, v text);
INSERT INTO public.items SELECT g, 'value ' || g FROM generate_series(1, $rows) AS g;
SELECT reverse_etl.create_model('items', 'SELECT id, v FROM public.items', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url", "batch_size": 250}', enabled => true);
SELECT reverse_etl.create_mapping('items', 'hook', 'send', '{"id": "id", "v": "v"}', name => 'items');
CREATE SEQUENCE public.slice_holds;
CREATE TABLE public.slice_action (action text);
});
my $id = mapping_id($node, 'items');
my $checkpoint = "reverse_etl_state.checkpoint_$id";

# The test's hold on a flush: at the second checkpoint statement of a
# transaction (a flush with more than one slice), once, do what
# public.slice_action says; with 'pace', every statement takes 0.3 s. The
# statements are counted (and timed) in a table, by transaction; the once is
# a sequence, which a rollback does not undo, so the flush a canceled run
# ends with passes.
q1(qq{
CREATE TABLE public.slice_log (xid xid8, at float8);
CREATE FUNCTION public.hold_second_slice() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    INSERT INTO public.slice_log
        VALUES (pg_catalog.pg_current_xact_id(), extract(epoch FROM pg_catalog.clock_timestamp()));
    IF (SELECT action FROM public.slice_action) = 'pace' THEN
        PERFORM pg_catalog.pg_sleep(0.3);
    ELSIF (SELECT count(*) FROM public.slice_log WHERE xid = pg_catalog.pg_current_xact_id()) = 2
       AND nextval('public.slice_holds') = 1 THEN
        CASE (SELECT action FROM public.slice_action)
            WHEN 'sleep' THEN PERFORM pg_catalog.pg_sleep(120);
            WHEN 'cancel' THEN PERFORM pg_catalog.pg_cancel_backend(pg_catalog.pg_backend_pid());
            ELSE NULL;
        END CASE;
    END IF;
    RETURN NULL;
END
\$\$;
CREATE TRIGGER hold_second_slice AFTER INSERT ON $checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION public.hold_second_slice();
});

sub hold
{
	my ($action) = @_;
	q1("SELECT pg_catalog.setval('public.slice_holds', 1, false); "
		  . "DELETE FROM public.slice_action; INSERT INTO public.slice_action VALUES ('$action')");
}

# Every record the mock received, each id once, as a count and a check that
# it is the whole table.
sub received_everything
{
	my @ids = $mock->record_ids('id');
	return scalar(@ids) == $rows && $ids[0] == 1 && (sort { $a <=> $b } @ids)[-1] == $rows;
}

# ---- kill -9 in the middle of a flush ---------------------------------------

hold('sleep');
my $run = q1("SELECT reverse_etl.request_sync('items')");
ok(poll_sql($node, "SELECT phase FROM reverse_etl.sync_progress WHERE run_id = $run", 'delivering'),
	'kill: the run is delivering');
my $pid = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $run");
ok(poll_sql($node, "SELECT wait_event FROM pg_stat_activity WHERE pid = $pid", 'PgSleep'),
	'kill: the flush wrote its first slice and is held at its second');
cmp_ok(scalar($mock->records), '>', 1000, 'kill: the destination has acknowledged the records of both slices');
kill_run_process($node, $pid, $run, 'kill: after the restart the run is recorded as interrupted');
is(checkpoint_count($node, 'items'), '0', 'kill: nothing of the interrupted flush is checkpointed, not even its first slice');

hold('none');
my $sent_before = scalar($mock->records);
is( q1("SELECT status || ' ' || records_succeeded FROM reverse_etl.sync('items')"),
	"succeeded $rows", 'kill: the next run delivers every record');
is(scalar($mock->records) - $sent_before, $rows, 'kill: it sent each record once');
is(checkpoint_count($node, 'items'), $rows, 'kill: every record is checkpointed');
ok(received_everything(), 'kill: the destination received every record');

# ---- a cancel in the middle of a flush ---------------------------------------

q1("SELECT reverse_etl.reset_mapping('items')");
$mock->reset;
hold('cancel');
my ($status, $succeeded) = split /\|/, q1(
	"SELECT status, records_succeeded FROM reverse_etl.sync('items')");
is($status, 'canceled', 'cancel: the run canceled in its flush ends canceled');
cmp_ok($succeeded, '>', 1000, 'cancel: it had delivered the records of the two slices at least');
is(checkpoint_count($node, 'items'), $succeeded,
	'cancel: the flush it ended with checkpointed every record it counted as delivered');
is( q1("SELECT count(*) FROM $checkpoint AS k JOIN public.items AS i ON k.record_id = i.id::text "
		  . "WHERE k.hash IS NOT NULL AND k.version IS NULL AND k.unconfirmed IS NULL"),
	$succeeded, 'cancel: each checkpoint row names a record of the model, with its hash');
my $acknowledged = scalar($mock->records);
cmp_ok($acknowledged, '>=', $succeeded, 'cancel: the destination received at least those');

hold('none');
my $left = $rows - $succeeded;
is( q1("SELECT records_selected || ' ' || records_succeeded FROM reverse_etl.sync('items')"),
	"$left $left", 'cancel: the next run sends the records not checkpointed, and only those');
is(checkpoint_count($node, 'items'), $rows, 'cancel: every record is checkpointed');
ok(received_everything(), 'cancel: the destination received every record');
is(q1("SELECT records_selected FROM reverse_etl.sync('items')"), '0', 'cancel: a later run finds nothing to send');
is(scalar($mock->records), $acknowledged + $left, 'cancel: and sends nothing');

# ---- requests during a flush ----------------------------------------------------

q1("SELECT reverse_etl.reset_mapping('items'); TRUNCATE public.slice_log");
$mock->reset;
hold('pace');
is(q1("SELECT status || ' ' || records_succeeded FROM reverse_etl.sync('items')"),
	"succeeded $rows", 'pumps: a run whose checkpoint statements take 0.3 s each delivers every record');
my ($first_slice, $last_slice) = split /\|/, q1(
	"SELECT min(at), max(at) FROM public.slice_log WHERE xid = "
	  . "(SELECT xid FROM public.slice_log GROUP BY xid HAVING count(*) >= 3 ORDER BY min(at) LIMIT 1)");
ok(defined $last_slice && $last_slice ne '', 'pumps: a flush wrote three slices or more');
# The first slice's statement ends at $first_slice, and then sleeps 0.3 s:
# a request arriving after that and before the last slice's statement left
# during the flush.
my @during = grep { $_->{epoch} > $first_slice + 0.3 && $_->{epoch} < $last_slice } @{ $mock->requests };
cmp_ok(scalar(@during), '>', 0, 'pumps: requests reached the destination between the slices of a flush')
  or diag("slices from $first_slice to $last_slice; requests at "
	  . join(' ', map { $_->{epoch} } @{ $mock->requests }));
is(checkpoint_count($node, 'items'), $rows, 'pumps: every record is checkpointed');

# ---- a cancel in the middle of a flush, with the destination's ids ----------
# Salesforce answers each upsert with the record's id, which the checkpoint
# keeps and a deletion goes by. The ids move from the answer to the records
# the flush writes; the flush a canceled run ends with writes the same
# records again, and must still find every id.
$mock->reset;
$mock->config({ vendor => { type => 'salesforce', access_token => 'sf-032' } });
my $instance = $mock->url('');
q1(qq{
SELECT reverse_etl.create_destination('sf', 'salesforce',
    '{"instance_url": "$instance", "access_token": "sf-032"}', enabled => true);
SELECT reverse_etl.create_mapping('items', 'sf', 'account', '{"Ext__c": "id", "Name": "v"}',
    sync_mode => 'mirror', action_settings => '{"external_id_field": "Ext__c"}', name => 'sf items');
});
my $sf_checkpoint = 'reverse_etl_state.checkpoint_' . mapping_id($node, 'sf items');
q1("CREATE TRIGGER hold_second_slice AFTER INSERT ON $sf_checkpoint "
	  . "FOR EACH STATEMENT EXECUTE FUNCTION public.hold_second_slice()");
# Each checkpoint row with an id of Salesforce's shape, no two the same.
my $with_ids = "SELECT count(DISTINCT object_id) FILTER (WHERE object_id ~ '^001[0-9A-Za-z]{15}\$') "
  . "|| ' of ' || count(*) FROM $sf_checkpoint";
hold('cancel');
($status, $succeeded) = split /\|/, q1("SELECT status, records_succeeded FROM reverse_etl.sync('sf items')");
is($status, 'canceled', 'ids: the run canceled in its flush ends canceled');
cmp_ok($succeeded, '>', 1000, 'ids: it had delivered the records of the two slices at least');
is(q1($with_ids), "$succeeded of $succeeded",
	'ids: the flush it ended with kept the id of every record it checkpointed');
hold('none');
is(q1("SELECT status FROM reverse_etl.sync('sf items')"), 'succeeded', 'ids: the next run delivers the rest');
is(q1($with_ids), "$rows of $rows", 'ids: every record is checkpointed with its id');
# A deletion goes by the id kept.
my %gone = map { $_ => q1("SELECT object_id FROM $sf_checkpoint WHERE record_id = '$_'") } (7, 1500);
q1("DELETE FROM public.items WHERE id IN (7, 1500)");
is(q1("SELECT status || ' ' || records_deleted || ' ' || records_succeeded FROM reverse_etl.sync('sf items')"),
	'succeeded 2 2', 'ids: the deletions are delivered');
my @deletes = @{ $mock->requests('method=DELETE') };
is(scalar(@deletes), 1, 'ids: in one request');
my ($ids) = ($deletes[0]{path} // '') =~ /[?&]ids=([^&]*)/;
is(join(',', sort split(/,|%2C/, $ids // '')), join(',', sort values %gone),
	'ids: naming the ids the checkpoint kept');

ok(!$node->log_contains('terminated by signal 11|terminated by signal 6'), 'no backend crashed');
$node->stop;
$mock->stop;
done_testing();
