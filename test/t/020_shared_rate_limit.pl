# Declared rate limits, shared per destination (SPEC section 3): two mappings
# sending to one webhook with max_requests_per_second run at the same time,
# each in its own sync worker, and together stay within the limit: the mock's
# arrival times of all their requests spread over at least the time the
# limit needs for them. Then a cancel during a long pacing wait ends the run
# promptly, as canceled.
#
# Timing: only lower bounds on spreads (pacing happened), with slack for
# arrival jitter; the one upper bound (the cancel) is far from tight.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(time usleep);

my $per_mapping = 12;
my $rate = 4;    # requests a second, for both mappings together

my $mock = ReverseEtlTest::Mock->start(name => 'mock_020');
my $node = new_node('shared_rate_limit');

my $url = $mock->url('/paced');
my $slow_url = $mock->url('/slow');
$node->safe_psql('postgres', qq{
CREATE TABLE public.a (id int PRIMARY KEY);
INSERT INTO public.a SELECT g FROM generate_series(1, $per_mapping) g;
CREATE TABLE public.b (id int PRIMARY KEY);
INSERT INTO public.b SELECT 1000 + g FROM generate_series(1, $per_mapping) g;
CREATE TABLE public.c (id int PRIMARY KEY);
INSERT INTO public.c SELECT g FROM generate_series(1, 60) g;
-- Waits while the test holds its gate (an advisory lock), row by row.
CREATE FUNCTION public.gate() RETURNS boolean LANGUAGE plpgsql
  AS \$\$ BEGIN PERFORM pg_catalog.pg_advisory_lock_shared(8020); RETURN true; END \$\$;
SELECT reverse_etl.create_model('a', 'SELECT id FROM public.a WHERE public.gate()', 'id');
SELECT reverse_etl.create_model('b', 'SELECT id FROM public.b WHERE public.gate()', 'id');
SELECT reverse_etl.create_model('c', 'SELECT id FROM public.c', 'id');
SELECT reverse_etl.create_destination('paced', 'webhook',
    '{"url": "$url", "max_requests_per_second": $rate}', enabled => true);
SELECT reverse_etl.create_destination('slow', 'webhook',
    '{"url": "$slow_url", "max_requests_per_second": 1}', enabled => true);
SELECT reverse_etl.create_mapping('a', 'paced', 'send', '{"id": "id"}', name => 'ma');
SELECT reverse_etl.create_mapping('b', 'paced', 'send', '{"id": "id"}', name => 'mb');
SELECT reverse_etl.create_mapping('c', 'slow', 'send', '{"id": "id"}', name => 'mc');
});

# ---------------------------------------------------------------- shared pacing
sub start_sync
{
	my ($mapping) = @_;
	my %p = (stdout => '', stderr => '');
	$p{h} = IPC::Run::start(
		[ 'psql', '-X', '-A', '-t', '-q', '-d', $node->connstr('postgres'),
		  '-c', "SELECT status || ' ' || records_succeeded FROM reverse_etl.sync('$mapping')" ],
		'<', \undef, '>', \$p{stdout}, '2>', \$p{stderr});
	return \%p;
}

# The two runs must overlap, and on a loaded machine one sync worker (or
# the model reader a first run starts) can start seconds after the other:
# the models' gate() holds each run where its model's rows are read until
# both are there, then lets them go together.
my $gate = $node->background_psql('postgres');
$gate->query_safe('SELECT pg_advisory_lock(8020)');
my @calls = (start_sync('ma'), start_sync('mb'));
ok( poll_sql($node,
		"SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory' AND objid = 8020", '2', 60),
	'both runs wait at their model query');
$gate->query_safe('SELECT pg_advisory_unlock(8020)');
$gate->quit;
$_->{h}->finish for @calls;
is($calls[0]{stdout}, "succeeded $per_mapping\n", 'the first mapping delivered every record')
  or diag($calls[0]{stderr});
is($calls[1]{stdout}, "succeeded $per_mapping\n", 'the second mapping delivered every record')
  or diag($calls[1]{stderr});

my @requests = @{ $mock->requests('path_prefix=/paced') };
is(scalar @requests, 2 * $per_mapping, 'one request per record');
my (@a, @b);
for my $r (@requests)
{
	my $id = decode_json($r->{body})->{id};
	push @{ $id > 1000 ? \@b : \@a }, $r->{epoch};
}
@a = sort { $a <=> $b } @a;
@b = sort { $a <=> $b } @b;
my @all = sort { $a <=> $b } (@a, @b);

# The two runs overlapped: otherwise one after the other would spread as
# wide without sharing anything.
my $b_during_a = grep { $_ > $a[0] && $_ < $a[-1] } @b;
my $a_during_b = grep { $_ > $b[0] && $_ < $b[-1] } @a;
cmp_ok($b_during_a + $a_during_b, '>=', $per_mapping / 2,
	'the two runs sent at the same time')
  or diag("a: @a\nb: @b");

# Burst 1: n requests at $rate a second take at least (n - 1) / $rate
# seconds; each run alone would need half of that. 10% slack for jitter.
my $needed = (scalar(@all) - 1) / $rate;
my $spread = $all[-1] - $all[0];
cmp_ok($spread, '>=', 0.9 * $needed,
	sprintf('together within %d requests a second: %d requests over %.2f s (at least %.2f s)',
		$rate, scalar @all, $spread, $needed));
# While both runs were sending, they kept to one limit between them: two
# limiters of their own would have let twice as many through. (Measured
# over the overlap, whatever each run's start: under load one may start
# late, and its partner's spread alone says little.)
my ($from, $to) = ($a[0] > $b[0] ? $a[0] : $b[0], $a[-1] < $b[-1] ? $a[-1] : $b[-1]);
my $in_overlap = grep { $_ >= $from && $_ <= $to } @all;
cmp_ok($in_overlap - 1, '<=', 1.1 * $rate * ($to - $from) + 1,
	sprintf('while both ran, %d requests in %.2f s: within %d a second together',
		$in_overlap, $to - $from, $rate));

# ---------------------------------------------------------------- cancel while pacing
my $caller = $node->background_psql('postgres', on_error_stop => 0);
my $caller_pid = $caller->query_safe('SELECT pg_backend_pid()');
$caller->{stderr} = '';
$caller->{stdin} .= "SELECT status FROM reverse_etl.sync('mc');\n";
$caller->{run}->pump_nb;
ok($mock->wait_for(2, 30, 'path_prefix=/slow'), 'the paced run started sending (one request a second)');
my $canceled_at = time;
$node->safe_psql('postgres', "SELECT pg_cancel_backend($caller_pid)");
my $timer = IPC::Run::timer(30);
$timer->start;
ok( pump_until($caller->{run}, $timer, \$caller->{stderr}, qr/canceling statement due to user request/),
	'the call reports the cancel');
ok( poll_sql($node,
		"SELECT status FROM reverse_etl.sync_runs WHERE mapping = 'mc' ORDER BY run_id DESC LIMIT 1",
		'canceled', 30),
	'the run ends as canceled');
my $took = time - $canceled_at;
# 58 more seconds of pacing were ahead; the wait checks for a cancel every 100 ms.
cmp_ok($took, '<', 20, sprintf('the pacing wait ended promptly (%.1f s)', $took));
my $sent = scalar @{ $mock->requests('path_prefix=/slow') };
cmp_ok($sent, '<', 40, "the run stopped sending ($sent of 60 requests)");
$caller->quit;

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no process crashed');

$node->stop;
$mock->stop;
done_testing();
