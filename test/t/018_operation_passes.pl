# A run that sends its changes in two passes (destination operations: Braze
# user_attributes in mirror mode sends added and updated records as upserts
# to /users/track, then deleted ones as deletes to /users/delete, 50 ids a
# request) loses and repeats nothing when its sync worker is killed (kill -9)
# in the middle:
# 1. during the delete pass, once the upsert pass has committed: the next run
#    sends the deletes only (every one exactly once) and no upsert again;
# 2. during the upsert pass, the deletes not yet sent: the next run sends
#    every upsert and every delete, each exactly once.
# Every check reads what the Braze mock (test/mocks/braze.py) received or
# stored (GET /__vendor/state), and the mapping's checkpoint and errors.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_018');
# One request in flight at a time: when a request hangs, nothing after it has
# been sent, so what each run delivered before the kill is known exactly.
my $node = new_node('operation_passes', naptime => '200ms',
	conf => "reverse_etl.max_concurrent_requests = 1\n");

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# One configuration for the whole test (a new one would forget the users the
# vendor stored). Scenario 1: the first /users/delete of the test is answered
# after 50 s (it takes effect at once: Braze did the work, its answer is
# late). Scenario 2: the first request carrying user b121, which only its
# change run sends, is held 50 s and never reaches the vendor. Both are far
# beyond the kill, and beyond reverse_etl.request_timeout (30 s), so no
# answer arrives before it.
$mock->config(
	{
		vendor => {
			type => 'braze',
			api_key => 'braze-key',
			delay_ms => { '/users/delete' => [50000] },
		},
		records => {
			match => 'external_id',
			items => 'attributes',
			rules => {
				b121 => {
					status => 201,
					body => { message => 'success', attributes_processed => 11 },
					delay_ms => 50000,
					times => 1,
				},
			},
		},
	});

my $endpoint = $mock->url('');

# The users of table users_$prefix, ids "${prefix}001".."${prefix}120", a model
# of them and a mirror mapping "pass $prefix" with external_id = the identifier.
sub setup_scenario
{
	my ($prefix) = @_;
	q1(qq{
CREATE TABLE public.users_$prefix (id text PRIMARY KEY, n int NOT NULL, plan text);
INSERT INTO public.users_$prefix
  SELECT '$prefix' || lpad(g::text, 3, '0'), g, 'free' FROM generate_series(1, 120) g;
SELECT reverse_etl.create_model('users_$prefix', 'SELECT id, plan FROM public.users_$prefix', 'id');
SELECT reverse_etl.create_destination('braze $prefix', 'braze',
  jsonb_build_object('api_key', 'braze-key', 'endpoint', '$endpoint'), enabled => true);
SELECT reverse_etl.create_mapping('users_$prefix', 'braze $prefix', 'user_attributes',
  '{"external_id": "id", "plan": "plan"}', sync_mode => 'mirror', name => 'pass $prefix');
});
}

sub id_of { my ($prefix, $n) = @_; return sprintf('%s%03d', $prefix, $n); }

# The users Braze holds whose external_id starts with $prefix: id => plan.
sub vendor_users
{
	my ($prefix) = @_;
	my $res = $mock->_request('GET', '/__vendor/state');
	my $users = decode_json($res->{content})->{users};
	return { map { $_ => $users->{$_}{attributes}{plan} // 'null' } grep { /^\Q$prefix\E/ } keys %$users };
}

# The last request's sequence number: requests after it are a later run's.
sub last_seq
{
	my $requests = $mock->requests;
	return @$requests ? $requests->[-1]{seq} : 0;
}

# The requests to $path after sequence number $after (recorded, answered or
# not), and the ids they carried: external_ids of the attributes, or the
# list of external_ids of a delete. Returns (number of requests, [ids]).
sub sent
{
	my ($path, $after) = @_;
	my @requests = grep { $_->{seq} > $after } @{ $mock->requests("path_prefix=$path") };
	my @ids;
	for my $r (@requests)
	{
		my $body = decode_json($r->{body});
		push @ids, map { $_->{external_id} } @{ $body->{attributes} // [] };
		push @ids, @{ $body->{external_ids} // [] };
	}
	return (scalar(@requests), [ sort @ids ]);
}

sub id_list { return join(',', sort @_); }

# Starts a run of $mapping and waits until a request to $path (whose number so
# far is $before_count) arrived: the request the configuration holds.
sub start_run_until
{
	my ($mapping, $path, $label) = @_;
	my ($before_count) = sent($path, 0);
	my $run = q1("SELECT reverse_etl.request_sync('$mapping')");
	ok($mock->wait_for($before_count + 1, 30, "path_prefix=$path"), "$label: a request to $path is in flight");
	return $run;
}

# kill -9 of the run's worker; waits for the restarted server to record the
# run as interrupted. Returns the pid killed.
sub kill_run
{
	my ($run, $label) = @_;
	my $pid = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $run");
	is(q1("SELECT backend_type FROM pg_stat_activity WHERE pid = $pid"),
		'reverse_etl sync', "$label: the run's worker is a reverse_etl sync (pid $pid)");
	kill 'KILL', $pid;
	ok( poll_sql($node,
			"SELECT status || ': ' || error FROM reverse_etl.sync_runs WHERE run_id = $run",
			'failed: interrupted by server restart', 60),
		"$label: after the restart the run is failed, interrupted by server restart");
	return $pid;
}

# The first run sends all 120 users as upserts; Braze holds them.
sub first_sync
{
	my ($prefix) = @_;
	is( q1("SELECT status || ' ' || records_added || ' ' || records_succeeded FROM reverse_etl.sync('pass $prefix')"),
		'succeeded 120 120', "$prefix: the first run sends the 120 users");
	my $users = vendor_users($prefix);
	is(scalar(keys %$users), 120, "$prefix: Braze holds the 120 users");
}

sub record_errors
{
	my ($mapping) = @_;
	return q1("SELECT count(*) FROM reverse_etl.record_errors WHERE mapping = '$mapping'");
}

my @killed;

# ---------------------------------------------------------------------------
# 1. Killed in the delete pass, after the upsert pass committed.
# ---------------------------------------------------------------------------
setup_scenario('a');
first_sync('a');
my @a_updated = map { id_of('a', $_) } grep { $_ % 12 == 0 } 1 .. 120;   # 10
my @a_deleted = map { id_of('a', $_) } grep { $_ % 2 == 1 } 1 .. 120;    # 60: 2 deletes of 50 and 10
my @a_left = map { id_of('a', $_) } grep { $_ % 2 == 0 } 1 .. 120;
q1("UPDATE public.users_a SET plan = 'pro' WHERE n % 12 = 0");
q1("DELETE FROM public.users_a WHERE n % 2 = 1");
# With statistics the diff probes the checkpoint in order: the outbox holds
# the updates among the deletions (without, as in scenario 2, the deletions
# come last), and each pass reads past the other's records.
q1("ANALYZE public.users_a, reverse_etl_state.checkpoint_" . mapping_id($node, 'pass a'));

my $seq = last_seq();
my $run = start_run_until('pass a', '/users/delete', 'delete pass');
my ($tracks, $track_ids) = sent('/users/track', $seq);
is($tracks, 1, 'delete pass: the upsert pass sent one /users/track request');
is(id_list(@$track_ids), id_list(@a_updated), 'delete pass: carrying the 10 updated users');
# The upsert pass's last flush committed its 10 acknowledgements (with the
# run's counters, in the same transaction) before the delete pass began.
is( q1("SELECT records_succeeded FROM reverse_etl.sync_progress WHERE run_id = $run"),
	'10', 'delete pass: the 10 upserts are committed as delivered');
my ($deletes, $delete_ids) = sent('/users/delete', $seq);
is($deletes, 1, 'delete pass: one /users/delete request is in flight, the next one waits');
is(scalar(@$delete_ids), 50, 'delete pass: it carries 50 ids');
my %a_deleted = map { $_ => 1 } @a_deleted;
is(scalar(grep { $a_deleted{$_} } @$delete_ids), 50, 'delete pass: all of them deleted users');
my ($held) = grep { $_->{seq} > $seq } @{ $mock->requests('path_prefix=/users/delete') };
my @held_order = @{ decode_json($held->{body})->{external_ids} };
note('delete pass: the deletions go in ' . (join(',', @held_order) eq join(',', sort @held_order)
		? 'identifier order: the outbox holds the updates among them' : 'another order'));

push @killed, kill_run($run, 'delete pass');

my $id_a = mapping_id($node, 'pass a');
is( q1("SELECT count(*) || ' ' || count(*) FILTER (WHERE unconfirmed IS NOT NULL) "
		  . "FROM reverse_etl_state.checkpoint_$id_a"),
	'120 0', 'after the kill: the checkpoint still holds the 60 deleted users (no deletion acknowledged)');
is(q1("SELECT count(*) FROM reverse_etl_state.sending_$id_a"),
	'70', 'after the kill: the selection log holds the 70 changes sent or to send');

$seq = last_seq();
is( q1("SELECT status || ' ' || records_added || ' ' || records_updated || ' ' || records_deleted || ' ' "
		  . "|| records_succeeded || ' ' || records_failed FROM reverse_etl.sync('pass a')"),
	'succeeded 0 0 60 60 0',
	'next run: the 60 deletions, no update (the upsert pass was checkpointed)');
($tracks) = sent('/users/track', $seq);
is($tracks, 0, 'next run: no /users/track request: the updates are not sent again');
($deletes, $delete_ids) = sent('/users/delete', $seq);
is($deletes, 2, 'next run: two /users/delete requests (50 and 10 ids)');
is(id_list(@$delete_ids), id_list(@a_deleted), 'next run: every deleted user exactly once');
my $users = vendor_users('a');
is(id_list(keys %$users), id_list(@a_left), 'Braze holds the 60 users left, none of the deleted ones');
is( join(',', map { "$_:$users->{$_}" } sort keys %$users),
	join(',', map { my $n = substr($_, 1); "$_:" . ($n % 12 == 0 ? 'pro' : 'free') } @a_left),
	'the 10 updated users have plan pro, the others free');
is(checkpoint_count($node, 'pass a'), '60', 'the checkpoint holds the 60 users left');
is( q1("SELECT count(*) FROM reverse_etl_state.checkpoint_$id_a WHERE unconfirmed IS NOT NULL"),
	'0', 'all of them acknowledged');
is(record_errors('pass a'), '0', 'no record errors');
is(q1("SELECT records_selected FROM reverse_etl.sync('pass a')"), '0', 'a further run has nothing to send');

# ---------------------------------------------------------------------------
# 2. Killed in the upsert pass, the deletes not yet sent.
# ---------------------------------------------------------------------------
setup_scenario('b');
first_sync('b');
my @b_updated = map { id_of('b', $_) } grep { $_ % 12 == 0 } 1 .. 120;            # 10
my @b_deleted = map { id_of('b', $_) } grep { $_ % 2 == 1 && $_ <= 60 } 1 .. 120;  # 30
my %b_deleted = map { $_ => 1 } @b_deleted;
my @b_left = ((grep { !$b_deleted{$_} } map { id_of('b', $_) } 1 .. 120), 'b121');
q1("UPDATE public.users_b SET plan = 'pro' WHERE n % 12 = 0");
q1("DELETE FROM public.users_b WHERE n % 2 = 1 AND n <= 60");
q1("INSERT INTO public.users_b VALUES ('b121', 121, 'new')");

$seq = last_seq();
$run = start_run_until('pass b', '/users/track', 'upsert pass');
($tracks, $track_ids) = sent('/users/track', $seq);
is($tracks, 1, 'upsert pass: one /users/track request');
is(id_list(@$track_ids), id_list(@b_updated, 'b121'), 'upsert pass: carrying the 10 updated users and b121');
($deletes) = sent('/users/delete', $seq);
is($deletes, 0, 'upsert pass: no /users/delete request yet');
is(q1("SELECT records_succeeded FROM reverse_etl.sync_progress WHERE run_id = $run"),
	'0', 'upsert pass: nothing delivered yet');

push @killed, kill_run($run, 'upsert pass');

$seq = last_seq();
is( q1("SELECT status || ' ' || records_added || ' ' || records_updated || ' ' || records_deleted || ' ' "
		  . "|| records_succeeded || ' ' || records_failed FROM reverse_etl.sync('pass b')"),
	'succeeded 1 10 30 41 0', 'next run: the addition, the 10 updates and the 30 deletions');
($tracks, $track_ids) = sent('/users/track', $seq);
is($tracks, 1, 'next run: one /users/track request');
is(id_list(@$track_ids), id_list(@b_updated, 'b121'), 'next run: every upsert exactly once');
($deletes, $delete_ids) = sent('/users/delete', $seq);
is($deletes, 1, 'next run: one /users/delete request');
is(id_list(@$delete_ids), id_list(@b_deleted), 'next run: every deleted user exactly once');
$users = vendor_users('b');
is(id_list(keys %$users), id_list(@b_left), 'Braze holds the 91 users left (b121 too), none of the deleted ones');
is( join(',', map { "$_:$users->{$_}" } sort keys %$users),
	join(',', map { my $n = substr($_, 1); "$_:" . ($n == 121 ? 'new' : $n % 12 == 0 ? 'pro' : 'free') } sort @b_left),
	'the 10 updated users have plan pro, b121 new, the others free');
is(checkpoint_count($node, 'pass b'), '91', 'the checkpoint holds the 91 users left');
is(record_errors('pass b'), '0', 'no record errors');
is(q1("SELECT records_selected FROM reverse_etl.sync('pass b')"), '0', 'a further run has nothing to send');

# Only the test's two kills terminated a process.
$node->stop;
my @signals = grep { /terminated by signal/ } split /\n/, slurp_file($node->logfile);
is(scalar(@signals), 2, 'the server log shows two processes terminated by a signal');
for my $pid (@killed)
{
	is(scalar(grep { /"reverse_etl sync" \(PID $pid\) was terminated by signal 9/ } @signals),
		1, "one of them the sync worker the test killed (pid $pid)");
}

$mock->stop;
done_testing();
