# Delivery holds a bounded number of bytes, whatever the batch size and
# reverse_etl.max_concurrent_requests say (issue 11, item 14): a Segment
# mapping (2,500 records a request) at the maximum concurrency (256), whose
# records are large, delivers every record while its sync worker's private
# memory stays far below the size of what it sends, and still keeps many
# requests in flight.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use Time::HiRes qw(usleep);

# 4,000 records of ~24 kB (Segment takes up to 32 kB a record, 500 kB a
# request): ~96 MB of payloads. Before the bound, one chunk was the whole
# outbox (2,500 x 256 x 2 records), held three or four times over.
my $rows = 4000;
my $value_chars = 24000;
my $mock = ReverseEtlTest::Mock->start(name => 'mock_013');
my $node = new_node('bounded', naptime => '200ms',
	conf => "reverse_etl.max_concurrent_requests = 256\n");

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $endpoint = $mock->url('/seg');
q1(qq{
CREATE TABLE public.big (id int PRIMARY KEY, body text);
INSERT INTO public.big
  SELECT g, left(repeat(md5(g::text), $value_chars / 32 + 1), $value_chars)
  FROM generate_series(1, $rows) g;
SELECT reverse_etl.create_model('big', 'SELECT id, body FROM public.big', 'id');
SELECT reverse_etl.create_destination('seg', 'segment',
  jsonb_build_object('write_key', 'wk', 'endpoint', '$endpoint'), enabled => true);
SELECT reverse_etl.create_mapping('big', 'seg', 'identify',
  '{"userId": "id", "traits": {"object": {"body": "body"}}}', name => 'big seg', enabled => true);
});
is(q1('SHOW reverse_etl.max_concurrent_requests'), '256', 'the server runs at the maximum concurrency');

# Each answer waits 200 ms, so that requests pile up in flight.
$mock->config({ default => { delay_ms => 200 } });
my $run = q1("SELECT reverse_etl.request_sync('big seg')");

# The worker's private memory (heap, not shared buffers), sampled every 10 ms
# from the moment it shows in sync_progress until the run ends.
my ($pid, $peak_kb, $samples) = ('', 0, 0);
ok( wait_until(
		sub {
			$pid = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $run");
			return $pid =~ /^\d+$/;
		},
		30),
	'the run starts');
while (1)
{
	my $kb = proc_status_kb($pid, 'RssAnon');
	last unless defined $kb;    # the worker exited
	$samples++;
	$peak_kb = $kb if $kb > $peak_kb;
	usleep(10_000);
}
ok( poll_sql($node,
		"SELECT status FROM reverse_etl.sync_runs WHERE run_id = $run", 'succeeded', 120),
	'the run succeeds');
is( q1("SELECT records_added || ' ' || records_succeeded || ' ' || records_failed || ' ' || records_invalid "
		  . "FROM reverse_etl.sync_runs WHERE run_id = $run"),
	"$rows $rows 0 0", 'every record is delivered, none failed or invalid');
is(checkpoint_count($node, 'big seg'), $rows, 'the checkpoint holds every record');

my $stats = $mock->{json}->decode($mock->_request('GET', '/_mock/stats')->{content});
cmp_ok($stats->{bytes}, '>=', $rows * $value_chars,
	"the destination received every record's value ($stats->{bytes} bytes in $stats->{requests} requests)");
# The recordings as JSON lines, read with a pattern: decoding ~100 MB of
# bodies would take JSON::PP minutes. Bodies are escaped JSON strings, so the
# unescaped key can only be the recording's own.
my $max_in_flight = 0;
my $recorded = $mock->_request('GET', '/_mock/requests.jsonl')->{content};
while ($recorded =~ /"in_flight":\s*(\d+)/g)
{
	$max_in_flight = $1 if $1 > $max_in_flight;
}
# 32 MB held (delivery.cpp, kHeldBytes) is ~60 of these 500 kB requests.
cmp_ok($max_in_flight, '>=', 16, "requests still overlap ($max_in_flight in flight at most)");

# What it sent is ~96 MB: held three or four times over in one chunk, it
# would take several hundred MB. The bound is 32 MB of payloads plus about
# as much in request bodies; the rest is the backend's own.
my $payload_mb = int($stats->{bytes} / 1024 / 1024);
cmp_ok($peak_kb, '<', 160 * 1024,
	"the sync worker's peak private memory stays bounded: "
	  . int($peak_kb / 1024) . " MB for $payload_mb MB sent ($samples samples)");

# Nothing is left: a second run sends nothing.
$mock->reset;
is( q1("SELECT status || ' ' || records_unchanged || ' ' || records_selected FROM reverse_etl.sync('big seg')"),
	"succeeded $rows 0", 'a second run finds every record unchanged');
is($mock->{json}->decode($mock->_request('GET', '/_mock/stats')->{content})->{requests},
	0, '... and sends nothing');

$node->stop;
done_testing();
