# Owners that go away (README, "When a role goes away"). REASSIGN OWNED and
# DROP OWNED do not see reverse_etl's objects, so a DBA can drop a role that
# owns models, destinations and mappings: mapping_status flags them, the
# launcher warns once naming them, their runs fail with the reason, and
# reassign_owner gives them (and their checkpoints' grants) to another role,
# whose syncs then carry on from the checkpoint. Also reassign_owner's
# privilege rules and errors.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_026');
# log_min_messages = log (new_node's) ranks WARNING below LOG: the launcher's
# warning reaches the log at the default level.
my $node = new_node('owners', conf => "log_min_messages = warning\n");
my $url = $mock->url('/people');
$node->safe_psql('postgres', qq{
CREATE TABLE public.people (id int PRIMARY KEY, email text);
INSERT INTO public.people SELECT g, 'p' || g || '\@example.com' FROM generate_series(1, 50) g;
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE carol LOGIN;
CREATE ROLE dave LOGIN;
GRANT bob, carol TO dave;
GRANT SELECT ON public.people TO alice, bob, carol;
GRANT USAGE ON SCHEMA reverse_etl TO alice, bob, carol, dave;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO alice, bob, carol, dave;
SET ROLE alice;
SELECT reverse_etl.create_model('people', 'SELECT id, email FROM public.people', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('people', 'hook', 'send', '{"id": "id", "email": "email"}', name => 'people_hook');
RESET ROLE;
});

sub psql_as
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "SET ROLE $role; $sql", on_error_die => 0);
	return ($ret, $out, $err);
}

sub last_run
{
	return $node->safe_psql('postgres',
		"SELECT status || ' ' || records_succeeded || ' ' || coalesce(error, '') FROM reverse_etl.sync_runs "
		  . "WHERE mapping = 'people_hook' ORDER BY run_id DESC LIMIT 1");
}

my ($ret, $out, $err) = psql_as('alice', "SELECT status, records_succeeded FROM reverse_etl.sync('people_hook')");
is($out, 'succeeded|50', "alice's first sync sends every record");

# ---------------------------------------------------------------- errors
($ret, $out, $err) = psql_as('bob', "SELECT reverse_etl.reassign_owner('alice', 'bob')");
like($err, qr/ERROR:  permission denied to reassign objects\nDETAIL:  Only roles with the privileges of role "alice" and of role "bob" may reassign objects/,
	'a role without the privileges of the old owner may not take its objects');
($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT reverse_etl.reassign_owner('nosuch', 'bob')");
like($err, qr/ERROR:  42704: role "nosuch" does not exist/, 'an unknown old owner is 42704');
($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT reverse_etl.reassign_owner('alice', 'nosuch')");
like($err, qr/ERROR:  42704: role "nosuch" does not exist/, 'an unknown new owner is 42704');
($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT reverse_etl.reassign_owner('alice x', 'bob')");
like($err, qr/ERROR:  42704: role "alice x" does not exist/, 'a name that is no role and no OID is 42704');
($ret, $out, $err) = psql_as('bob', "SELECT reverse_etl.reassign_owner(4000000000, 'bob')");
like($err, qr/ERROR:  permission denied to reassign objects\nDETAIL:  Only superusers may reassign the objects of a role that no longer exists \(4000000000\)/,
	'only a superuser reassigns the objects of a dropped role (by OID)');
($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT reverse_etl.reassign_owner('4000000000', 'bob')");
like($err, qr/ERROR:  42704: role "4000000000" does not exist/, 'a number in quotes is a role name');

# ---------------------------------------------------------------- alice goes
my $alice = $node->safe_psql('postgres', "SELECT oid FROM pg_roles WHERE rolname = 'alice'");
my $log_offset = -s $node->logfile;
# What a DBA runs before DROP ROLE; none of it sees alice's reverse_etl objects.
$node->safe_psql('postgres', 'REASSIGN OWNED BY alice TO postgres; DROP OWNED BY alice; DROP ROLE alice;');
is($node->safe_psql('postgres',
		"SELECT owner_missing FROM reverse_etl.mapping_status WHERE mapping = 'people_hook'"),
	't', 'mapping_status flags the mapping whose owner is gone');
is($node->safe_psql('postgres', "SELECT owner FROM reverse_etl.models WHERE name = 'people'"),
	$alice, 'the model shows the dropped role by its OID');
ok(wait_until(sub { slurp_file($node->logfile, $log_offset) =~ /no longer exists but owns/ }),
	'the launcher notices at its next pass');
my $log = slurp_file($node->logfile, $log_offset);
like($log,
	qr/WARNING:  reverse_etl launcher: role $alice no longer exists but owns 3 objects\n.*DETAIL:  Owned by the dropped role: destination "hook", mapping "people_hook", model "people"\. Their syncs fail until they have an owner\.\n.*HINT:  Give them to another role with SELECT reverse_etl\.reassign_owner\($alice, 'new_owner'\)\./,
	'and warns naming the objects and the way out');
$node->safe_psql('postgres', "SELECT reverse_etl.request_sync('people_hook')");
ok(poll_sql($node,
		"SELECT status FROM reverse_etl.sync_runs WHERE mapping = 'people_hook' ORDER BY run_id DESC LIMIT 1",
		'failed'),
	'a run of the orphaned mapping fails');
is(last_run(), "failed 0 the owner of model \"people\" (role $alice) no longer exists", 'saying why');
sleep(1);    # a few more launcher passes
my $warnings = () = slurp_file($node->logfile, $log_offset) =~ /no longer exists but owns/g;
is($warnings, 1, 'one warning, not one a pass');

# ---------------------------------------------------------------- to bob
# A role named like the dropped role's OID, with an object of its own: the
# OID form reaches the dropped role's objects, the name form this role's.
$node->safe_psql('postgres', qq{
CREATE ROLE "$alice" LOGIN;
GRANT USAGE ON SCHEMA reverse_etl TO "$alice";
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO "$alice";
SET ROLE "$alice";
SELECT reverse_etl.create_model('decoy', 'SELECT 1 AS id', 'id');
RESET ROLE;
});
is($node->safe_psql('postgres', "SELECT reverse_etl.reassign_owner($alice, 'bob')"), '3',
	"a superuser gives the dropped role's three objects to bob, by OID");
is($node->safe_psql('postgres', "SELECT owner FROM reverse_etl.models WHERE name = 'decoy'"), qq{"$alice"},
	'the role named like that OID keeps its model');
is($node->safe_psql('postgres', "SELECT reverse_etl.reassign_owner('$alice', 'carol')"), '1',
	'which the name form moves');
is($node->safe_psql('postgres',
		"SELECT owner_missing FROM reverse_etl.mapping_status WHERE mapping = 'people_hook'"),
	'f', 'the flag goes');
is($node->safe_psql('postgres', "SET ROLE bob; SELECT mapping FROM reverse_etl.mapping_status"),
	'people_hook', 'bob sees the mapping');
$node->safe_psql('postgres', "UPDATE public.people SET email = 'new\@example.com' WHERE id = 7");
$mock->reset;
($ret, $out, $err) = psql_as('bob', "SELECT status, records_updated, records_succeeded FROM reverse_etl.sync('people_hook')");
is($out, 'succeeded|1|1', "bob's sync reads the checkpoint (granted with the model) and sends only the change")
  or diag($err);
is(scalar(my @sent = $mock->records), 1, 'one record reached the destination');

# ---------------------------------------------------------------- bob to carol
($ret, $out, $err) = psql_as('dave', "SELECT reverse_etl.reassign_owner('bob', 'carol')");
is($out, '3', 'a role with the privileges of both moves the objects') or diag($err);
my $checkpoint = 'reverse_etl_state.checkpoint_' . mapping_id($node, 'people_hook');
is($node->safe_psql('postgres',
		"SELECT has_table_privilege('bob', '$checkpoint', 'SELECT') || ' ' || has_table_privilege('carol', '$checkpoint', 'SELECT')"),
	'false true', "the checkpoint's grant moves from bob to carol");
is($node->safe_psql('postgres', "SELECT reverse_etl.reassign_owner('bob', 'carol')"), '0',
	'nothing left to move');
($ret, $out, $err) = psql_as('carol', "SELECT status, records_succeeded FROM reverse_etl.sync('people_hook')");
is($out, 'succeeded|0', "carol's sync finds nothing to send") or diag($err);

ok(slurp_file($node->logfile) !~ /terminated by signal/, 'no server process crashed');
$node->stop;
$mock->stop;
done_testing();
