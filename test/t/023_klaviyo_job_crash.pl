# Klaviyo's bulk import answers 202 and a job: a run keeps the job's records
# pending until the job is done and its import errors are read (issue 15).
# Killed (kill -9) while the job is still running, the run leaves nothing of
# it in the checkpoint: none of its records counts as delivered unseen, and
# the next run sends them all again, then confirms them through the job.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_023');
my $node = new_node('klaviyo_job_crash', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $endpoint = $mock->url('');
# The job never finishes: the run polls it until it is killed.
$mock->config({ vendor => { type => 'klaviyo', api_key => 'kl', job_polls => -1 } });
q1(qq{
CREATE TABLE public.people (id int PRIMARY KEY, email text, name text);
INSERT INTO public.people SELECT g, 'p' || g || '\@example.com', 'P' || g FROM generate_series(1, 20) AS g;
SELECT reverse_etl.create_model('people', 'SELECT id, email, name FROM public.people', 'id');
SELECT reverse_etl.create_destination('klaviyo', 'klaviyo',
    '{"api_key": "kl", "endpoint": "$endpoint", "job_wait": "10 minutes"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'klaviyo', 'profile',
    '{"email": "email", "first_name": "name"}', name => 'people');
});
my $checkpoint = 'reverse_etl_state.checkpoint_' . mapping_id($node, 'people');

sub state { return decode_json($mock->_request('GET', '/__vendor/state')->{content}); }

sub requests_to
{
	my ($method, $pattern) = @_;
	return grep { $_->{method} eq $method && $_->{path} =~ $pattern } @{ $mock->requests };
}

# 1. The run sends the job and polls it; killed while the job is running.
my $run = q1("SELECT reverse_etl.request_sync('people')");
ok(wait_until(sub { scalar(requests_to('GET', qr{^/api/profile-bulk-import-jobs/job-1$})) >= 2 }, 60),
	'the run started a job and polls it');
is(scalar(requests_to('POST', qr{^/api/profile-bulk-import-jobs$})), 1, 'one job for the 20 profiles');
my $pid = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $run");
like($pid, qr/^\d+$/, 'the run is in progress');
kill_run_process($node, $pid, $run, 'after the restart the run is recorded as interrupted');
# (A record sent and not acknowledged may be kept there as unconfirmed, to
# be sent again: never as delivered.)
is(q1("SELECT count(*) FROM $checkpoint WHERE unconfirmed IS NULL"), '0',
	'no record of the unfinished job is confirmed in the checkpoint');
is(q1("SELECT records_succeeded || ' ' || records_failed FROM reverse_etl.sync_runs WHERE run_id = $run"),
	'0 0', 'the interrupted run counts none delivered');
is(state()->{jobs}{'job-1'}{attributes}{status}, 'processing', 'Klaviyo has not finished the job');

# 2. The next run sends every profile again; this time the job completes
# and its import errors name one profile, which fails alone.
$mock->reset;
$mock->config({ vendor => { type => 'klaviyo', api_key => 'kl', reject => { 'p7@example.com' => 'Profile is suppressed' } } });
is( q1("SELECT status || ' ' || records_added || ' ' || records_succeeded || ' ' || records_failed "
		  . "FROM reverse_etl.sync('people')"),
	'partially_succeeded 20 19 1', 'next run: the 20 sent again, 19 confirmed by the job, 1 named by its errors');
my ($post) = requests_to('POST', qr{^/api/profile-bulk-import-jobs$});
is(scalar(@{ decode_json($post->{body})->{data}{attributes}{profiles}{data} }), 20, 'the job carried all 20 profiles');
ok(scalar(requests_to('GET', qr{/import-errors})) >= 1, 'the run read the job\'s import errors');
is( q1("SELECT string_agg(record_id, ',' ORDER BY record_id::int) FROM $checkpoint WHERE unconfirmed IS NULL"),
	join(',', grep { $_ != 7 } 1 .. 20), 'the checkpoint confirms the 19 profiles the job imported');
is(q1("SELECT string_agg(record_id, ',') FROM $checkpoint WHERE unconfirmed IS NOT NULL"),
	'7', 'the rejected one stays unconfirmed, for the next run');
is( q1("SELECT record_id || ' ' || kind || ' ' || error FROM reverse_etl.record_errors WHERE mapping = 'people'"),
	'7 rejected Invalid input.: Profile is suppressed', 'the rejected profile has Klaviyo\'s error');
is(scalar(keys %{ state()->{profiles} }), 19, 'Klaviyo imported the 19');

$node->stop;
done_testing();
