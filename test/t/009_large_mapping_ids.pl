# Mapping ids of 2^31 and above: their run lock (an int4 advisory key) is
# found in pg_locks, and the launcher's first pass, which fails the runs whose
# process is gone, handles them (its statement cast the id through int, which
# fails with "integer out of range" as soon as pg_locks holds any run lock to
# compare with; the run then stayed 'running').
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_009');
my $node = new_node('large_ids');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $big = 2**31 + 7;
my $url = $mock->url('/big');
q1(qq{
ALTER TABLE reverse_etl.mapping_catalog ALTER COLUMN mapping_id RESTART WITH $big;
CREATE TABLE public.big (id int PRIMARY KEY);
INSERT INTO public.big VALUES (1);
SELECT reverse_etl.create_model('big', 'SELECT id FROM public.big', 'id');
SELECT reverse_etl.create_destination('big', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('big', 'big', 'send', '{"id": "id"}', name => 'big');
});
is(mapping_id($node, 'big'), $big, "the mapping's id is 2^31 + 7");
is(q1("SELECT status FROM reverse_etl.sync('big')"), 'succeeded', 'it syncs');

# Another session holds the mapping's run lock (the key wraps to a negative
# int4): sync() sees it in pg_locks and refuses with 55006.
my $key = $big - 2**32;
my ($in, $out, $err) = ("SELECT pg_advisory_lock(1380275282, $key);\n", '', '');
my $holder = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err);
ok( wait_until(
		sub {
			$holder->pump_nb;
			q1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 1380275282 AND granted")
			  eq '1';
		},
		30),
	'another session holds the run lock');
my ($ret, $stdout, $stderr) =
  $node->psql('postgres', "\\set VERBOSITY verbose\nSELECT status FROM reverse_etl.sync('big')");
like($stderr, qr/ERROR:  55006: mapping "big" is already running/, 'sync() refuses with 55006');
$in .= "\\q\n";
$holder->finish;

# A run left 'running' by a process that is gone, while another mapping's
# run lock is held (so pg_locks has a row to compare it with): a new
# launcher's first pass marks it failed.
($in, $out, $err) = ("SELECT pg_advisory_lock(1380275282, 12345);\n", '', '');
$holder = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
	'<', \$in, '>', \$out, '2>', \$err);
ok( wait_until(
		sub {
			$holder->pump_nb;
			q1("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 12345 AND granted") eq '1';
		},
		30),
	"another mapping's run lock is held");
q1("INSERT INTO reverse_etl.run_catalog (mapping_id, trigger, status, phase, started_at)
    VALUES ($big, 'manual', 'running', 'delivering', now())");
my $launcher = launcher_pid($node);
ok($launcher ne '', 'the launcher runs');
q1("SELECT pg_terminate_backend($launcher)");
ok( poll_sql($node,
		"SELECT status || ': ' || error FROM reverse_etl.run_catalog WHERE mapping_id = $big ORDER BY run_id DESC LIMIT 1",
		'failed: interrupted by server restart'),
	"the new launcher's first pass fails the interrupted run of the large id");
$in .= "\\q\n";
$holder->finish;

$node->stop;
done_testing();
