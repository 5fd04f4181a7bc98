# A record that changes while a run extracts it: the diff (which computes the
# hash that gets checkpointed) and the statement that reads the values to send
# must see the same data. Otherwise the newer values go out under the older
# hash, and a later change back to the older values looks "unchanged" and is
# never sent: the destination keeps a value the table no longer has.
#
# The model calls gate(), which waits for an advisory lock this test holds, so
# the run's diff is paused at a known point while another session commits an
# update; then the lock is released and the run goes on.
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

my $mock = ReverseEtlTest::Mock->start(name => 'mock_008');
my $node = new_node('concurrent_writes');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# The values of record 1 the mock received, in order.
sub sent_values
{
	my @values;
	for my $request (@{ $mock->requests('path_prefix=/w') })
	{
		my $body = decode_json($request->{body});
		push @values, $body->{val} if $body->{id} == 1;
	}
	return join(',', @values);
}

my $url = $mock->url('/w');
q1(qq{
CREATE TABLE public.t (id int PRIMARY KEY, val text);
INSERT INTO public.t VALUES (1, 'A'), (2, 'x');
-- Waits while the test holds advisory lock 8008 (exclusively).
CREATE FUNCTION public.gate() RETURNS boolean LANGUAGE sql VOLATILE AS
  'SELECT pg_catalog.pg_advisory_lock_shared(8008) IS NOT NULL AND pg_catalog.pg_advisory_unlock_shared(8008)';
SELECT reverse_etl.create_model('gated', 'SELECT id, val FROM public.t WHERE public.gate()', 'id');
SELECT reverse_etl.create_destination('w', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('gated', 'w', 'send', '{"id": "id", "val": "val"}', name => 'gated');
});
is(q1("SELECT status || ' ' || records_succeeded FROM reverse_etl.sync('gated')"), 'succeeded 2',
	'first run: both records sent');

# Runs $sql (a sync of 'gated') in a session of its own while the test holds
# the gate; once the run waits at it, calls $meanwhile, then opens the gate.
# Returns what the sync's session printed.
sub gated_sync
{
	my ($sql, $holds_label, $meanwhile) = @_;
	my ($holder_in, $holder_out, $holder_err) = ("SELECT pg_advisory_lock(8008);\n", '', '');
	my $holder = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
		'<', \$holder_in, '>', \$holder_out, '2>', \$holder_err);
	# (IPC::Run feeds the session its input only while pumped.)
	ok( wait_until(
			sub {
				$holder->pump_nb;
				q1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 8008 AND granted") eq '1';
			},
			30),
		$holds_label);
	my ($sync_out, $sync_err) = ('', '');
	my $sync = IPC::Run::start([ 'psql', '-XAt', '-d', $node->connstr('postgres'), '-c', $sql ],
		'<', \undef, '>', \$sync_out, '2>', \$sync_err);
	ok( poll_sql($node,
			"SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND objid = 8008 AND NOT granted"),
		"the run's diff waits at the gate");
	$meanwhile->();
	$holder_in .= "SELECT pg_advisory_unlock(8008);\n\\q\n";
	$holder->finish;
	$sync->finish;
	return $sync_out;
}

# Record 1 becomes B (committed before the run): the run's diff sees B.
q1("UPDATE public.t SET val = 'B' WHERE id = 1");
# Meanwhile another session commits C; then the gate opens.
my $sync_out = gated_sync("SELECT status || ' ' || records_updated || ' ' || records_succeeded FROM reverse_etl.sync('gated')",
	'the test holds the gate', sub { q1("UPDATE public.t SET val = 'C' WHERE id = 1") });
is($sync_out, "succeeded 1 1\n", 'the gated run sent record 1 as updated');
is(sent_values(), 'A,B', 'it sent the value its diff saw (B), not the one committed during the run (C)');

# Back to B, the value the gated run's diff hashed: the destination must end
# up with what the table has. (Before the fix it kept C forever.)
q1("UPDATE public.t SET val = 'B' WHERE id = 1");
q1("SELECT reverse_etl.sync('gated')");
my $table_value = q1("SELECT val FROM public.t WHERE id = 1");
my @sent = split /,/, sent_values();
is($sent[-1], $table_value, "the destination's last value of record 1 is the table's ($table_value)");

# Nothing lost either way: once quiet, a run finds nothing to send.
is(q1("SELECT records_selected FROM reverse_etl.sync('gated')"), '0', 'a further run has nothing to send');

# ---------------------------------------------------------------- a deletion during the diff
# The diff of this model (its id is the table's primary key) is three
# statements: the records that differ, a count of the model's records, and
# the deleted ones when the count says some went away. A record deleted and
# committed while the first one runs must be invisible to all three: seen
# by the count alone, it would look deleted in this run while its diff
# still saw it.
q1("UPDATE public.t SET val = 'D' WHERE id = 1");
$sync_out = gated_sync(
	"SELECT status || ' ' || records_updated || ' ' || records_deleted || ' ' || records_unchanged "
	  . "FROM reverse_etl.sync('gated')",
	'the test holds the gate again', sub { q1("DELETE FROM public.t WHERE id = 2") });
is($sync_out, "succeeded 1 0 1\n",
	'the run saw record 1 updated and record 2 unchanged, as the table was when it began');
is(q1("SELECT records_deleted || ' ' || records_unchanged FROM reverse_etl.sync('gated')"), '1 1',
	'the next run finds record 2 deleted');
is(q1("SELECT string_agg(record_id, ',') FROM reverse_etl_state.checkpoint_" . mapping_id($node, 'gated')), '1',
	'... and the checkpoint keeps record 1 alone');

$node->stop;
done_testing();
