# Dropping a mapping while it runs (or its model or destination, with
# cascade) is refused with 55006 instead of pulling its checkpoint from under
# the run; once the run is canceled, the drop goes through. So is a change of
# its model's key (another key column resets the checkpoint; a new type of
# the key column is taken only when every checkpointed identifier fits it):
# the run would go on checkpointing identifiers of the old key.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_007');
$mock->config({ default => { delay_ms => 60000 } });
my $node = new_node('drop_running');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# The SQLSTATE of a statement that must fail, or 'no error'.
sub sqlstate_of
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY sqlstate\n$sql", on_error_stop => 1);
	return $ret == 0 ? 'no error' : ($err =~ /(\w{5})\s*$/ ? $1 : $err);
}

my $url = $mock->url('/slow');
q1(qq{
CREATE TABLE public.slow (id int PRIMARY KEY, v text);
INSERT INTO public.slow VALUES (1, 'one');
SELECT reverse_etl.create_model('slow', 'SELECT id, v FROM public.slow', 'id');
SELECT reverse_etl.create_destination('slow_hook', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('slow', 'slow_hook', 'send', '{"id": "id"}', name => 'slow');
});
my $checkpoint = 'reverse_etl_state.checkpoint_' . mapping_id($node, 'slow');

my ($out, $err) = ('', '');
my $call = IPC::Run::start(
	[ 'psql', '-XAt', '-d', $node->connstr('postgres'), '-c', "SELECT status FROM reverse_etl.sync('slow')" ],
	'<', \undef, '>', \$out, '2>', \$err);
ok($mock->wait_for(1, 30), 'the run sent its request and waits for the answer');

is(sqlstate_of("SELECT reverse_etl.drop_mapping('slow')"), '55006', 'drop_mapping of a running mapping: 55006');
{
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "SELECT reverse_etl.drop_mapping('slow')");
	like($stderr, qr/ERROR:  mapping "slow" is running\n.*HINT:  Wait for it to finish, or stop it with reverse_etl\.cancel_sync\(\)\./s,
		'its message names the mapping and hints at cancel_sync');
}
is(sqlstate_of("SELECT reverse_etl.drop_model('slow', cascade => true)"), '55006',
	'drop_model with cascade to a running mapping: 55006');
is(sqlstate_of("SELECT reverse_etl.drop_destination('slow_hook', cascade => true)"), '55006',
	'drop_destination with cascade to a running mapping: 55006');
is(q1("SELECT count(*) FROM reverse_etl.mappings WHERE name = 'slow'") . ' '
	  . q1("SELECT to_regclass('$checkpoint') IS NOT NULL"),
	'1 t', 'the mapping and its checkpoint are still there');

is(sqlstate_of("SELECT reverse_etl.alter_model('slow', primary_key => 'v')"), '55006',
	'alter_model to another key column of a running mapping\'s model: 55006');
{
	my ($ret, $stdout, $stderr) =
	  $node->psql('postgres', "SELECT reverse_etl.alter_model('slow', query => 'SELECT id::text AS id, v FROM public.slow')");
	like($stderr, qr/ERROR:  mapping "slow" is running\n.*HINT:  Wait for it to finish/s,
		'alter_model to a new type of the key column: refused, naming the running mapping');
}
is(sqlstate_of("SELECT reverse_etl.alter_model('slow', query => 'SELECT id, v, 1 AS one FROM public.slow', "
		  . "description => 'keyed as before')"),
	'no error', 'a new query with the same key is taken while it runs');
is(q1("SELECT primary_key || ' ' || description FROM reverse_etl.models WHERE name = 'slow'"),
	'id keyed as before', 'and the refused changes left the key as it was');

is(q1("SELECT reverse_etl.cancel_sync('slow')"), 't', 'cancel_sync signals the run');
$call->finish;
is($out, "canceled\n", 'the sync() call returns the canceled run');

is(sqlstate_of("SELECT reverse_etl.alter_model('slow', primary_key => 'v')"), 'no error',
	'then alter_model to another key column goes through');
is(sqlstate_of("SELECT reverse_etl.drop_mapping('slow')"), 'no error', 'then drop_mapping goes through');
is(q1("SELECT to_regclass('$checkpoint') IS NULL"), 't', 'and the checkpoint is gone');

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no process crashed');
$node->stop;
done_testing();
