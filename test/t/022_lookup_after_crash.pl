# HubSpot's ids are kept in the checkpoint in the same transaction as the
# records' acknowledgements (issue 14). When a crash loses both, deletions
# still reach HubSpot: the records have no id, so the delete pass looks them
# up by email (batch/read) and archives what it finds.
#
# As in t/010_unconfirmed_deliveries.pl, the sync worker is killed (kill -9)
# after HubSpot acknowledged the upserts and before the acknowledgement (and
# the ids) reached the checkpoint: the test holds a SHARE lock on it.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_022');
my $node = new_node('lookup_after_crash', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $endpoint = $mock->url('');
my %vendor = (type => 'hubspot', access_token => 'hs');
my $upsert = '/crm/v3/objects/contacts/batch/upsert';
$mock->config({ vendor => { %vendor, delay_ms => { $upsert => [1000] } } });
q1(qq{
CREATE TABLE public.people (id int PRIMARY KEY, email text, name text);
INSERT INTO public.people SELECT g, 'p' || g || '\@example.com', 'P' || g FROM generate_series(1, 20) AS g;
SELECT reverse_etl.create_model('people', 'SELECT id, email, name FROM public.people', 'id');
SELECT reverse_etl.create_destination('hubspot', 'hubspot',
    '{"access_token": "hs", "endpoint": "$endpoint"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'hubspot', 'contact',
    '{"email": "email", "firstname": "name"}', sync_mode => 'mirror', name => 'people');
});
my $checkpoint = 'reverse_etl_state.checkpoint_' . mapping_id($node, 'people');

# HubSpot's contacts: email => id, live and archived.
sub contacts
{
	my $state = decode_json($mock->_request('GET', '/__vendor/state')->{content});
	my %live = map { ($state->{objects}{contacts}{$_}{properties}{email} => $_) }
	  keys %{ $state->{objects}{contacts} // {} };
	return (\%live, $state->{archived}{contacts} // []);
}

sub paths_since
{
	my ($seq) = @_;
	return join(',', map { $_->{path} =~ s{.*/batch/}{}r } grep { $_->{seq} > $seq } @{ $mock->requests });
}

sub last_seq { my $r = $mock->requests; return @$r ? $r->[-1]{seq} : 0; }

# 1. The first run's upsert is acknowledged (HubSpot stored the 20 contacts
# and answered their ids) and the worker killed before its flush.
kill_before_checkpoint($node, q1("SELECT reverse_etl.request_sync('people')"), $checkpoint, 'first run');
my ($live) = contacts();
is(scalar(keys %$live), 20, 'HubSpot holds the 20 contacts');
is(q1("SELECT count(*) FROM $checkpoint"), '0', 'no acknowledgement, and no id, reached the checkpoint');

# 2. Five people leave. Their deletions have no id: looked up, then archived.
q1("DELETE FROM public.people WHERE id <= 5");
my $seq = last_seq();
is( q1("SELECT status || ' ' || records_added || ' ' || records_deleted || ' ' || records_succeeded "
		  . "FROM reverse_etl.sync('people')"),
	'succeeded 15 5 20', 'next run: 15 resent, 5 deletions, all delivered');
is(paths_since($seq), 'upsert,read,archive', 'the deletions were looked up by email before the archive');
my ($after, $archived) = contacts();
is(join(',', sort @$archived), join(',', sort map { $live->{"p$_\@example.com"} } 1 .. 5),
	'HubSpot archived exactly the contacts of the 5 people who left');
is(scalar(keys %$after), 15, '15 contacts are left');
is( q1("SELECT string_agg(k.record_id, ',' ORDER BY k.record_id::int) FROM $checkpoint k"),
	join(',', 6 .. 20), 'the checkpoint holds the 15 people');
my %kept = map { split /=/ } split /\n/, q1("SELECT dest_key::jsonb #>> '{}' || '=' || object_id FROM $checkpoint");
is(scalar(grep { $kept{$_} eq $after->{$_} } keys %$after), 15, 'each with the id HubSpot gave its contact');

# 3. Five more leave: archived by the kept ids, no lookup.
q1("DELETE FROM public.people WHERE id <= 10");
$seq = last_seq();
is(q1("SELECT status || ' ' || records_deleted || ' ' || records_succeeded FROM reverse_etl.sync('people')"),
	'succeeded 5 5', 'the 5 deletions are delivered');
is(paths_since($seq), 'archive', 'archived by the kept ids, with no lookup');
(undef, $archived) = contacts();
is(join(',', sort @$archived), join(',', sort map { $live->{"p$_\@example.com"} } 1 .. 10),
	'HubSpot archived the contacts of the 10 people who left');

$node->stop;
done_testing();
