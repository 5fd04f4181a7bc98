# Google Sheets rows survive crashes without duplicates (issue 15). A
# google_sheets mapping keeps each record's row (reverse_etl_state.
# sheet_rows_<id>), reserved and committed before any request names it, and
# writes rows with values:batchUpdate to explicit ranges, never append: a
# request sent again after a crash rewrites the same cells.
#
# 1. The worker is killed (kill -9) while Google Sheets (the mock) has
#    applied the write and not yet answered (its answer is delayed); a
#    record leaves before the next run.
# 2. The worker is killed after the answer, before the acknowledgement
#    reaches the checkpoint (the test holds a SHARE lock on it, as in
#    t/010_unconfirmed_deliveries.pl).
# After each, the next run sends the records again, to the same rows: the
# sheet holds each record id exactly once, in its own row.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_024');
my $node = new_node('sheet_rows_crash', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $endpoint = $mock->url('');
my $update = '/v4/spreadsheets/s1/values:batchUpdate';
# One configuration for the whole test (a new one would start an empty
# spreadsheet): the first write's answer waits 5 s, the write itself done;
# the third's waits 3 s, so that the test holds the checkpoint before the
# answer's acknowledgement can reach it (see kill_before_checkpoint).
$mock->config(
	{ vendor => { type => 'google_sheets', access_token => 'tok', delay_ms => { $update => [ 5000, 0, 3000 ] } } });
q1(qq{
CREATE TABLE public.people (id int PRIMARY KEY, name text);
INSERT INTO public.people SELECT g, 'P' || g FROM generate_series(1, 30) AS g;
SELECT reverse_etl.create_model('people', 'SELECT id, name FROM public.people', 'id');
SELECT reverse_etl.create_destination('sheets', 'google_sheets',
    '{"access_token": "tok", "spreadsheet_id": "s1", "endpoint": "$endpoint"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'sheets', 'rows', '{"name": "name"}', sync_mode => 'mirror',
    name => 'people');
});
my $id = mapping_id($node, 'people');
my $checkpoint = "reverse_etl_state.checkpoint_$id";
my $rows = "reverse_etl_state.sheet_rows_$id";

# The sheet's rows as the mock holds them (row 1 first).
sub sheet
{
	my $state = decode_json($mock->_request('GET', '/__vendor/state')->{content});
	return $state->{spreadsheets}{s1}{Sheet1} // [];
}

# "id:name" of every row that has an id, in row order, and how many rows have one.
sub sheet_text { return join(',', map { "$_->[0]:$_->[1]" } grep { @$_ && $_->[0] ne '' } @{ sheet() }); }

sub expected_text
{
	return q1("SELECT string_agg(id || ':' || name, ',' ORDER BY r.sheet_row) FROM public.people p "
		  . "JOIN $rows r ON r.record_id = p.id::text");
}

sub ids_once
{
	my %seen;
	$seen{ $_->[0] }++ for grep { @$_ && $_->[0] ne '' } @{ sheet() };
	return (scalar(grep { $_ > 1 } values %seen) == 0, scalar(keys %seen));
}

# 1. Killed while the write is applied and its answer delayed.
my $run = q1("SELECT reverse_etl.request_sync('people')");
ok($mock->wait_for(1, 30, "path_prefix=$update"), 'the first write reached Google Sheets');
ok(poll_sql($node, "SELECT count(*) = 30 FROM $rows"), 'the 30 rows were reserved (committed) before it left');
my $pid = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $run");
ok($pid =~ /^\d+$/, 'the worker is still waiting for the answer');
kill 'KILL', $pid;
ok( poll_sql($node, "SELECT status || ': ' || error FROM reverse_etl.sync_runs WHERE run_id = $run",
		'failed: interrupted by server restart', 60),
	'after the restart the run is recorded as interrupted');
is(scalar(@{ sheet() }), 31, 'Google Sheets had applied the write: rows 2..31');
is(q1("SELECT count(*) FROM $checkpoint WHERE unconfirmed IS NULL"), '0', 'no acknowledgement reached the checkpoint');

# Record 1 leaves before the next run: had the rows been numbered again from
# what is left (rather than kept), every record after it would move up a row
# and the last row would keep a second copy of record 30.
my $row_of_1 = q1("SELECT sheet_row FROM $rows WHERE record_id = '1'");
q1("DELETE FROM public.people WHERE id = 1");
is(q1("SELECT status || ' ' || records_deleted || ' ' || records_succeeded FROM reverse_etl.sync('people')"),
	'succeeded 1 30', 'the next run sends the 29 records again, and the deletion of the one it may have sent');
is(scalar(@{ sheet() }), 31, 'to the same rows: the sheet still ends at row 31');
is(scalar(@{ sheet()->[ $row_of_1 - 1 ] }), 0, "record 1's row is cleared");
my ($once, $distinct) = ids_once();
ok($once, 'each record id is in one row only');
is($distinct, 29, '29 records in the sheet');
is(sheet_text(), expected_text(), 'each in the row the index gives it');
is(q1("SELECT min(sheet_row) || '-' || max(sheet_row) || ' ' || count(*) FROM $rows"), '2-31 30',
	'the index: rows 2 to 31 (record 1 keeps its row)');

# 2. Changes and new records, killed after the answer, before the checkpoint.
q1("UPDATE public.people SET name = name || '+' WHERE id <= 10");
q1("INSERT INTO public.people SELECT g, 'N' || g FROM generate_series(31, 35) AS g");
q1("DELETE FROM public.people WHERE id IN (29, 30)");
is(scalar(grep { $_->{path} eq $update } @{ $mock->requests }), 2,
	'two writes so far: the third, the next run\'s, is the one whose answer waits 3 s');
kill_before_checkpoint($node, q1("SELECT reverse_etl.request_sync('people')"), $checkpoint, 'second run');
my %written = map { ($_->[0] => 1) } grep { @$_ && $_->[0] ne '' } @{ sheet() };
is(scalar(grep { $written{$_} } 31 .. 35), 5, 'the destination has the 5 new records already');
is(q1("SELECT status || ' ' || records_succeeded FROM reverse_etl.sync('people')"),
	'succeeded 16', 'the next run sends the 9 updates, 5 additions and 2 deletions again');
is(scalar(@{ sheet() }), 36, 'the 5 new records took rows 32..36, once');
($once, $distinct) = ids_once();
ok($once, 'each record id is in one row only');
is($distinct, 32, '32 records in the sheet');
is(sheet_text(), expected_text(), 'each in its row, with its last values');
my @cleared = split /\n/, q1("SELECT sheet_row FROM $rows WHERE record_id IN ('29', '30') ORDER BY 1");
is(scalar(@cleared), 2, 'the deleted records keep their rows in the index');
is(join(',', map { scalar(@{ sheet()->[$_ - 1] }) } @cleared), '0,0', "the deleted records' rows are cleared");
is(scalar(grep { $_->{path} =~ /:append/ } @{ $mock->requests }), 0, 'nothing was ever appended');

$node->stop;
done_testing();
