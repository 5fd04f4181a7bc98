# Upgrading with ALTER EXTENSION reverse_etl UPDATE (docs/releasing.md): for
# every release before the current version, a cluster runs that release (built
# from its commit by test/prepare_releases.sh), syncs, then gets the current
# library and scripts, as a package upgrade lays them, and is updated:
#
# - until the UPDATE, the new library refuses to sync or change the catalog
#   (55000) and its launcher runs nothing, while the views stay readable;
# - the UPDATE keeps models, destinations with their secrets, mappings,
#   checkpoints, run history and record errors;
# - the next sync sends nothing, a failed record is retried, a change is sent;
# - the upgraded database and a fresh install with the same objects dump the
#   same schema (pg_dump --binary-upgrade --schema-only shows extension
#   members), and the comparison tells a difference when there is one.
#
# Each cluster runs from a private copy of the PostgreSQL installation with
# the release laid over it: the system's installation is not touched.
use strict;
use warnings;
use File::Basename qw(dirname);
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use Time::HiRes qw(sleep);

my $index = "$ENV{TESTDIR}/../releases/index";
open(my $fh, '<', $index)
  or BAIL_OUT("no $index: test/run_tests.sh stages the releases (test/prepare_releases.sh)");
my @staged = map { chomp; [ split / / ] } <$fh>;
close $fh;
my ($current, $current_dir) = @{ pop @staged };
plan skip_all => "no release before $current" unless @staged;

my %pg = map { $_ => scalar(`pg_config --$_`) =~ s/\s+$//r } qw(bindir pkglibdir sharedir);
my $mock = ReverseEtlTest::Mock->start(name => 'mock_017');

# Copies the PostgreSQL installation under $tree, where its programs find
# their libraries and share files (PostgreSQL locates them relative to its
# binaries).
sub private_installation
{
	my ($tree) = @_;
	for my $dir (values %pg)
	{
		system('mkdir', '-p', "$tree$dir") == 0 or die "mkdir $tree$dir";
		system('cp', '-a', "$dir/.", "$tree$dir/") == 0 or die "copy of $dir failed";
	}
	return "$tree" . dirname($pg{bindir});
}

# Replaces the extension's files in $tree with those of a staged release,
# as installing another package version does.
sub lay_release
{
	my ($tree, $release_dir) = @_;
	unlink glob("$tree$pg{pkglibdir}/reverse_etl.so"), glob("$tree$pg{sharedir}/extension/reverse_etl*");
	system('cp', '-a', "$release_dir/.", "$tree/") == 0 or die "copy of $release_dir failed";
}

# The same objects in any database: a role's model and mapping too, whose
# checkpoint the role is granted.
sub create_objects
{
	my ($node, $db) = @_;
	my $people = $mock->url('/people');
	my $errors = $mock->url('/errors');
	my $scheduled = $mock->url('/scheduled');
	$node->safe_psql($db, qq{
CREATE TABLE public.people (id int PRIMARY KEY, email text NOT NULL, plan text NOT NULL);
INSERT INTO public.people SELECT g, 'p' || g || '\@example.com', 'free' FROM generate_series(1, 20) g;
GRANT SELECT ON public.people TO regress_upgrade_analyst;
GRANT USAGE ON SCHEMA reverse_etl TO regress_upgrade_analyst;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_upgrade_analyst;
SELECT reverse_etl.create_model('people', 'SELECT id, email, plan FROM public.people', 'id',
                                description => 'everyone');
SELECT reverse_etl.create_destination('people hook', 'webhook',
    '{"url": "$people", "bearer_token": "tok-upgrade-s3cr3t", "batch_size": 5}', enabled => true);
SELECT reverse_etl.create_destination('errors hook', 'webhook', '{"url": "$errors", "batch_size": 1}',
                                      enabled => true);
SELECT reverse_etl.create_destination('scheduled hook', 'webhook', '{"url": "$scheduled"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'people hook', 'send',
    '{"id": "id", "email": "email", "plan": "plan"}', name => 'people sync', filter => 'id <= 20',
    enabled => true);
SELECT reverse_etl.create_mapping('people', 'errors hook', 'send', '{"probe_id": "id"}',
    name => 'with errors', filter => 'id <= 3', enabled => true);
SELECT reverse_etl.create_mapping('people', 'scheduled hook', 'send', '{"id": "id"}',
    name => 'scheduled', filter => 'id > 20', schedule => '1 day', timezone => 'Europe/Paris',
    enabled => true);
SET ROLE regress_upgrade_analyst;
SELECT reverse_etl.create_model('analyst people', 'SELECT id, plan FROM public.people WHERE id <= 20', 'id');
SELECT reverse_etl.create_destination('analyst hook', 'webhook', '{"url": "$people"}', enabled => true);
SELECT reverse_etl.create_mapping('analyst people', 'analyst hook', 'send', '{"id": "id", "plan": "plan"}',
    name => 'analyst sync', enabled => true);
RESET ROLE;
});
}

# What an upgrade must keep, as text: columns every release has. The
# scheduled mapping is left out: the launcher runs it after the update.
my @kept = (
	[ models => q{SELECT name, query, primary_key, columns, search_path, description, owner
	                FROM reverse_etl.model_catalog ORDER BY name} ],
	[ destinations => q{SELECT name, type, settings, enabled, owner
	                      FROM reverse_etl.destination_catalog ORDER BY name} ],
	[ mappings => q{SELECT name, action, sync_mode, fields, filter, schedule, timezone, enabled, owner
	                  FROM reverse_etl.mapping_catalog WHERE name <> 'scheduled' ORDER BY name} ],
	[ runs => q{SELECT r.run_id, p.name, r.trigger, r.status, r.started_at, r.finished_at,
	                   r.records_added, r.records_succeeded, r.records_failed, r.error
	              FROM reverse_etl.run_catalog r JOIN reverse_etl.mapping_catalog p USING (mapping_id)
	             WHERE p.name <> 'scheduled' ORDER BY r.run_id} ],
	[ record_errors => q{SELECT p.name, e.record_id, e.kind, e.error, e.http_status, e.attempts
	                       FROM reverse_etl.record_error_catalog e
	                       JOIN reverse_etl.mapping_catalog p USING (mapping_id) ORDER BY 1, 2} ],
	[ checkpoints => q{SELECT string_agg(format('%s: %s', name, n), ', ' ORDER BY name) FROM (
	                     SELECT name, (xpath('/row/c/text()', query_to_xml(format(
	                       'SELECT string_agg(format(%L, record_id, hash, version, unconfirmed), %L
	                                          ORDER BY record_id) AS c FROM reverse_etl_state.checkpoint_%s',
	                       '%s=%s/%s/%s', ' ', mapping_id), false, true, '')))[1]::text AS n
	                       FROM reverse_etl.mapping_catalog WHERE name <> 'scheduled') AS t} ]);

sub kept_state
{
	my ($node) = @_;
	return { map { $_->[0] => $node->safe_psql('postgres', $_->[1]) } @kept };
}

# The schema of a database as pg_dump --binary-upgrade writes it, which
# includes the extension's member objects, without what differs from one
# database to another anyway: OIDs, transaction ids, sequence positions and
# the dump's own comments.
sub extension_schema
{
	my ($node, $db) = @_;
	my $pg_dump = $node->installed_command('pg_dump');
	my $dump = `$pg_dump --binary-upgrade --schema-only -h @{[$node->host]} -p @{[$node->port]} -d $db`;
	die "pg_dump of $db failed" if $? != 0;
	my @lines = grep { !/binary_upgrade_set_next_|^-- Dumped (from|by)|^--$|^\\(un)?restrict |^SELECT pg_catalog\.setval\(/ } split /\n/, $dump;
	for (@lines)
	{
		s/'\{[\d,]*\}'/'{OIDS}'/g;
		s/relfrozenxid = '\d+', relminmxid = '\d+'/relfrozenxid = XID, relminmxid = XID/;
		s/^WHERE oid = '\d+';/WHERE oid = OID;/;
	}
	return join("\n", @lines) . "\n";
}

sub sync_result
{
	my ($node, $mapping) = @_;
	return $node->safe_psql('postgres',
		"SELECT status || ' added=' || records_added || ' updated=' || records_updated || ' failed=' || records_failed
		   || ' requests=' || requests_sent FROM reverse_etl.sync('$mapping')");
}

sub requests_to { my ($prefix) = @_; return scalar @{ $mock->requests("path_prefix=$prefix") }; }

for my $release (@staged)
{
	my ($from, $release_dir) = @$release;
	my $tree = PostgreSQL::Test::Utils::tempdir("tree_$from");
	my $install_path = private_installation($tree);
	lay_release($tree, $release_dir);
	$mock->reset;

	# A cluster running the release, with synced mappings.
	# WARNING level: the launcher's warning must reach the log.
	my $node = new_node("from_$from", install_path => $install_path, naptime => '200ms',
		conf => "log_min_messages = warning\n");
	is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'reverse_etl'"),
		$from, "$from: the cluster runs release $from");
	$node->safe_psql('postgres', 'CREATE ROLE regress_upgrade_analyst LOGIN');
	create_objects($node, 'postgres');
	$mock->config({ records => { match => 'probe_id', rules => { 2 => { status => 400, body => 'no such id' } } } });
	is(sync_result($node, 'people sync'), 'succeeded added=20 updated=0 failed=0 requests=4',
		"$from: 'people sync' sent its 20 records");
	is(sync_result($node, 'with errors'), 'partially_succeeded added=3 updated=0 failed=1 requests=3',
		"$from: 'with errors' sent 3 records, one rejected");
	# An interval schedule runs first when the mapping is enabled.
	ok(poll_sql($node, q{SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'scheduled'
	                      AND trigger = 'schedule' AND status = 'succeeded'}, '1', 30),
		"$from: the launcher ran 'scheduled'");
	$node->safe_psql('postgres', q{SET ROLE regress_upgrade_analyst;
		SELECT reverse_etl.sync('analyst sync'); RESET ROLE;});
	my $before = kept_state($node);
	like($before->{checkpoints}, qr/analyst sync: 1=-?\d+\/\/ .*people sync: /s,
		"$from: every mapping has a checkpoint");
	like($before->{record_errors}, qr/^with errors\|2\|rejected\|/, "$from: the rejected record is a record error");

	# The package upgrade: new library and scripts, then a restart.
	$node->stop;
	lay_release($tree, $current_dir);
	my $log_offset = -s $node->logfile;
	$node->start;

	# Until ALTER EXTENSION ... UPDATE nothing runs.
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT reverse_etl.sync('people sync')");
	like($err, qr/ERROR:  55000: reverse_etl library version \Q$current\E does not match the installed extension version \Q$from\E/,
		"$from: before the update, sync() fails with 55000 naming both versions");
	like($err, qr/HINT:  Run ALTER EXTENSION reverse_etl UPDATE\./, "$from: ... and says how to update");
	($ret, $out, $err) = $node->psql('postgres',
		"SELECT reverse_etl.create_model('too early', 'SELECT 1 AS id', 'id')");
	like($err, qr/does not match the installed extension version/, "$from: before the update, the catalog cannot change");
	is($node->safe_psql('postgres', q{SELECT settings->>'bearer_token' FROM reverse_etl.destinations
	                                   WHERE name = 'people hook'}),
		'********', "$from: before the update, the views still read and mask secrets");
	# A due scheduled mapping with a record to send: the launcher must leave it alone.
	$node->safe_psql('postgres', q{
		INSERT INTO public.people VALUES (21, 'p21\@example.com', 'free');
		UPDATE reverse_etl.mapping_catalog SET next_run_at = now() - interval '1 minute' WHERE name = 'scheduled';});
	my $runs = $node->safe_psql('postgres', 'SELECT count(*) FROM reverse_etl.run_catalog');
	ok(wait_until(sub { $node->log_contains('reverse_etl launcher: library version', $log_offset) }, 30),
		"$from: the launcher warns that the versions differ");
	sleep(1.5);    # several naptimes
	is($node->safe_psql('postgres', 'SELECT count(*) FROM reverse_etl.run_catalog'), $runs,
		"$from: the launcher queued no run while the versions differ");
	is(requests_to('/scheduled'), 0, "$from: the due mapping sent nothing");
	my $warnings = () = slurp_file($node->logfile, $log_offset) =~ /reverse_etl launcher: library version/g;
	is($warnings, 1, "$from: the launcher warned once, not every naptime");

	# The update keeps everything.
	$mock->reset;
	$node->safe_psql('postgres', 'ALTER EXTENSION reverse_etl UPDATE');
	is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'reverse_etl'"),
		$current, "$from: ALTER EXTENSION ... UPDATE moved the database to $current");
	my $after = kept_state($node);
	is($after->{$_->[0]}, $before->{ $_->[0] }, "$from: the update kept the $_->[0]") for @kept;

	# Nothing is sent again; what failed is retried (the mock accepts it now);
	# changes go.
	is(sync_result($node, 'people sync'), 'succeeded added=0 updated=0 failed=0 requests=0',
		"$from: after the update, 'people sync' has nothing to send");
	is(sync_result($node, 'with errors'), 'succeeded added=1 updated=0 failed=0 requests=1',
		"$from: after the update, only the rejected record is retried");
	is(join(',', $mock->record_ids('probe_id', 'path_prefix=/errors')), '2', "$from: ... record 2");
	$node->safe_psql('postgres', q{SET ROLE regress_upgrade_analyst;
		SELECT reverse_etl.sync('analyst sync'); RESET ROLE;});
	is(requests_to('/people'), 0, "$from: the role's mapping sent nothing either (with its checkpoint)");
	$node->safe_psql('postgres', q{UPDATE public.people SET plan = 'pro' WHERE id = 7});
	is(sync_result($node, 'people sync'), 'succeeded added=0 updated=1 failed=0 requests=1',
		"$from: a change after the update is sent");
	my @sent = $mock->records('path_prefix=/people');
	is(scalar(@sent) . ' ' . ($sent[0]{id} // '') . ' ' . ($sent[0]{plan} // ''), '1 7 pro',
		"$from: ... exactly the changed record, with its new value");
	ok(grep({ $_->{headers}{authorization} eq 'Bearer tok-upgrade-s3cr3t' } @{ $mock->requests('path_prefix=/people') }),
		"$from: ... authenticated with the kept secret");
	ok(poll_sql($node, q{SELECT count(*) FROM reverse_etl.sync_runs WHERE mapping = 'scheduled'
	                      AND trigger = 'schedule' AND status = 'succeeded'}, '2', 30),
		"$from: after the update, the launcher runs the due mapping");
	is(join(',', $mock->record_ids('id', 'path_prefix=/scheduled')), '21', "$from: ... and sends its new record");

	# A fresh install with the same objects has the same schema.
	$node->safe_psql('postgres', 'CREATE DATABASE fresh');
	$node->safe_psql('fresh', 'CREATE EXTENSION reverse_etl');
	create_objects($node, 'fresh');
	my $upgraded = extension_schema($node, 'postgres');
	my $fresh = extension_schema($node, 'fresh');
	like($upgraded, qr/CREATE TABLE reverse_etl\.mapping_catalog .*CREATE TABLE reverse_etl_state\.checkpoint_1 /s,
		"$from: the dump shows the extension's tables and the sync state");
	is($upgraded, $fresh, "$from: upgraded and fresh databases have the same schema");
	if ($upgraded ne $fresh)
	{
		PostgreSQL::Test::Utils::append_to_file("$tree/upgraded.sql", $upgraded);
		PostgreSQL::Test::Utils::append_to_file("$tree/fresh.sql", $fresh);
		diag(scalar `diff -u $tree/upgraded.sql $tree/fresh.sql | head -60`);
	}
	is( $node->safe_psql('postgres', 'SELECT md5(string_agg(type || definition, \',\' ORDER BY type)) '
			  . 'FROM reverse_etl.destination_type_catalog'),
		$node->safe_psql('fresh', 'SELECT md5(string_agg(type || definition, \',\' ORDER BY type)) '
			  . 'FROM reverse_etl.destination_type_catalog'),
		"$from: upgraded and fresh databases have the same destination types");
	# The comparison sees a change an upgrade script would have missed.
	$node->safe_psql('fresh', 'ALTER TABLE reverse_etl.mapping_catalog ADD COLUMN missed_by_upgrade int');
	isnt(extension_schema($node, 'fresh'), $upgraded, "$from: the comparison tells a missing column");

	$node->stop;
}

done_testing();
