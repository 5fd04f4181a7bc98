# A deletion finds the record at the destination by the key it was last
# sent with (issue 14), also when that send was never acknowledged.
#
# Braze user_attributes in mirror mode, external_id mapped to the email (the
# model's identifier is a number). As in t/010_unconfirmed_deliveries.pl,
# the sync worker is killed (kill -9) after Braze acknowledged the request
# and before the acknowledgement reached the checkpoint (the test holds a
# SHARE lock on it). The emails then change or the users leave, so that only
# the run's selection log knows the keys Braze may now hold:
# - users sent (unacknowledged) and then deleted: the deletions name the
#   emails they were sent with;
# - users whose new email was sent (unacknowledged), then deleted: the
#   deletions name the new email, not the one the checkpoint had confirmed;
# - users whose email changed after the lost send: sent again with the new
#   email, and deleted by it later.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_021');
# NOTICE in the server log: the runs' own messages say how they read the model.
my $node = new_node('destination_keys', naptime => '200ms', conf => "log_min_messages = notice\n");

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $endpoint = $mock->url('');
my %vendor = (type => 'braze', api_key => 'bk');
$mock->config({ vendor => \%vendor });
q1(qq{
CREATE TABLE public.people (id int PRIMARY KEY, email text, name text);
INSERT INTO public.people SELECT g, 'p' || g || '\@one.example', 'P' || g FROM generate_series(1, 20) AS g;
SELECT reverse_etl.create_model('people', 'SELECT id, email, name FROM public.people', 'id');
SELECT reverse_etl.create_destination('braze', 'braze',
    '{"api_key": "bk", "endpoint": "$endpoint"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'braze', 'user_attributes',
    '{"external_id": "email", "first_name": "name"}', sync_mode => 'mirror', name => 'people');
});
my $id = mapping_id($node, 'people');
my $checkpoint = "reverse_etl_state.checkpoint_$id";
my $sending = "reverse_etl_state.sending_$id";

# The external_ids of the upserts and of the deletions the mock received.
sub upserted
{
	my @ids;
	for my $request (@{ $mock->requests('path_prefix=/users/track') })
	{
		push @ids, map { $_->{external_id} } @{ decode_json($request->{body})->{attributes} // [] };
	}
	return join(',', sort @ids);
}

sub deleted
{
	my @ids;
	for my $request (@{ $mock->requests('path_prefix=/users/delete') })
	{
		push @ids, @{ decode_json($request->{body})->{external_ids} };
	}
	return join(',', sort @ids);
}

sub emails { return join(',', sort map { "p$_\@$_[0]" } @_[1 .. $#_]); }

# A run whose requests Braze answers late, killed while its flush waits for
# the checkpoint with the acknowledgements in memory.
sub acknowledged_then_killed
{
	my ($label) = @_;
	$mock->reset;
	$mock->config({ vendor => { %vendor, delay_ms => { '/users/track' => 1000, '/users/delete' => 1000 } } });
	kill_before_checkpoint($node, q1("SELECT reverse_etl.request_sync('people')"), $checkpoint, $label);
	$mock->config({ vendor => \%vendor });
}

sub sync_summary
{
	return q1("SELECT status || ' ' || records_added || ' ' || records_updated || ' ' || records_deleted "
		  . "|| ' ' || records_succeeded || ' ' || records_failed FROM reverse_etl.sync('people')");
}

# 1. The first run reaches Braze, its acknowledgements do not reach the
# checkpoint; its selection log holds the 20 users and the emails sent.
acknowledged_then_killed('first run');
is(upserted(), emails('one.example', 1 .. 20), 'first run: Braze received the 20 users by email');
is(q1("SELECT count(*) FROM $checkpoint"), '0', 'first run: nothing acknowledged reached the checkpoint');
ok($node->log_contains(qr/first run: sending the model's records as a model reader reads them/),
	'first run: streamed from a model reader');
# The reader leaves the key out (it is among the values) and the run takes
# it from the values as it stores the rows: the same JSON text the outbox
# would give.
is(q1("SELECT string_agg(dest_key, ',' ORDER BY record_id::int) FROM $sending"),
	join(',', map { "\"p$_\@one.example\"" } 1 .. 20), 'first run: the selection log holds the 20 keys sent');

# Users 1-5 leave and users 6-10 change their email before the next run.
q1("DELETE FROM public.people WHERE id <= 5");
q1("UPDATE public.people SET email = 'p' || id || '\@two.example' WHERE id BETWEEN 6 AND 10");
$mock->reset;
is(sync_summary(), 'succeeded 15 0 5 20 0',
	'next run: 15 users resent as added, 5 deletions, all delivered');
is(deleted(), emails('one.example', 1 .. 5),
	'the deletions name the emails the lost run sent, which the table no longer has');
is(upserted(), join(',', sort(split(/,/, emails('one.example', 11 .. 20)), split(/,/, emails('two.example', 6 .. 10)))),
	'the users resent go with their current emails');
is(q1("SELECT string_agg(record_id || '=' || dest_key, ',' ORDER BY record_id::int) FROM $checkpoint WHERE record_id::int <= 10"),
	join(',', map { "$_=\"p$_\@two.example\"" } 6 .. 10),
	'the checkpoint keeps the new emails of users 6-10');

# 2. Users 11-15 change their email; the run that sends it is acknowledged
# and killed. The checkpoint still holds the confirmed old emails, the log
# the new ones. Then the users leave: their deletions must name the new
# emails, which Braze may hold.
q1("UPDATE public.people SET email = 'p' || id || '\@three.example' WHERE id BETWEEN 11 AND 15");
acknowledged_then_killed('email change run');
is(upserted(), emails('three.example', 11 .. 15), 'email change run: Braze received the 5 new emails');
q1("DELETE FROM public.people WHERE id BETWEEN 11 AND 15");
$mock->reset;
is(sync_summary(), 'succeeded 0 0 5 5 0', 'next run: 5 deletions, delivered');
is(deleted(), emails('three.example', 11 .. 15), 'the deletions name the emails of the unacknowledged send');

# 3. Everyone leaves: each deletion names the key last sent.
q1("DELETE FROM public.people");
$mock->reset;
is(sync_summary(), 'succeeded 0 0 10 10 0', 'the last 10 deletions are delivered');
is(deleted(), join(',', sort(split(/,/, emails('two.example', 6 .. 10)), split(/,/, emails('one.example', 16 .. 20)))),
	'by the emails last sent');
is(q1("SELECT count(*) FROM $checkpoint"), '0', 'the checkpoint is empty');

# 4. Amplitude's identify_user, in mirror mode by the email: its elements
# are rendered from a plan of copies per payload key layout
# (destinations/element_copy_plan; a null name is left out, so there are
# two). Killed after Amplitude acknowledged, the next run sends every user
# again, element for element as the lost run wrote them, and keeps each
# email with the checkpoint; a deletion clears the user by that email.
my %amplitude = (type => 'amplitude', api_key => 'ak');
# A reset forgets the vendor too.
sub fresh_amplitude { $mock->reset; $mock->config({ vendor => \%amplitude }); }
fresh_amplitude();
q1(qq{
CREATE TABLE public.listeners (id int PRIMARY KEY, email text, name text);
INSERT INTO public.listeners
    SELECT g, 'l' || g || '\@four.example', CASE WHEN g % 3 = 0 THEN NULL ELSE 'L' || g END
    FROM generate_series(1, 12) AS g;
SELECT reverse_etl.create_model('listeners', 'SELECT id, email, name FROM public.listeners', 'id');
SELECT reverse_etl.create_destination('amplitude', 'amplitude',
    '{"api_key": "ak", "endpoint": "$endpoint"}', enabled => true);
SELECT reverse_etl.create_mapping('listeners', 'amplitude', 'identify_user',
    '{"user_id": "email", "name": "name", "id": "id"}', sync_mode => 'mirror', name => 'listeners');
});
my $amplitude_checkpoint = 'reverse_etl_state.checkpoint_' . mapping_id($node, 'listeners');

# Each identification the mock received, as the JSON text of its element.
sub identified
{
	my @elements;
	for my $request (@{ $mock->requests('path_prefix=/identify') })
	{
		my ($form) = $request->{body} =~ /(?:^|&)identification=([^&]*)/;
		$form =~ s/\+/ /g;
		$form =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/eg;
		push @elements, map { JSON::PP->new->canonical->encode($_) } @{ decode_json($form) };
	}
	return join("\n", sort @elements);
}

# Amplitude's own answer ("success"), late: the mock's vendor has no delay of its own.
$mock->config({ vendor => \%amplitude, script => [ { status => 200, body => 'success', delay_ms => 1000, times => 50 } ] });
kill_before_checkpoint($node, q1("SELECT reverse_etl.request_sync('listeners')"), $amplitude_checkpoint,
	'identify run');
my $lost = identified();
is($lost, join("\n", sort map {
			JSON::PP->new->canonical->encode({ user_id => "l$_\@four.example",
				user_properties => { '$set' => { id => $_ + 0, ($_ % 3 ? (name => "L$_") : ()) } } })
		} 1 .. 12),
	'identify run: Amplitude received the 12 users, a null name left out');
is(q1("SELECT count(*) FROM $amplitude_checkpoint"), '0', 'identify run: nothing reached the checkpoint');
fresh_amplitude();
is(q1("SELECT status || ' ' || records_added || ' ' || records_succeeded FROM reverse_etl.sync('listeners')"),
	'succeeded 12 12', 'next run: the 12 users sent again, delivered');
is(identified(), $lost, 'element for element as the lost run sent them');
is(q1("SELECT string_agg(dest_key, ',' ORDER BY record_id::int) FROM $amplitude_checkpoint"),
	join(',', map { "\"l$_\@four.example\"" } 1 .. 12), 'the checkpoint keeps each email sent');
q1("DELETE FROM public.listeners WHERE id <= 3");
fresh_amplitude();
q1("SELECT reverse_etl.sync('listeners')");
is(identified(), join("\n", sort map {
			JSON::PP->new->canonical->encode({ user_id => "l$_\@four.example",
				user_properties => { '$clearAll' => '-' } })
		} 1 .. 3),
	'the deletions clear the users by the emails sent');

unlike(slurp_file($node->logfile), qr/terminated by signal (?!9\b)/,
	'no process crashed (the kills are signal 9, the test\'s own)');
$node->stop;
done_testing();
