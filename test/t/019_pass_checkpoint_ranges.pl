# A two-pass run (Braze user_attributes in mirror mode: upserts to
# /users/track, then deletes to /users/delete) must not count the first
# pass's undelivered records as delivered when the second pass writes its
# own to the checkpoint.
#
# An update Braze rejects in the upsert pass, whose outbox row lies between
# two deletions the delete pass delivers in one flush, must stay a record
# error, stay out of the checkpoint, and go again in the next run. The result
# writer takes delivered records with consecutive ordinals to be a TID range
# of the outbox holding no other row (result_writer.hpp,
# DeliveredRecord::ordinal; delivered_rows_sql), so ordinals are places in
# the whole outbox, not in one pass: numbered per pass, two consecutive
# deletions would span the update, and write_delivered would checkpoint it
# and delete its record error (the bug this test was written against).
#
# The outbox holds the updates among the deletions when the diff probes the
# checkpoint in order, as the planner does here once the tables have
# statistics (the delete requests then list their ids in identifier order).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_019');
my $node = new_node('pass_ranges', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

$mock->config({ vendor => { type => 'braze', api_key => 'braze-key' } });
my $endpoint = $mock->url('');
q1(qq{
CREATE TABLE public.users (id text PRIMARY KEY, n int NOT NULL, plan text);
INSERT INTO public.users SELECT 'u' || lpad(g::text, 3, '0'), g, 'free' FROM generate_series(1, 120) g;
SELECT reverse_etl.create_model('users', 'SELECT id, plan FROM public.users', 'id');
SELECT reverse_etl.create_destination('braze', 'braze',
  jsonb_build_object('api_key', 'braze-key', 'endpoint', '$endpoint'), enabled => true);
SELECT reverse_etl.create_mapping('users', 'braze', 'user_attributes',
  '{"external_id": "id", "plan": "plan"}', sync_mode => 'mirror', name => 'users');
});
my $id = mapping_id($node, 'users');
is(q1("SELECT status || ' ' || records_succeeded FROM reverse_etl.sync('users')"),
	'succeeded 120', 'the first run sends the 120 users');

# From now on Braze refuses u012 (a new configuration: the mock forgets the
# users it stored, which this test does not look at).
$mock->config({ vendor => { type => 'braze', api_key => 'braze-key', reject => { u012 => 'invalid attribute' } } });
q1("UPDATE public.users SET plan = 'pro' WHERE n % 12 = 0");    # 10, u012 among them
q1("DELETE FROM public.users WHERE n % 2 = 1");                 # 60, u011 and u013 among them
q1("ANALYZE public.users, reverse_etl_state.checkpoint_$id");

my $before = @{ $mock->requests } ? $mock->requests->[-1]{seq} : 0;
is( q1("SELECT status || ' ' || records_updated || ' ' || records_deleted || ' ' || records_succeeded || ' ' "
		  . "|| records_failed FROM reverse_etl.sync('users')"),
	'partially_succeeded 10 60 69 1', 'the run delivers 69 changes; u012 fails');
# Requests in flight together arrive in any order (with adaptive
# concurrency the delete pass sends its two batches at once), so the
# requests are put in the order of their first identifier; within a
# request the order is the outbox's.
my @deleted = map { @$_ } sort { $a->[0] cmp $b->[0] } map { decode_json($_->{body})->{external_ids} }
  grep { $_->{seq} > $before } @{ $mock->requests('path_prefix=/users/delete') };
is(join(',', @deleted), join(',', map { sprintf('u%03d', $_) } grep { $_ % 2 == 1 } 1 .. 120),
	'the deletions went in identifier order: the outbox holds u012 between u011 and u013');

is( q1("SELECT string_agg(record_id || ' ' || change || ' ' || kind, ', ') FROM reverse_etl.record_errors "
		  . "WHERE mapping = 'users'"),
	'u012 updated rejected', 'u012 keeps its record error');
isnt(q1("SELECT coalesce(unconfirmed::text, 'acknowledged') FROM reverse_etl_state.checkpoint_$id WHERE record_id = 'u012'"),
	'acknowledged', 'the checkpoint does not show u012 acknowledged');

$before = $mock->requests->[-1]{seq};
is(q1("SELECT records_updated || ' ' || records_failed FROM reverse_etl.sync('users')"),
	'1 1', 'the next run sends u012 again (rejected again)');
my @tracked = map { $_->{external_id} } map { @{ decode_json($_->{body})->{attributes} } }
  grep { $_->{seq} > $before } @{ $mock->requests('path_prefix=/users/track') };
is(join(',', @tracked), 'u012', 'u012 goes in its /users/track request');

$node->stop;
$mock->stop;
done_testing();
