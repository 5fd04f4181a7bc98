# What may have reached the destination is never forgotten (issue 11, A).
#
# The sync worker is killed (kill -9) after the destination acknowledged a
# request and before the acknowledgement reached the checkpoint: the test
# holds a SHARE lock on the checkpoint, so the worker's flush waits on it
# with the acknowledgements in memory, a deterministic stand-in for a crash
# in the second between two flushes. Then the model changes, and the next
# run must still send what the destination may hold:
# - a record acknowledged but never checkpointed, then deleted: its deletion
#   (before the fix nothing: a deletion was only sent for checkpointed ids);
# - an update acknowledged but not checkpointed, then changed back: the
#   change back (before the fix "unchanged": the destination kept the update);
# - a resend of what was lost carries the messageId it had (receivers drop
#   the copy), and every new version carries a new one.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_010');
my $node = new_node('unconfirmed', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $endpoint = $mock->url('');
q1(qq{
CREATE TABLE public.people (id int PRIMARY KEY, plan text);
INSERT INTO public.people SELECT g, 'A' FROM generate_series(1, 40) AS g;
SELECT reverse_etl.create_model('people', 'SELECT id, plan FROM public.people', 'id');
SELECT reverse_etl.create_destination('seg', 'segment',
    '{"write_key": "wk", "endpoint": "$endpoint"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'seg', 'track',
    '{"event": {"value": "Plan"}, "userId": "id", "properties": {"object": {"plan": "plan"}}}',
    sync_mode => 'all', name => 'people');
});
my $id = mapping_id($node, 'people');
my $checkpoint = "reverse_etl_state.checkpoint_$id";
my $sending = "reverse_etl_state.sending_$id";

# The events the mock received: userId => {plan => ..., message_id => ...}.
sub events
{
	my %events;
	for my $request (@{ $mock->requests('path_prefix=/v1/batch') })
	{
		for my $event (@{ decode_json($request->{body})->{batch} })
		{
			$events{ $event->{userId} } = {
				plan => $event->{properties}{plan} // 'null',
				message_id => $event->{messageId} };
		}
	}
	return \%events;
}

# Whether record $id was sent in both event sets with the same messageId
# (same version), or in both with different ones (new version).
sub same_id
{
	my ($x, $y, $id) = @_;
	return defined $x->{$id} && defined $y->{$id} && $x->{$id}{message_id} eq $y->{$id}{message_id};
}

sub new_id
{
	my ($x, $y, $id) = @_;
	return defined $x->{$id} && defined $y->{$id} && $x->{$id}{message_id} ne $y->{$id}{message_id};
}

# A run whose one request the destination acknowledges, then a kill -9 of
# its worker while its flush waits for the checkpoint. Returns the events
# the destination received.
sub acknowledged_then_killed
{
	my ($label) = @_;
	$mock->reset;
	# Answered after a second: time to lock the checkpoint first.
	$mock->config({ default => { delay_ms => 1000 } });
	kill_before_checkpoint($node, q1("SELECT reverse_etl.request_sync('people')"), $checkpoint, $label);
	return events();
}

# 1. The first run (40 added records) is acknowledged, then killed: nothing
# reached the checkpoint; the selection log holds all 40.
my $first = acknowledged_then_killed('first run');
is(scalar(keys %$first), 40, 'first run: the destination received 40 events');
is(q1("SELECT count(*) FROM $checkpoint"), '0', 'first run: no acknowledgement reached the checkpoint');
is(q1("SELECT count(*) FROM $sending"), '40', 'first run: the selection log holds the 40 records sent');

# 10 of them leave the table before the next run.
q1("DELETE FROM public.people WHERE id <= 10");
$mock->reset;
is( q1("SELECT status || ' ' || records_added || ' ' || records_deleted || ' ' || records_succeeded "
		  . "FROM reverse_etl.sync('people')"),
	'succeeded 30 10 40',
	'next run: the 30 records resent as added, the 10 deleted ones sent as deletions');
my $second = events();
is( join(',', sort { $a <=> $b } grep { $second->{$_}{plan} eq 'null' } keys %$second),
	join(',', 1 .. 10), 'the deletions are those of the 10 records deleted');
is(scalar(grep { same_id($second, $first, $_) } 11 .. 40),
	30, 'the 30 resent records carry the messageId of their lost send');
is(scalar(grep { new_id($second, $first, $_) } 1 .. 10),
	10, 'each deletion is a new messageId');
is(q1("SELECT count(*) FILTER (WHERE unconfirmed IS NULL) || ' ' || count(*) FROM $checkpoint"),
	'30 30', 'the checkpoint holds the 30 records, all acknowledged');
is(q1("SELECT count(*) FROM $sending"), '0', 'the selection log is empty after a complete run');

# 2. Records 11-15 are updated to B and 16-20 deleted; the run is
# acknowledged, then killed. Then 11-15 change back to A.
q1("UPDATE public.people SET plan = 'B' WHERE id BETWEEN 11 AND 15");
q1("DELETE FROM public.people WHERE id BETWEEN 16 AND 20");
my $killed = acknowledged_then_killed('update run');
is( join(',', map { "$_:$killed->{$_}{plan}" } sort { $a <=> $b } keys %$killed),
	'11:B,12:B,13:B,14:B,15:B,16:null,17:null,18:null,19:null,20:null',
	'update run: the destination received the 5 updates and the 5 deletions');
q1("UPDATE public.people SET plan = 'A' WHERE id BETWEEN 11 AND 15");
$mock->reset;
is( q1("SELECT status || ' ' || records_updated || ' ' || records_deleted || ' ' || records_unchanged "
		  . "FROM reverse_etl.sync('people')"),
	'succeeded 5 5 20',
	'next run: the 5 changed back are sent as updated, the 5 deletions again');
my $after = events();
is( join(',', map { "$_:$after->{$_}{plan}" } sort { $a <=> $b } keys %$after),
	'11:A,12:A,13:A,14:A,15:A,16:null,17:null,18:null,19:null,20:null',
	'the destination gets A back for 11-15, and the deletions of 16-20');
is(scalar(grep { new_id($after, $killed, $_) } 11 .. 15),
	5, 'the changes back are new versions: new messageIds');
is(scalar(grep { new_id($after, $first, $_) } 11 .. 15),
	5, 'and not the messageIds of the first A either (a receiver would drop those)');
is(scalar(grep { same_id($after, $killed, $_) } 16 .. 20),
	5, 'the resent deletions carry the messageIds of their lost send');

# 3. Quiet: nothing left to send, nothing unconfirmed.
is(q1("SELECT records_selected FROM reverse_etl.sync('people')"), '0', 'a further run has nothing to send');
is(q1("SELECT count(*) FILTER (WHERE unconfirmed IS NULL) || ' ' || count(*) FROM $checkpoint"),
	'25 25', 'the checkpoint holds the 25 records left, all acknowledged');

$node->stop;
done_testing();
