# Remote sources (SPEC section 10) against a second, real PostgreSQL cluster
# that this test starts (its own users, data and password authentication):
# a source's connection string is checked and masked, test_source connects,
# a model on the source is planned and previewed there, and syncs stream its
# rows back for change detection here. Failures (a wrong password, a dropped
# table, the remote stopped in the middle of a read) fail the run with the
# remote's message and checkpoint nothing; the next run starts clean.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $rows = 20000;

# ---------------------------------------------------------------- the warehouse
my $remote = PostgreSQL::Test::Cluster->new('warehouse');
$remote->init;
$remote->start;
$remote->safe_psql('postgres', qq{
SET password_encryption = 'scram-sha-256';
CREATE ROLE reader LOGIN PASSWORD 'reader-secret';
CREATE ROLE trusted LOGIN;
CREATE TABLE public.users (id bigint PRIMARY KEY, email text, plan text, mrr numeric(10,2),
                           signed_up timestamptz, tags text[]);
INSERT INTO public.users
SELECT g, CASE WHEN g <> 3 THEN 'user' || g || '\@example.com' END, CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END,
       g / 100.0, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 minute', ARRAY['t' || (g % 5)]
  FROM generate_series(1, $rows) g;
GRANT SELECT ON public.users TO reader, trusted;
});
# reader must give its password; trusted gets in without one.
my $hba = $remote->data_dir . '/pg_hba.conf';
open(my $fh, '>', $hba) or die "could not write $hba: $!";
print $fh "local all reader scram-sha-256\nlocal all all trust\n";
close($fh);
$remote->reload;
my $sock = $remote->host;
my $port = $remote->port;
my $conninfo = "host=$sock port=$port dbname=postgres user=reader password=reader-secret";

# ---------------------------------------------------------------- here
my $mock = ReverseEtlTest::Mock->start(name => 'mock_025');
my $node = new_node('remote_source');
my $url = $mock->url('/users');
$node->safe_psql('postgres', qq{
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO alice, bob;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO alice, bob;
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url", "batch_size": 500}', enabled => true);
});

sub psql_as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "SET ROLE $role; $sql",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return ($ret, $out, $err);
}

# ---------------------------------------------------------------- the source
$node->safe_psql('postgres',
	"SELECT reverse_etl.create_source('wh', '$conninfo', '{\"fetch_rows\": 1000}')");
is($node->safe_psql('postgres', "SELECT conninfo FROM reverse_etl.sources WHERE name = 'wh'"),
	"user='reader' password=******** dbname='postgres' host='$sock' port='$port'",
	'the sources view masks the password');
like($node->safe_psql('postgres', "SELECT reverse_etl.test_source('wh')->>'server_version'"),
	qr/^15\./, 'test_source connects and reports the server version');

my ($ret, $out, $err) = $node->psql('postgres',
	"SELECT reverse_etl.create_source('bad', 'host=x nosuchoption=1')");
like($err, qr/source "bad": invalid connection string\nDETAIL:  invalid connection option "nosuchoption"/,
	'an unparseable connection string is refused with libpq\'s reason');
($ret, $out, $err) = $node->psql('postgres',
	"SELECT reverse_etl.create_source('wh2', '$conninfo', '{\"fetch_rows\": 5}')");
like($err, qr/fetch_rows must be an integer from 100 to 100000/, 'settings are checked');

# A role that is not a superuser: a password, and none of the options that
# read the server's files; a server that does not ask for the password is refused.
($ret, $out, $err) = psql_as('alice',
	"SELECT reverse_etl.create_source('nopw', 'host=$sock port=$port dbname=postgres user=trusted')");
like($err, qr/42501.*source "nopw": a password is required/s, 'a non-superuser must give a password');
($ret, $out, $err) = psql_as('alice',
	"SELECT reverse_etl.create_source('pf', '$conninfo passfile=/etc/passwd')");
like($err, qr/42501.*only superusers may set connection option "passfile"/s, 'passfile is for superusers');
psql_as('alice',
	"SELECT reverse_etl.create_source('sneaky', 'host=$sock port=$port dbname=postgres user=trusted password=x')");
($ret, $out, $err) = psql_as('alice', "SELECT reverse_etl.test_source('sneaky')");
like($err, qr/42501.*the server did not ask for the password/s,
	'a non-superuser may not connect where the server trusts the connection');
($ret, $out, $err) = psql_as('bob', "SELECT reverse_etl.test_source('sneaky')");
like($err, qr/source "sneaky" does not exist/, "another role's source is not visible");

# ---------------------------------------------------------------- a model there
($ret, $out, $err) = $node->psql('postgres',
	"SELECT reverse_etl.create_model('broken', 'SELECT id FROM public.nope', 'id', source => 'wh')");
like($err, qr/model "broken": source "wh": relation "public.nope" does not exist/,
	'the query is planned on the remote, its error reported');
($ret, $out, $err) = $node->psql('postgres',
	"SELECT reverse_etl.create_model('two', 'SELECT 1 AS id; SELECT 2 AS id', 'id', source => 'wh')");
isnt($ret, 0, 'a model is one statement on a remote source too');
$node->safe_psql('postgres', qq{
SELECT reverse_etl.create_model('remote_users',
    'SELECT id, email, plan, mrr, signed_up, tags FROM public.users;', 'id', source => 'wh');
SELECT reverse_etl.create_mapping('remote_users', 'hook', 'send',
    '{"id": "id", "email": "email", "plan": "plan", "mrr": "mrr", "tags": "tags"}',
    sync_mode => 'all', name => 'to_hook', enabled => true);
});
# No trigger of this database sees a remote source's changes: not live.
($ret, $out, $err) = $node->psql('postgres',
	"SELECT reverse_etl.create_mapping('remote_users', 'hook', 'send', '{\"id\": \"id\"}', schedule => 'live')",
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/0A000: a live mapping cannot capture changes to model "remote_users"/,
	'a model on a remote source cannot be live (0A000)');
is($node->safe_psql('postgres', "SELECT schedule FROM reverse_etl.mappings WHERE model = 'remote_users'"),
	'manual', '  and the mapping it has keeps its schedule');
($ret, $out, $err) = $node->psql('postgres',
	"SELECT reverse_etl.alter_mapping('to_hook', schedule => 'live')", extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/0A000: a live mapping cannot capture changes to model "remote_users"/, '  nor be made live (0A000)');
is($node->safe_psql('postgres', "SELECT source, columns FROM reverse_etl.models WHERE name = 'remote_users'"),
	'wh|[{"name": "id", "type": "bigint"}, {"name": "email", "type": "text"}, {"name": "plan", "type": "text"}, '
	  . '{"name": "mrr", "type": "numeric(10,2)"}, {"name": "signed_up", "type": "timestamp with time zone"}, '
	  . '{"name": "tags", "type": "text[]"}]',
	'the columns and types are the remote\'s');
is($node->safe_psql('postgres', "SELECT * FROM reverse_etl.preview_model('remote_users', 1)"),
	'{"id": 1, "mrr": 0.01, "plan": "free", "tags": ["t1"], "email": "user1@example.com", '
	  . '"signed_up": "2024-01-01T00:01:00+00:00"}',
	'preview_model reads the remote');
($ret, $out, $err) = psql_as('bob',
	"SELECT reverse_etl.create_model('theirs', 'SELECT 1 AS id', 'id', source => 'wh')");
like($err, qr/source "wh" does not exist/, 'only roles with the privileges of its owner use a source');

sub sync_status
{
	my ($mapping) = @_;
	my ($r, $o, $e) = $node->psql('postgres',
		"SELECT status || ' ' || records_succeeded || ' ' || coalesce(error, '') FROM reverse_etl.sync('$mapping')");
	return $o;
}

# ---------------------------------------------------------------- syncs
is(sync_status('to_hook'), "succeeded $rows ", 'a first sync streams every remote row and sends it');
is(scalar(my @received = $mock->records), $rows, 'the destination received every record');
# The remote's NULL stays a NULL: each value is read in place from the
# remote's answer, a NULL as none.
is(join('|', map { defined $_->{email} ? $_->{email} : 'null' } grep { $_->{id} == 2 || $_->{id} == 3 } sort { $a->{id} <=> $b->{id} } @received),
	'user2@example.com|null', 'a NULL remote value is sent as null, the next row\'s value as it is');
is(checkpoint_count($node, 'to_hook'), $rows, 'and every record is checkpointed');

$remote->safe_psql('postgres',
	"UPDATE public.users SET plan = 'enterprise' WHERE id = 7; DELETE FROM public.users WHERE id = 8;");
$mock->reset;
is(sync_status('to_hook'), 'succeeded 2 ', 'the next sync sends the remote change and deletion');
is($node->safe_psql('postgres',
		"SELECT records_updated || ' ' || records_deleted FROM reverse_etl.sync_runs WHERE mapping = 'to_hook' ORDER BY run_id DESC LIMIT 1"),
	'1 1', 'as one update and one deletion');

# ---------------------------------------------------------------- jsonb
# A remote jsonb column arrives as jsonb's text and is kept as json (its
# input only checks it): sent as the same JSON, its change detected as
# jsonb's (equal values, however written, are unchanged), and a filter may
# still use jsonb's operators on it.
$remote->safe_psql('postgres', q{
CREATE TABLE public.profiles (id int PRIMARY KEY, profile jsonb, note text);
INSERT INTO public.profiles VALUES
    (1, '{"vip": true, "tier": 2, "tags": ["a", "b"]}', 'x'), (2, '{"vip": false}', 'y'), (3, NULL, 'z'),
    (4, '{"vip": true, "nested": {"k": [1, 2.50, null]}}', 'w');
GRANT SELECT ON public.profiles TO reader;
});
my $profiles_url = $mock->url('/profiles');
my $vip_url = $mock->url('/vip');
$node->safe_psql('postgres', qq{
SELECT reverse_etl.create_destination('profiles_hook', 'webhook', '{"url": "$profiles_url", "batch_size": 500}', enabled => true);
SELECT reverse_etl.create_destination('vip_hook', 'webhook', '{"url": "$vip_url", "batch_size": 500}', enabled => true);
SELECT reverse_etl.create_model('remote_profiles', 'SELECT id, profile, note FROM public.profiles', 'id', source => 'wh');
SELECT reverse_etl.create_mapping('remote_profiles', 'profiles_hook', 'send', '{"id": "id", "profile": "profile"}',
    name => 'all_profiles', enabled => true);
SELECT reverse_etl.create_mapping('remote_profiles', 'vip_hook', 'send', '{"id": "id", "tier": {"column": "profile", "path": "tier"}}',
    filter => \$\$profile @> '{"vip": true}' AND profile ? 'vip'\$\$, sync_mode => 'all', name => 'vip_profiles',
    enabled => true);
});
$mock->reset;
is(sync_status('all_profiles'), 'succeeded 4 ', 'a model with a remote jsonb column syncs');
is(join(' ', map { $mock->{json}->canonical->encode($_) } sort { $a->{id} <=> $b->{id} } $mock->records('path_prefix=/profiles')),
	'{"id":1,"profile":{"tags":["a","b"],"tier":2,"vip":true}} {"id":2,"profile":{"vip":false}} {"id":3,"profile":null} '
	  . '{"id":4,"profile":{"nested":{"k":[1,2.5,null]},"vip":true}}',
	'each jsonb value is sent as the JSON it holds');
is(sync_status('vip_profiles'), 'succeeded 2 ', 'a filter with jsonb operators reads the remote jsonb column');
is(join(' ', map { "$_->{id}:$_->{tier}" } sort { $a->{id} <=> $b->{id} } grep { defined $_->{tier} } $mock->records('path_prefix=/vip')),
	'1:2', 'and sends the records that pass it');
# Rewritten with its keys in another order and other spacing: the same jsonb.
$remote->safe_psql('postgres', q{
UPDATE public.profiles SET profile = '{ "tags" : ["a","b"], "tier":2, "vip" : true }' WHERE id = 1;
UPDATE public.profiles SET profile = '{"vip": true}', note = 'changed' WHERE id = 2;
UPDATE public.profiles SET profile = '{"vip": false}' WHERE id = 4;
});
$mock->reset;
is(sync_status('all_profiles'), 'succeeded 2 ', 'the next sync sends the two changed jsonb values');
is(join(' ', sort map { $_->{id} } $mock->records('path_prefix=/profiles')), '2 4',
	'and not the one written differently with the same value');
is(sync_status('vip_profiles'), 'succeeded 2 ', 'through the filter: one record joins it, one leaves it');
is($node->safe_psql('postgres',
		"SELECT records_added || ' ' || records_deleted FROM reverse_etl.sync_runs WHERE mapping = 'vip_profiles' ORDER BY run_id DESC LIMIT 1"),
	'1 1', 'as one addition and one deletion');

# Identifiers that repeat or are NULL: the run's table of the remote rows
# gets no primary key then, and the records are found and reported as the
# same rows would be in a local model.
my $dups = q{
CREATE TABLE public.dups (id int, v text);
INSERT INTO public.dups VALUES (1, 'a'), (1, 'b'), (2, 'c'), (NULL, 'd'), (3, 'e');
};
$remote->safe_psql('postgres', $dups . 'GRANT SELECT ON public.dups TO reader;');
$node->safe_psql('postgres', $dups . q{
SELECT reverse_etl.create_model('remote_dups', 'SELECT id, v FROM public.dups', 'id', source => 'wh');
SELECT reverse_etl.create_model('local_dups', 'SELECT id, v FROM public.dups', 'id');
SELECT reverse_etl.create_mapping('remote_dups', 'profiles_hook', 'send', '{"id": "id", "v": "v"}', name => 'remote_dups');
SELECT reverse_etl.create_mapping('local_dups', 'profiles_hook', 'send', '{"id": "id", "v": "v"}', name => 'local_dups');
});
my $dup_counts = "SELECT status || ' ' || records_added || ' ' || records_invalid || ' ' || records_succeeded FROM reverse_etl.sync(%s)";
my $dup_errors = "SELECT string_agg(coalesce(record_id, 'NULL') || ': ' || error, '; ' ORDER BY record_id) FROM reverse_etl.record_errors WHERE mapping = %s";
my $remote_dups = $node->safe_psql('postgres', sprintf($dup_counts, "'remote_dups'"));
is($remote_dups, $node->safe_psql('postgres', sprintf($dup_counts, "'local_dups'")),
	'a remote model with repeated and NULL identifiers is classified as the same local rows are');
is($remote_dups, 'partially_succeeded 2 3 2', '  the two unique ones sent; both copies of id 1 and the NULL one invalid');
is($node->safe_psql('postgres', sprintf($dup_errors, "'remote_dups'")),
	$node->safe_psql('postgres', sprintf($dup_errors, "'local_dups'")), '  with the same record errors');

# ---------------------------------------------------------------- failures
$remote->safe_psql('postgres', "UPDATE public.users SET plan = 'changed' WHERE id <= 10");
$node->safe_psql('postgres',
	"SELECT reverse_etl.alter_source('wh', conninfo => 'host=$sock port=$port dbname=postgres user=reader password=wrong')");
like(sync_status('to_hook'), qr/^failed 0 model "remote_users": source "wh": could not connect: .*password authentication failed for user "reader"/,
	'a wrong password fails the run with the remote\'s message');
$node->safe_psql('postgres', "SELECT reverse_etl.alter_source('wh', conninfo => '$conninfo')");

$remote->safe_psql('postgres', 'ALTER TABLE public.users RENAME TO users_away');
like(sync_status('to_hook'), qr/^failed 0 .*relation "public.users" does not exist/,
	'a dropped table fails the run with the remote\'s message');
$remote->safe_psql('postgres', 'ALTER TABLE public.users_away RENAME TO users');

# A value the planned column type rejects, in the read's last chunk: the
# chunks before it are already stored in the run's table when it fails.
my $last_mrr = $remote->safe_psql('postgres', "SELECT mrr FROM public.users WHERE id = $rows");
$remote->safe_psql('postgres', "ALTER TABLE public.users ALTER mrr TYPE text; UPDATE public.users SET mrr = 'lots' WHERE id = $rows");
like(sync_status('to_hook'), qr/^failed 0 model "remote_users": invalid input syntax for type numeric: "lots"/,
	'a value the local type rejects fails the run with its type\'s message');
$remote->safe_psql('postgres', "UPDATE public.users SET mrr = '$last_mrr' WHERE id = $rows; ALTER TABLE public.users ALTER mrr TYPE numeric(10,2) USING mrr::numeric(10,2)");

$mock->reset;
is(sync_status('to_hook'), 'succeeded 9 ', 'nothing was checkpointed by the failed runs: the next one sends the 9 changes (ids 1 to 10 but the deleted 8)');
is(checkpoint_count($node, 'to_hook'), $rows - 1, 'the checkpoint holds every remote record');

# The remote stops while a first run reads it: a view that sleeps now and
# then keeps the read going for seconds, 1,000 rows a fetch.
$remote->safe_psql('postgres', q{
CREATE VIEW public.slow_users AS
SELECT u.id, u.email FROM public.users u, LATERAL (SELECT pg_sleep(CASE WHEN u.id % 1000 = 0 THEN 0.3 ELSE 0 END)) s;
GRANT SELECT ON public.slow_users TO reader;
});
$node->safe_psql('postgres', q{
SELECT reverse_etl.create_model('slow_users', 'SELECT id, email FROM public.slow_users', 'id', source => 'wh');
SELECT reverse_etl.create_mapping('slow_users', 'hook', 'send', '{"id": "id", "email": "email"}', name => 'slow_hook');
SELECT reverse_etl.request_sync('slow_hook');
});
ok(poll_sql($node, "SELECT phase FROM reverse_etl.sync_progress WHERE mapping = 'slow_hook'", 'extracting'),
	'a first run of the slow model is reading the remote');
sleep(1);
# The run's table of the rows is its transaction's own, never committed.
my $run_tables = "SELECT count(*) FROM pg_catalog.pg_class WHERE relname LIKE 'remote\\_rows\\_%'";
is($node->safe_psql('postgres', $run_tables), '0', 'no other session sees the table the run reads the rows into');
$remote->stop('immediate');
ok(poll_sql($node,
		"SELECT status FROM reverse_etl.sync_runs WHERE mapping = 'slow_hook' ORDER BY run_id DESC LIMIT 1",
		'failed'),
	'the run fails when the remote goes away in the middle of the read');
like($node->safe_psql('postgres',
		"SELECT error FROM reverse_etl.sync_runs WHERE mapping = 'slow_hook' ORDER BY run_id DESC LIMIT 1"),
	qr/model "slow_users": source "wh": /, 'naming the model and the source');
is(checkpoint_count($node, 'slow_hook'), 0, 'and checkpointing nothing of the partial read');
$remote->start;
$mock->reset;
is(sync_status('slow_hook'), 'succeeded ' . ($rows - 1) . ' ', 'the next run starts clean and sends every record');
is(checkpoint_count($node, 'slow_hook'), $rows - 1, 'and checkpoints them');

# The sync worker is killed (kill -9) while it reads the remote: the server
# restarts, the run is failed as interrupted, nothing of the read is
# checkpointed, and the next run sends every record again.
$node->safe_psql('postgres', "SELECT reverse_etl.reset_mapping('slow_hook')");
my $killed_run = $node->safe_psql('postgres', "SELECT reverse_etl.request_sync('slow_hook')");
ok(poll_sql($node, "SELECT phase FROM reverse_etl.sync_progress WHERE run_id = $killed_run", 'extracting'),
	'a run is reading the remote');
sleep(1);
my $worker = $node->safe_psql('postgres', "SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $killed_run");
kill 'KILL', $worker;
ok(poll_sql($node, "SELECT status || ': ' || error FROM reverse_etl.sync_runs WHERE run_id = $killed_run",
		'failed: interrupted by server restart', 60),
	'the worker killed in the middle of the read: the run is failed as interrupted');
is(checkpoint_count($node, 'slow_hook'), 0, 'with nothing of the read checkpointed');
is($node->safe_psql('postgres', $run_tables), '0', 'and nothing left of the table it was reading into');
$mock->reset;
is(sync_status('slow_hook'), 'succeeded ' . ($rows - 1) . ' ', 'the next run sends every record');
is(checkpoint_count($node, 'slow_hook'), $rows - 1, 'and checkpoints them all');

# A statement that outlives the source's statement_timeout.
$node->safe_psql('postgres', q{
SELECT reverse_etl.create_model('sleepy', 'SELECT 1 AS id FROM pg_sleep(5)', 'id', source => 'wh');
SELECT reverse_etl.create_mapping('sleepy', 'hook', 'send', '{"id": "id"}', name => 'sleepy_hook');
SELECT reverse_etl.alter_source('wh', settings => '{"statement_timeout": "1 second"}');
});
like(sync_status('sleepy_hook'), qr/^failed 0 model "sleepy": source "wh": canceling statement due to statement timeout/,
	'the source\'s statement_timeout ends a statement that runs too long, failing the run');
is(checkpoint_count($node, 'sleepy_hook'), 0, 'with nothing checkpointed');
$node->safe_psql('postgres', q{SELECT reverse_etl.alter_source('wh', settings => '{"statement_timeout": null}')});
is($node->safe_psql('postgres', "SELECT settings FROM reverse_etl.sources WHERE name = 'wh'"), '{"fetch_rows": 1000}',
	'a setting given as null is removed');

# A source owned by a group role: its members use it, and one member's
# drop ... cascade also takes the models another member made on it.
$node->safe_psql('postgres', qq{
CREATE ROLE analysts NOLOGIN;
GRANT analysts TO alice, bob;
GRANT USAGE ON SCHEMA reverse_etl TO analysts;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO analysts;
SET ROLE analysts;
SELECT reverse_etl.create_source('team wh', '$conninfo');
RESET ROLE;
SET ROLE alice;
SELECT reverse_etl.create_model('alice users', 'SELECT id FROM public.users', 'id', source => 'team wh');
RESET ROLE;
});
is($node->safe_psql('postgres', "SET ROLE bob; SELECT count(*) FROM reverse_etl.models WHERE name = 'alice users'"),
	'0', "bob, a member of the source's owner, does not see alice's model");
($ret, $out, $err) = psql_as('bob', "SELECT reverse_etl.drop_source('team wh')");
like($err, qr/cannot drop source "team wh" because other objects depend on it\nDETAIL:  model "alice users" uses source "team wh"/,
	"a member cannot drop the source while alice's model uses it");
($ret, $out, $err) = psql_as('bob', "SELECT reverse_etl.drop_source('team wh', cascade => true)");
is($ret, 0, 'with cascade, a member drops it') or diag($err);
is($node->safe_psql('postgres', "SELECT count(*) FROM reverse_etl.model_catalog WHERE name = 'alice users'"),
	'0', "and alice's model on it with it");

# ---------------------------------------------------------------- drop
($ret, $out, $err) = $node->psql('postgres', "SELECT reverse_etl.drop_source('wh')");
like($err, qr/cannot drop source "wh" because other objects depend on it/, 'a used source is not dropped');
$node->safe_psql('postgres', "SELECT reverse_etl.drop_source('wh', cascade => true)");
is($node->safe_psql('postgres',
		"SELECT count(*) FROM reverse_etl.models WHERE name = 'remote_users'"), '0',
	'cascade drops its models (and their mappings)');

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal (?!9: Killed)/, 'no server process crashed (but the worker the test killed)');
# The test framework logs every statement (log_statement = all), the
# create_source calls with their passwords included; nothing else may.
my @leaks = grep { /reader-secret/ && !/(statement|STATEMENT): / } split /\n/, $log;
is(scalar @leaks, 0, 'the password reaches the log only in the statements the test ran')
  or diag(join("\n", @leaks));

done_testing();
