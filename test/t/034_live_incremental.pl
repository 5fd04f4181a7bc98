# Live syncs, incremental evaluation (docs/live-syncs.md): when the model's
# record id is the key of the table it is driven by, a live run evaluates
# the model for the changed records only, and still sends exactly what a
# full diff would; a change to another table, a TRUNCATE or a backlog past
# reverse_etl.live_max_backlog makes the next run a full diff, which
# mapping_status says; a key that changes sends a deletion and an addition;
# a change committed while a run delivers gets a run of its own; a kill -9
# of an incremental run loses nothing.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_034');
my $node = new_node('incremental');
my $url = $mock->url('/users');
$node->safe_psql('postgres', qq{
CREATE TABLE public.accounts (account_id int PRIMARY KEY, plan text NOT NULL);
INSERT INTO public.accounts VALUES (1, 'free'), (2, 'pro');
CREATE TABLE public.users (id bigint PRIMARY KEY, email text, account_id int, note text);
INSERT INTO public.users SELECT g, 'u' || g || '\@inc.test', 1 + g % 2, 'n' FROM generate_series(1, 2000) g;
SELECT reverse_etl.create_model('users',
    'SELECT u.id, u.email, a.plan FROM public.users u JOIN public.accounts a USING (account_id) WHERE u.id > 0', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('users', 'hook', 'send',
    '{"id": "id", "email": "email", "plan": "plan", "change": {"meta": "change"}}',
    sync_mode => 'all', schedule => 'live', enabled => true, name => 'users_live');
});

sub psql { return $node->safe_psql('postgres', $_[0]) }

sub runs { return psql("SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'users_live'") }

# Waits for the runs after the $before-th to end with nothing pending;
# returns the last run's "status extracted" and its notices' mode.
sub settle
{
	my ($before) = @_;
	ok(poll_sql($node, "SELECT count(*) > $before AND bool_and(status IN ('succeeded', 'partially_succeeded', 'failed')) "
		  . "AND NOT EXISTS (SELECT 1 FROM reverse_etl_state.live_pending) "
		  . "FROM reverse_etl.sync_runs WHERE mapping = 'users_live'", 't', 60),
		"  the runs after run $before ended, nothing pending");
	return psql("SELECT status || ' ' || records_extracted FROM reverse_etl.sync_runs "
		  . "WHERE mapping = 'users_live' ORDER BY run_id DESC LIMIT 1");
}

# The records received since the mock was reset, as "change id email plan".
sub received
{
	return sort map { "$_->{change} $_->{id} " . ($_->{email} // '') . ' ' . ($_->{plan} // '') } $mock->records;
}

is(psql("SELECT live_mode FROM reverse_etl.mappings WHERE name = 'users_live'"),
	'incremental on public.users.id', 'a model driven by its key table is incremental');
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'users_live' AND status = 'succeeded'",
	'1', 60), 'the first run sends the model');
is(scalar($mock->records), 2000, '  all 2000 records');
is(psql("SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.users'::regclass"),
	'reverse_etl_live_capture,reverse_etl_live_keys_delete,reverse_etl_live_keys_insert,reverse_etl_live_keys_update',
	'  the key table got the key capture triggers');
is(psql("SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.accounts'::regclass AND tgname = 'reverse_etl_live_capture'"),
	'1', '  the joined table a statement trigger');

# Insert, update, delete and a rolled-back change in one burst: one or more
# incremental runs, each evaluating only changed records.
$mock->reset;
my $before = runs();
psql(q{
INSERT INTO public.users VALUES (3001, 'new@inc.test', 2, 'n');
UPDATE public.users SET email = 'changed@inc.test' WHERE id = 10;
DELETE FROM public.users WHERE id = 11;
BEGIN; UPDATE public.users SET email = 'rolled@inc.test' WHERE id = 12; ROLLBACK;
UPDATE public.users SET note = 'not sent' WHERE id = 13;
});
like(settle($before), qr/^succeeded /, 'the changes are delivered');
is(join(',', received()), 'added 3001 new@inc.test pro,deleted 11  ,updated 10 changed@inc.test free',
	'  exactly the insert, the update and the delete');
ok(psql("SELECT max(records_extracted) FROM (SELECT records_extracted FROM reverse_etl.sync_runs "
	  . "WHERE mapping = 'users_live' ORDER BY run_id DESC LIMIT " . (runs() - $before) . ") AS r") <= 3,
	'  each run evaluated the changed records only (at most 3 of 2000)');
is(psql("SELECT count(*) FROM reverse_etl_state.live_pending_ids"), '0', '  and nothing is kept after them');

# A key that changes: the old record is deleted, the new one added.
$mock->reset;
$before = runs();
psql("UPDATE public.users SET id = 4000 WHERE id = 20");
like(settle($before), qr/^succeeded /, 'a changed key is delivered');
is(join(',', received()), 'added 4000 u20@inc.test free,deleted 20  ', '  as a deletion and an addition');

# A change to the joined table: the next run diffs the whole model, and
# sends every record whose plan changed.
$mock->reset;
$before = runs();
psql("UPDATE public.accounts SET plan = 'team' WHERE account_id = 2");
like(settle($before), qr/^succeeded 2000$/, 'a change to the joined table runs a full diff');
is(scalar(grep { / team$/ } received()), 1000, '  which sends the 1000 records on that plan');
is(scalar(my @first_run = received()), 1000, '  and nothing else');

# The backlog: while the mapping is disabled, mapping_status shows the
# changed records waiting, the lag and how the next run will go.
$mock->reset;
psql("SELECT reverse_etl.disable_mapping('users_live')");
psql("UPDATE public.users SET email = email || '.x' WHERE id IN (30, 31, 32)");
ok(poll_sql($node, "SELECT live_backlog || ' ' || live_next_run || ' ' || (live_lag > interval '0') "
	  . "FROM reverse_etl.mapping_status WHERE mapping = 'users_live'", '3 incremental true'),
	'a disabled mapping keeps its 3 changed records: backlog, lag, next run incremental');

# Past reverse_etl.live_max_backlog they are dropped, and the next run is a
# full diff, which says so.
psql("ALTER SYSTEM SET reverse_etl.live_max_backlog = 5; SELECT pg_reload_conf();");
ok(poll_sql($node, "SELECT setting FROM pg_settings WHERE name = 'reverse_etl.live_max_backlog'", '5'),
	'the cap is set to 5');
psql("UPDATE public.users SET email = email || '.y' WHERE id BETWEEN 40 AND 42");
ok(poll_sql($node, "SELECT live_backlog || ' / ' || live_next_run FROM reverse_etl.mapping_status "
	  . "WHERE mapping = 'users_live'",
	'0 / full: more than 5 changed records waited (reverse_etl.live_max_backlog)'),
	'past the cap, the records are dropped and the next run is a full diff');
is(psql("SELECT count(*) FROM reverse_etl_state.live_pending_ids"), '0', '  nothing is kept');
psql("UPDATE public.users SET email = email || '.z' WHERE id = 50");
is(psql("SELECT count(*) FROM reverse_etl_state.live_pending_ids"), '0', '  nor after, until that full diff starts');
$before = runs();
psql("SELECT reverse_etl.enable_mapping('users_live')");
like(settle($before), qr/^succeeded 2000$/, 'enabled again, the run is a full diff');
is(scalar(my @after_enable = received()), 7, '  which delivers all 7 changed records');

# One statement changing more rows than the cap: its keys are not read, and
# the run it starts is a full diff.
$mock->reset;
$before = runs();
psql("UPDATE public.users SET email = email || '.w' WHERE id BETWEEN 80 AND 89");
like(settle($before), qr/^succeeded 2000$/, 'a statement changing more rows than the cap runs a full diff');
is(scalar(my @wide = received()), 10, '  which delivers its 10 records');
psql("ALTER SYSTEM RESET reverse_etl.live_max_backlog; SELECT pg_reload_conf();");

# A change committed while a run delivers: a run of its own delivers it.
$mock->reset;
$mock->config({ default => { status => 200, delay_ms => 2000 } });
$before = runs();
psql("UPDATE public.users SET email = 'during1\@inc.test' WHERE id = 60");
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_progress WHERE mapping = 'users_live' "
	  . "AND phase = 'delivering'", '1'), 'a live run is delivering');
psql("UPDATE public.users SET email = 'during2\@inc.test' WHERE id IN (60, 61)");
$mock->config({ default => { status => 200 } });
like(settle($before + 1), qr/^succeeded /, 'the change made during it is delivered too');
is(join(',', grep { /during2/ } received()), 'updated 60 during2@inc.test free,updated 61 during2@inc.test team',
	'  both records, with their last values');

# kill -9 of an incremental run while it delivers: the change stays pending,
# and the run after the restart (a full diff: the killed run's sends are
# unsettled) delivers it.
$mock->reset;
$mock->config({ default => { status => 200, delay_ms => 4000 } });
psql("UPDATE public.users SET email = 'crash\@inc.test' WHERE id = 70");
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_progress WHERE mapping = 'users_live' "
	  . "AND phase = 'delivering'", '1'), 'an incremental run is delivering');
my $pid = psql("SELECT pid FROM reverse_etl.sync_progress WHERE mapping = 'users_live'");
kill 'KILL', $pid;
$mock->config({ default => { status => 200 } });
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl_state.live_pending_ids WHERE record_id = '70'", '1', 60),
	'after the crash the changed record is still kept');
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl_state.live_pending", '0', 90), 'a run after the restart settles it');
ok(scalar(grep { $_ eq 'updated 70 crash@inc.test free' } received()) >= 1, 'the change was delivered');

# A new filter: the records it leaves out did not change, and only a full
# diff deletes them.
$mock->reset;
$before = runs();
psql("SELECT reverse_etl.alter_mapping('users_live', filter => 'id < 100')");
like(settle($before), qr/^succeeded 97$/, 'a changed filter runs a full diff');
is(scalar(grep { /^deleted / } received()), 1903, '  which deletes the 1903 records it leaves out');
is(psql("SELECT live_mode FROM reverse_etl.mappings WHERE name = 'users_live'"),
	'incremental on public.users.id', '  and the mapping stays incremental');

# TRUNCATE: which rows went is not known; the full diff deletes them all.
$mock->reset;
$before = runs();
psql("TRUNCATE public.users");
like(settle($before), qr/^succeeded 0$/, 'a TRUNCATE runs a full diff');
is(scalar(grep { /^deleted / } received()), 97, '  which deletes every record');

# A mapping whose mode changes (a unique index added) with changes pending
# that were captured for the old mode: its next run is a full diff, which
# finds them.
psql(q{
CREATE TABLE public.notes (id int NOT NULL, body text);
INSERT INTO public.notes SELECT g, 'b' || g FROM generate_series(1, 50) g;
SELECT reverse_etl.create_model('notes', 'SELECT id, body FROM public.notes', 'id');
SELECT reverse_etl.create_mapping('notes', 'hook', 'send', '{"id": "id", "body": "body", "change": {"meta": "change"}}',
    sync_mode => 'all', schedule => 'live', enabled => true, name => 'notes_live');
});
is(psql("SELECT live_mode FROM reverse_etl.mappings WHERE name = 'notes_live'"),
	'full: public.notes.id has no unique index of its own', 'a table without a unique index: full mode');
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'notes_live' AND status = 'succeeded'",
	'1', 60), '  its first run succeeds');
psql("SELECT reverse_etl.disable_mapping('notes_live')");
$mock->reset;
psql("UPDATE public.notes SET body = 'changed' WHERE id = 7");
ok(poll_sql($node, "SELECT live_changes_since IS NOT NULL FROM reverse_etl.mapping_status "
	  . "WHERE mapping = 'notes_live'"), '  a change waits while it is disabled');
psql("ALTER TABLE public.notes ADD PRIMARY KEY (id)");
psql("SELECT reverse_etl.enable_mapping('notes_live')");
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'notes_live' AND status = 'succeeded'",
	'2', 60), 'with a primary key added, the next run succeeds');
is(join(',', map { "$_->{change} $_->{id} $_->{body}" } $mock->records), 'updated 7 changed',
	'  and delivers the change captured before the mode changed');
is(psql("SELECT live_mode || ' / ' || records_extracted FROM reverse_etl.mappings m JOIN reverse_etl.sync_runs r "
	  . "ON r.mapping = m.name WHERE m.name = 'notes_live' ORDER BY r.run_id DESC LIMIT 1"),
	'incremental on public.notes.id / 50', '  as a full diff, the mapping now incremental');

# A model that cannot be evaluated incrementally says why, and works live.
psql(q{
INSERT INTO public.users VALUES (1, 'a@inc.test', 1, 'n'), (2, 'b@inc.test', 2, 'n');
SELECT reverse_etl.create_model('plans', 'SELECT a.plan, count(*) AS users FROM public.users u JOIN public.accounts a USING (account_id) GROUP BY a.plan', 'plan');
SELECT reverse_etl.create_mapping('plans', 'hook', 'send', '{"plan": "plan", "users": "users"}',
    sync_mode => 'all', schedule => 'live', enabled => true, name => 'plans_live');
});
is(psql("SELECT live_mode FROM reverse_etl.mappings WHERE name = 'plans_live'"), 'full: the query aggregates',
	'an aggregating model is live in full mode, and says why');
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'plans_live' AND status = 'succeeded'",
	'1', 60), '  its first run succeeds');
$mock->reset;
psql("INSERT INTO public.users VALUES (3, 'c\@inc.test', 2, 'n')");
ok(wait_until(sub { grep { ($_->{plan} // '') eq 'team' && ($_->{users} // 0) == 2 } $mock->records }, 30),
	'  and sends the changed aggregate');

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal (?!9)/, 'no process crashed');
$node->stop;
$mock->stop;
done_testing();
