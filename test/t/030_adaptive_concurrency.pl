# Adaptive concurrency (README, "Delivery"): a sync keeps more requests in
# flight while a slow destination answers as fast as before, up to
# reverse_etl.max_concurrent_requests; with reverse_etl.adaptive_concurrency
# off it keeps exactly that many; against a destination that answers 429
# beyond a number of concurrent requests it backs off, so few requests are
# refused (with the limit held, most of a first wave of 24 would be), and
# every record is still delivered and checkpointed.
#
# No timing is asserted: what the mock saw (requests in flight when each
# arrived, its 429s) and what the runs delivered.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $rows = 240;
my $batch = 2;    # 120 requests a full sync
my $mock = ReverseEtlTest::Mock->start(name => 'mock_030');
my $node = new_node('adaptive');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $url = $mock->url('/hook');
q1(qq{
CREATE TABLE public.items (id int PRIMARY KEY, label text);
INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, $rows) g;
SELECT reverse_etl.create_model('items', 'SELECT id, label FROM public.items', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url", "batch_size": $batch}', enabled => true);
SELECT reverse_etl.create_mapping('items', 'hook', 'send', '{"id": "id", "label": "label"}', name => 'items',
    enabled => true);
});

is(q1('SHOW reverse_etl.adaptive_concurrency'), 'on', 'adaptive concurrency is on by default');
is(q1('SHOW reverse_etl.max_concurrent_requests'), '64', '... up to 64 requests at once');

# A full sync against the mock configured so, with the given session settings; returns its status and counts,
# and what the mock saw: the most requests in flight when one arrived, the
# 429s, and the distinct records it accepted.
sub full_sync
{
	my ($config, $settings) = @_;
	q1("SELECT reverse_etl.reset_mapping('items')");
	$mock->reset;    # the recordings and the configuration
	$mock->config($config);
	my $run = q1("$settings; SELECT status || ' ' || records_succeeded || ' ' || records_failed "
		  . "FROM reverse_etl.sync('items')");
	my ($max_in_flight, $refused, %accepted) = (0, 0);
	for my $request (@{ $mock->requests })
	{
		$max_in_flight = $request->{in_flight} if $request->{in_flight} > $max_in_flight;
		if ($request->{status} == 429)
		{
			$refused++;
			next;
		}
		$accepted{ $_->{id} } = 1 for @{ $mock->{json}->decode($request->{body}) };
	}
	return {
		run => $run,
		max_in_flight => $max_in_flight,
		refused => $refused,
		requests => scalar @{ $mock->requests },
		accepted => scalar keys %accepted
	};
}

# 1. Off: exactly max_concurrent_requests, as in earlier releases.
my $slow = { default => { delay_ms => 150 } };
my $fixed = full_sync($slow, 'SET reverse_etl.adaptive_concurrency = off; SET reverse_etl.max_concurrent_requests = 4');
is($fixed->{run}, "succeeded $rows 0", 'fixed: the run delivers every record');
cmp_ok($fixed->{max_in_flight}, '<=', 4, "fixed: never more than 4 in flight ($fixed->{max_in_flight})");
cmp_ok($fixed->{max_in_flight}, '>=', 3, '... and the 4 are used');

# 2. On, against a destination that takes 150 ms whatever the load: the run
# grows past where it starts (8), and never past the maximum.
my $grown = full_sync($slow, 'SET reverse_etl.max_concurrent_requests = 24');
is($grown->{run}, "succeeded $rows 0", 'adaptive: the run delivers every record');
cmp_ok($grown->{max_in_flight}, '>', 8, "adaptive: more than the 8 it starts with ($grown->{max_in_flight})");
cmp_ok($grown->{max_in_flight}, '<=', 24, '... and never more than max_concurrent_requests');
is($grown->{accepted}, $rows, '... every record reached the destination');

# 3. A destination that refuses (429) a request beyond 6 at once. Adaptive:
# it halves its limit at the first 429s and then probes upwards a step a
# round trip, so few requests are refused; every record still arrives.
my $backed_off = full_sync({ capacity => 6, default => { delay_ms => 150 } }, 'SET reverse_etl.max_concurrent_requests = 24');
is($backed_off->{run}, "succeeded $rows 0", 'over capacity, adaptive: the run still delivers every record');
is($backed_off->{accepted}, $rows, '... every record reached the destination');
is(checkpoint_count($node, 'items'), $rows, '... and is in the checkpoint');
cmp_ok($backed_off->{refused}, '>', 0, "the destination did refuse some ($backed_off->{refused})");
cmp_ok($backed_off->{refused} * 4, '<', $backed_off->{requests},
	"adaptive: under a quarter of the $backed_off->{requests} requests were refused");

$node->stop;
unlike(slurp_file($node->logfile), qr/terminated by signal/, 'no server process crashed');
done_testing();
