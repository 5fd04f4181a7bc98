# Without shared_preload_libraries (SPEC 8): no launcher runs, but the library
# loads in any session that uses it, and sync() and run_due_syncs() work. The
# reverse_etl.* settings in postgresql.conf are accepted (reverse_etl.database
# included, which nothing reads then).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_006');
my $node = new_node('no_preload', preload => 0);

sub q1 { return $node->safe_psql('postgres', $_[0]); }

is(q1("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher'"),
	'0', 'no launcher without preloading');
is(q1('SHOW reverse_etl.database'), 'postgres', 'reverse_etl.database is defined once the library is loaded');

my $url = $mock->url('/np');
q1(qq{
CREATE TABLE public.np (id int PRIMARY KEY, v text);
INSERT INTO public.np SELECT i, 'v' || i FROM generate_series(1, 50) AS i;
SELECT reverse_etl.create_model('np', 'SELECT id, v FROM public.np', 'id');
SELECT reverse_etl.create_destination('np_hook', 'webhook', '{"url": "$url", "batch_size": 20}', enabled => true);
SELECT reverse_etl.create_mapping('np', 'np_hook', 'send', '{"id": "id", "v": "v"}', name => 'np_manual');
SELECT reverse_etl.create_mapping('np', 'np_hook', 'send', '{"id": "id", "v": "v"}', name => 'np_due',
                                  schedule => '1 hour', enabled => true);
});

# sync() in a fresh session: the library is loaded there, and in the sync worker.
is( q1("SELECT status || ' ' || records_succeeded FROM reverse_etl.sync('np_manual')"),
	'succeeded 50', 'sync() delivers every record without preloading');
is(scalar(@{ $mock->requests }), 3, 'the mock received 3 requests (batches of 20)');

# run_due_syncs() starts the due mapping's run at commit, in a worker of its own.
is(q1('SELECT reverse_etl.run_due_syncs()'), '1', 'run_due_syncs() starts the due mapping');
ok( poll_sql($node,
		"SELECT status FROM reverse_etl.sync_runs WHERE mapping = 'np_due' ORDER BY run_id DESC LIMIT 1",
		'succeeded', 30),
	'the run started by run_due_syncs() succeeds');

my $log = slurp_file($node->logfile);
unlike($log, qr/cannot create PGC_POSTMASTER variables/, 'no FATAL defining the settings');
unlike($log, qr/terminated by signal/, 'no process crashed');

$node->stop;
done_testing();
