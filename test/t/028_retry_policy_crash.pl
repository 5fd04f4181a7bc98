# Retry policy (issue 17) against a crash: with retry_failed_records off, a
# run holds back the records whose send failed with the values they still
# have, and sends the rest. The sync worker is killed (kill -9) after the
# destination answered and before the answers reached the checkpoint and
# the record errors (the test holds a SHARE lock on the checkpoint, as in
# t/010). Nothing may be lost: the held record stays held with its error,
# the changed records sent by the killed run go out again, and the record
# rejected again gets a new error for its new values.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_028');
my $node = new_node('retry_policy', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $url = $mock->url('/people');
q1(qq{
CREATE TABLE public.people (id int PRIMARY KEY, name text);
INSERT INTO public.people SELECT g, 'P' || g FROM generate_series(1, 10) AS g;
SELECT reverse_etl.create_model('people', 'SELECT id, name FROM public.people', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'hook', 'send', '{"id": "id", "name": "name"}',
    name => 'people', retry_failed_records => false);
});
my $checkpoint = 'reverse_etl_state.checkpoint_' . mapping_id($node, 'people');

# Records 1 and 2 are refused (422) whatever their values.
my %refuse = (records => { match => 'id', rules => {
	'1' => { status => 422, body => 'bad name' },
	'2' => { status => 422, body => 'bad name' } } });

sub summary
{
	return q1("SELECT status || ' selected ' || records_selected || ' succeeded ' || records_succeeded "
		  . "|| ' failed ' || records_failed FROM reverse_etl.sync('people')");
}

sub received { return join(",", sort map { $_->{id} . ":" . $_->{name} } $mock->records); }

sub errors
{
	return q1("SELECT string_agg(record_id || ' ' || kind || CASE WHEN given_up_at IS NULL THEN '' "
		  . "ELSE ' given up' END, ', ' ORDER BY record_id) FROM reverse_etl.record_errors");
}

$mock->config(\%refuse);
is(summary(), 'partially_succeeded selected 10 succeeded 8 failed 2', 'first run: 8 delivered, 2 rejected');
$mock->reset;
$mock->config(\%refuse);
is(summary(), 'succeeded selected 0 succeeded 0 failed 0', 'second run: the rejected records are held back');
is(errors(), '1 rejected given up, 2 rejected given up', 'their errors stay, given up');

# Records 1 and 3 change; the run that sends them is acknowledged (1
# refused, 3 accepted) and killed before either answer is written.
q1("UPDATE public.people SET name = name || ' v2' WHERE id IN (1, 3)");
$mock->reset;
$mock->config({ default => { status => 200, delay_ms => 1000 },
	records => { match => 'id', rules => { map { $_ => { status => 422, body => 'bad name', delay_ms => 1000 } } ('1', '2') } } });
my $killed = q1("SELECT reverse_etl.request_sync('people')");
kill_before_checkpoint($node, $killed, $checkpoint, 'killed run');
is(received(), '1:P1 v2,3:P3 v2', 'the killed run sent the changed records only, not the held one');
is(q1("SELECT name FROM reverse_etl_state.sending_" . mapping_id($node, 'people') . " s "
	  . "JOIN public.people p ON p.id::text = s.record_id ORDER BY p.id"), "P1 v2\nP3 v2",
	'its selection log names the two records sent');
is(q1("SELECT count(*) FROM reverse_etl.record_errors WHERE record_id = '3'"), '0',
	'record 3 (accepted) has no error');
# Record 1's refusal needs no checkpoint write: the killed run may have
# recorded it (a flush of its own) or not (flushed with record 3's
# acceptance, which waits for the lock). Either way it must not be lost.
my $recorded = q1("SELECT run_id = $killed FROM reverse_etl.record_errors WHERE record_id = '1'") eq 't';
note($recorded ? 'the killed run recorded the refusal of record 1' : 'the killed run lost the refusal of record 1');
is(q1("SELECT given_up_at IS NOT NULL FROM reverse_etl.record_errors WHERE record_id = '2'"), 't',
	'record 2 is still given up');

# The next run: record 3 again (its answer was lost); record 1 again only if
# its refusal was lost (else the error holds its new values: held); record 2
# still held. Nothing lost: the mock has every record in its last version.
$mock->reset;
$mock->config(\%refuse);
is(summary(),
	$recorded ? 'succeeded selected 1 succeeded 1 failed 0' : 'partially_succeeded selected 2 succeeded 1 failed 1',
	'next run: what the killed run did not record is sent again');
is(received(), $recorded ? '3:P3 v2' : '1:P1 v2,3:P3 v2', '... with the current values, record 2 held');
is(q1("SELECT count(*) FROM reverse_etl.record_errors WHERE record_id = '1' AND kind = 'rejected' "
	  . "AND payload->>'name' = 'P1 v2'"), '1', 'record 1 has its refusal of the new values');
is(q1("SELECT count(*) FROM $checkpoint WHERE unconfirmed IS NULL"), '8', 'eight records confirmed in the checkpoint');
$mock->reset;
$mock->config(\%refuse);
is(summary(), 'succeeded selected 0 succeeded 0 failed 0', 'the run after: both refused records held back');
is(errors(), '1 rejected given up, 2 rejected given up', 'both given up');

# retry_records after the crash: both go out, the destination takes them.
is(q1("SELECT reverse_etl.retry_records('people')"), '2', 'retry_records marks the two records');
$mock->reset;
is(summary(), 'succeeded selected 2 succeeded 2 failed 0', 'they are sent and accepted');
is(received(), '1:P1 v2,2:P2', '... in their current versions');
is(errors(), '', 'no error left');
is(q1("SELECT count(*) FROM $checkpoint"), '10', 'all ten records in the checkpoint');

$node->stop;
done_testing();
