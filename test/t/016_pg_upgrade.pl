# pg_upgrade (issue 12, point 3). A cluster with reverse_etl preloaded holds
# models, destinations and mappings of two owners (the bootstrap superuser
# and a plain role: the regrole columns), destination secrets, checkpoints,
# run history and a record error. A scheduled mapping is made due with a
# change it has not sent, and the old server stops. pg_upgrade (same major
# version: the installed binaries on both sides) starts the old server and
# the new one in binary-upgrade mode (-b), the new one a second time once
# the data is in place: the launcher must stay idle in all of them, although
# there is work due. On the new cluster everything is as it was, a sync of
# unchanged data sends nothing, the pending change is sent once by the
# launcher, and changes made after the upgrade are sent.
use strict;
use warnings;
use Cwd;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use Time::HiRes qw(sleep);

my $mock = ReverseEtlTest::Mock->start(name => 'mock_016');
# The "accounts reject" mapping sends reject_id: its record 2 is refused
# with a 400, every time (a record error that stays).
$mock->config(
	{ records => { match => 'reject_id', rules => { '2' => { status => 400, body => 'bad record' } } } });

sub request_count { return scalar @{ $mock->requests }; }

# "id:authorization" of each record received after request $since on a path.
sub received
{
	my ($since, $path, $field) = @_;
	$field //= 'id';
	my @got;
	for my $r (@{ $mock->requests("since=$since&path_prefix=$path") })
	{
		my $record = decode_json($r->{body});
		push @got, "$record->{$field}:" . ($r->{headers}{authorization} // 'none');
	}
	return join(', ', sort @got);
}

my $launcher_started = qr/reverse_etl launcher started in database "postgres"/;
my $launcher_query =
  "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE backend_type = 'reverse_etl launcher'";

# --- The old cluster --------------------------------------------------------
my $old = new_node('old', naptime => '200ms');
sub q_old { return $old->safe_psql('postgres', $_[0]); }

ok(poll_sql($old, $launcher_query, '1', 15), 'old cluster: the launcher runs');
like(slurp_file($old->logfile), $launcher_started, 'old cluster: its log says the launcher started');

my $people_url = $mock->url('/people');
my $accounts_url = $mock->url('/accounts');
q_old(qq{
CREATE ROLE analyst LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO analyst;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO analyst;
CREATE TABLE public.people (id int PRIMARY KEY, email text);
INSERT INTO public.people SELECT g, 'user' || g || '\@example.com' FROM generate_series(1, 5) g;
CREATE TABLE public.accounts (id int PRIMARY KEY, name text);
INSERT INTO public.accounts SELECT g, 'account ' || g FROM generate_series(1, 3) g;
GRANT SELECT ON public.accounts TO analyst;
SELECT reverse_etl.create_model('people', 'SELECT id, email FROM public.people', 'id');
SELECT reverse_etl.create_destination('people hook', 'webhook',
    '{"url": "$people_url", "bearer_token": "people-token"}', enabled => true);
SET ROLE analyst;
SELECT reverse_etl.create_model('accounts', 'SELECT id, name FROM public.accounts', 'id');
SELECT reverse_etl.create_destination('accounts hook', 'webhook',
    '{"url": "$accounts_url", "bearer_token": "accounts-token"}', enabled => true);
SELECT reverse_etl.create_mapping('accounts', 'accounts hook', 'send', '{"id": "id", "name": "name"}',
    name => 'accounts manual', enabled => true);
SELECT reverse_etl.create_mapping('accounts', 'accounts hook', 'send', '{"reject_id": "id", "name": "name"}',
    name => 'accounts reject', enabled => true);
RESET ROLE;
SELECT reverse_etl.create_mapping('people', 'people hook', 'send', '{"id": "id", "email": "email"}',
    name => 'people scheduled', schedule => '1 hour', enabled => true);
});

# An interval mapping is due as soon as it is enabled.
ok( poll_sql($old,
		"SELECT status || '/' || trigger || '/' || records_succeeded FROM reverse_etl.sync_runs "
		  . "WHERE mapping = 'people scheduled'",
		'succeeded/schedule/5', 15),
	'old cluster: the launcher ran the scheduled mapping (5 records)');
is( q_old("SET ROLE analyst; SELECT status || '/' || records_succeeded FROM reverse_etl.sync('accounts manual')"),
	'succeeded/3', 'old cluster: the plain role synced its manual mapping (3 records)');
is( q_old(
		"SET ROLE analyst; SELECT status || '/' || records_succeeded || '/' || records_failed "
		  . "FROM reverse_etl.sync('accounts reject')"),
	'partially_succeeded/2/1', 'old cluster: the reject mapping delivered 2 records, 1 was refused');
is( q_old("SELECT mapping || '/' || record_id || '/' || kind || '/' || http_status || '/' || attempts "
		  . "FROM reverse_etl.record_errors"),
	'accounts reject/2/rejected/400/1', 'old cluster: the refused record is a record error');
is(received(0, '/people'), join(', ', map { "$_:Bearer people-token" } 1 .. 5),
	'old cluster: the people records went with their bearer token');
for my $mapping ('people scheduled', 'accounts manual', 'accounts reject')
{
	ok(checkpoint_count($old, $mapping) > 0, "old cluster: \"$mapping\" has a checkpoint");
}

my %ids = map { $_ => mapping_id($old, $_) } ('people scheduled', 'accounts manual', 'accounts reject');
my $last_old_run = q_old('SELECT max(run_id) FROM reverse_etl.run_catalog');

# What must come through unchanged, raw (secrets, role oids) and as the
# plain role sees it. The scheduled mapping's next run and status change
# when the new cluster's launcher runs it, and its checkpoint with the
# pending change: they are compared apart.
my %state_sql = (
	'roles' => "SELECT oid, rolname, rolsuper, rolcanlogin FROM pg_catalog.pg_roles "
	  . "WHERE rolname IN ('analyst', current_user) ORDER BY rolname",
	'models' => 'SELECT *, owner::oid FROM reverse_etl.model_catalog ORDER BY model_id',
	'destinations' => 'SELECT *, owner::oid FROM reverse_etl.destination_catalog ORDER BY destination_id',
	'destination types' => "SELECT count(*), md5(string_agg(type || definition::text, ',' ORDER BY type)) "
	  . 'FROM reverse_etl.destination_type_catalog',
	'mappings' => "SELECT mapping_id, name, model_id, destination_id, action, sync_mode, fields, filter, "
	  . "schedule, timezone, enabled, owner, owner::oid, "
	  . "CASE WHEN name <> 'people scheduled' THEN next_run_at END, schedule_error, created_at, updated_at "
	  . 'FROM reverse_etl.mapping_catalog ORDER BY mapping_id',
	'identity sequences' => 'SELECT (SELECT last_value FROM reverse_etl.model_catalog_model_id_seq), '
	  . '(SELECT last_value FROM reverse_etl.destination_catalog_destination_id_seq), '
	  . '(SELECT last_value FROM reverse_etl.mapping_catalog_mapping_id_seq)',
	'mapping_status' => "SELECT * FROM reverse_etl.mapping_status WHERE mapping <> 'people scheduled' "
	  . 'ORDER BY mapping',
	'run history' => "SELECT * FROM reverse_etl.run_catalog WHERE run_id <= $last_old_run ORDER BY run_id",
	'record errors' => 'SELECT * FROM reverse_etl.record_error_catalog ORDER BY mapping_id, record_id',
	'checkpoint of accounts manual' =>
	  "SELECT * FROM reverse_etl_state.checkpoint_$ids{'accounts manual'} ORDER BY record_id",
	'checkpoint of accounts reject' =>
	  "SELECT * FROM reverse_etl_state.checkpoint_$ids{'accounts reject'} ORDER BY record_id",
	'checkpoint of people scheduled, unchanged records' =>
	  "SELECT * FROM reverse_etl_state.checkpoint_$ids{'people scheduled'} "
	  . "WHERE record_id NOT IN ('3', '6') ORDER BY record_id",
	'sending logs' => 'SELECT ' . join(' + ',
		map { "(SELECT count(*) FROM reverse_etl_state.sending_$_)" } sort values %ids),
	'what the plain role sees' => 'SET ROLE analyst; '
	  . 'SELECT name, settings, owner FROM reverse_etl.destinations ORDER BY name; '
	  . 'SELECT name, owner FROM reverse_etl.mappings ORDER BY name; '
	  . 'SELECT mapping, run_id, status FROM reverse_etl.sync_runs ORDER BY run_id',
);
my %before = map { $_ => q_old($state_sql{$_}) } keys %state_sql;
like($before{'what the plain role sees'}, qr/accounts hook\|\{.*"bearer_token": "\*\*\*\*\*\*\*\*"/,
	'old cluster: the plain role sees its destination, secret masked');
unlike($before{'what the plain role sees'}, qr/people/, '... and not the superuser\'s objects');

# A change the scheduled mapping has not sent, and the mapping due, while the
# launcher sleeps: with the naptime at its maximum it wakes at the mapping's
# next run (in an hour) or when told, and a direct catalog write tells it
# nothing. The server then stops at once.
q_old("ALTER SYSTEM SET reverse_etl.naptime = '1h'; SELECT pg_catalog.pg_reload_conf()");
sleep(1);
my $requests_before_change = request_count();
q_old(q{
BEGIN;
UPDATE public.people SET email = 'changed3@example.com' WHERE id = 3;
INSERT INTO public.people VALUES (6, 'user6@example.com');
UPDATE reverse_etl.mapping_catalog SET next_run_at = pg_catalog.now() - interval '1 second'
 WHERE name = 'people scheduled';
COMMIT;
});
$old->stop('fast');
is(request_count(), $requests_before_change, 'the old cluster stopped with the change pending (not sent)');

# --- pg_upgrade ----------------------------------------------------------------
# The new cluster: the same settings (shared_preload_libraries included),
# not started, no extension: pg_upgrade creates it.
my $new = new_node('new', naptime => '200ms', init_only => 1);
my $bindir = $old->config_data('--bindir');
my $requests_before_upgrade = request_count();
my $cwd = getcwd();
# pg_upgrade writes a script and its sockets in the current directory.
chdir $PostgreSQL::Test::Utils::tmp_check or die "chdir: $!";
command_ok(
	[
		'pg_upgrade', '--no-sync', '--retain',
		'-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $bindir, '-B', $bindir,
		'-p', $old->port, '-P', $new->port,
		'-s', $new->host
	],
	'pg_upgrade from the old cluster to the new one');
chdir $cwd or die "chdir: $!";
is(request_count(), $requests_before_upgrade, 'no request reached the destination during pg_upgrade');

my @server_logs = glob($new->data_dir . '/pg_upgrade_output.d/*/log/pg_upgrade_server.log');
is(scalar(@server_logs), 1, 'pg_upgrade kept its server log (--retain)');
my $upgrade_log = @server_logs ? slurp_file($server_logs[0]) : '';
# The data directory of each server pg_upgrade started in binary-upgrade
# mode: the old one, then the new one (PostgreSQL 15: for its checks, for the
# schema, and once more after the data files are in place, with the due
# mapping in its catalog).
my @binary_starts = $upgrade_log =~ /pg_ctl" -w -l "[^"]*" -D "([^"]*)" -o "-p \d+ -b /g;
my @idle = $upgrade_log =~ /LOG:  reverse_etl: the launcher is not started in binary-upgrade mode/g;
ok( @binary_starts >= 3
	  && $binary_starts[0] eq $old->data_dir
	  && (grep { $_ eq $new->data_dir } @binary_starts[ 1 .. $#binary_starts ]) == $#binary_starts,
	'pg_upgrade started the old server, then the new one, in binary-upgrade mode ('
	  . scalar(@binary_starts) . ' starts)');
is(scalar(@idle), scalar(@binary_starts),
	'... each with reverse_etl preloaded, which logged that it leaves the launcher off');
unlike($upgrade_log, qr/reverse_etl launcher started/, 'no launcher started in binary-upgrade mode');

# --- The new cluster ------------------------------------------------------------
$new->start;
sub q_new { return $new->safe_psql('postgres', $_[0]); }
ok(poll_sql($new, $launcher_query, '1', 15), 'new cluster: the launcher runs');
like(slurp_file($new->logfile), $launcher_started, 'new cluster: its log says the launcher started');

# The launcher runs the mapping that was due, which sends the pending change
# and nothing else: the checkpoint came through.
ok( poll_sql($new,
		"SELECT status || '/' || trigger || '/' || records_added || '/' || records_updated || '/' "
		  . "|| records_unchanged || '/' || records_succeeded FROM reverse_etl.sync_runs "
		  . "WHERE mapping = 'people scheduled' AND run_id > $last_old_run",
		'succeeded/schedule/1/1/4/2', 30),
	'new cluster: the launcher ran the due mapping: 1 added, 1 updated, 4 unchanged, 2 sent');
is( received($requests_before_upgrade, '/people'),
	'3:Bearer people-token, 6:Bearer people-token',
	'the destination received records 3 and 6, once each, with the bearer token');
is(q_new("SELECT email FROM public.people WHERE id = 3"), 'changed3@example.com', '(record 3 as changed)');

for my $what (sort keys %state_sql)
{
	is(q_new($state_sql{$what}), $before{$what}, "new cluster: $what as before");
}
is(checkpoint_count($new, 'people scheduled'), '6', 'the scheduled mapping\'s checkpoint now has record 6 too');

# Unchanged data: a sync sends nothing.
my $requests_before_syncs = request_count();
is( q_new(
		"SET ROLE analyst; SELECT status || '/' || records_selected || '/' || records_unchanged || '/' "
		  . "|| requests_sent FROM reverse_etl.sync('accounts manual')"),
	'succeeded/0/3/0', 'new cluster: a sync of the unchanged manual mapping selects and sends nothing');
is(request_count(), $requests_before_syncs, '... and no request reached the destination');

# The record error is retried, as on the old cluster.
is( q_new(
		"SET ROLE analyst; SELECT status || '/' || records_selected || '/' || records_failed "
		  . "FROM reverse_etl.sync('accounts reject')"),
	'partially_succeeded/1/1', 'new cluster: the reject mapping retries only its refused record');
is(received($requests_before_syncs, '/accounts', 'reject_id'), '2:Bearer accounts-token',
	'... which reached the destination with the plain role\'s token');
is(q_new("SELECT record_id || '/' || attempts FROM reverse_etl.record_errors"), '2/2',
	'... and its record error counts a second attempt');

# Changes made after the upgrade are sent, and only they.
my $requests_before_changes = request_count();
q_new(q{
UPDATE public.people SET email = 'changed4@example.com' WHERE id = 4;
UPDATE public.accounts SET name = 'renamed 1' WHERE id = 1;
});
is( q_new(
		"SELECT status || '/' || trigger || '/' || records_selected || '/' || records_succeeded "
		  . "FROM reverse_etl.sync('people scheduled')"),
	'succeeded/manual/1/1', 'new cluster: a sync of the scheduled mapping sends the new change');
is( q_new(
		"SET ROLE analyst; SELECT status || '/' || records_selected || '/' || records_succeeded "
		  . "FROM reverse_etl.sync('accounts manual')"),
	'succeeded/1/1', 'new cluster: a sync of the manual mapping sends the new change');
is( received($requests_before_changes, '/people') . '; ' . received($requests_before_changes, '/accounts'),
	'4:Bearer people-token; 1:Bearer accounts-token',
	'the destination received exactly records 4 (people) and 1 (accounts)');
is(received($requests_before_upgrade, '/people'),
	'3:Bearer people-token, 4:Bearer people-token, 6:Bearer people-token',
	'since the upgrade each changed person was sent once');

$new->stop;
for my $log ([ 'old cluster', slurp_file($old->logfile) ], [ 'pg_upgrade', $upgrade_log ],
	[ 'new cluster', slurp_file($new->logfile) ])
{
	unlike($log->[1], qr/terminated by signal/, "$log->[0]: no process terminated by a signal");
}
$mock->stop;
done_testing();
