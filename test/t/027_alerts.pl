# Alerts (README, "Alerts"): a session that LISTENs on reverse_etl_alerts
# hears every run that ends failed or partially_succeeded and the first
# success after such runs, with a JSON payload, and nothing for successes in
# a row; mapping_status counts the failures in a row and shows the last
# success; names, counts and errors only with reverse_etl.alert_details = on.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_027');
my $node = new_node('alerts');
my $url = $mock->url('/items');
$node->safe_psql('postgres', qq{
CREATE TABLE public.items (id int, label text);
INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 20) g;
SELECT reverse_etl.create_model('items', 'SELECT id, label FROM public.items', 'id');
SELECT reverse_etl.create_destination('hook', 'webhook', '{"url": "$url"}', enabled => true);
SELECT reverse_etl.create_mapping('items', 'hook', 'send', '{"id": "id", "label": "label"}', name => 'items_hook');
});

# Runs @steps (SQL) in one session that listens, and returns the payloads it
# heard, decoded, in order.
sub alerts_during
{
	my (@steps) = @_;
	my $sql = join("\n", 'LISTEN reverse_etl_alerts;', @steps, 'SELECT pg_sleep(0.5);', 'SELECT 1;');
	my ($ret, $out, $err) = $node->psql('postgres', $sql, on_error_die => 0);
	my @payloads;
	while ($out =~ /Asynchronous notification "reverse_etl_alerts" with payload "(.*)" received from server process/g)
	{
		push @payloads, decode_json($1);
	}
	diag($err) if $err =~ /ERROR/;
	return @payloads;
}

sub status_of { return $node->safe_psql('postgres',
	"SELECT consecutive_failures || ' ' || (last_success_at IS NOT NULL) FROM reverse_etl.mapping_status WHERE mapping = 'items_hook'") }

my $sync = "SELECT status FROM reverse_etl.sync('items_hook');";

# By default (reverse_etl.alert_details = off) an alert says only which run
# ended how: any role connected to the database may LISTEN.
my @heard = alerts_during('ALTER TABLE public.items RENAME TO items_away;', $sync,
	'ALTER TABLE public.items_away RENAME TO items;', $sync);
is(scalar(@heard), 2, 'a failed run and the success after it send alerts, details off as well');
is(join(',', sort keys %{ $heard[0] }), 'recovered,run_id,status', 'with only the run id, status and recovery flag');
is("$heard[0]{status} $heard[1]{status}", 'failed succeeded', 'the statuses');
ok(!$heard[0]{recovered} && $heard[1]{recovered}, 'the second a recovery');

$node->safe_psql('postgres', "ALTER SYSTEM SET reverse_etl.alert_details = on; SELECT pg_reload_conf();");
ok(poll_sql($node, 'SHOW reverse_etl.alert_details', 'on'), 'with alert_details on');
@heard = alerts_during($sync, $sync);
is(scalar(@heard), 0, 'successful runs send no alert');
is(status_of(), '0 true', 'mapping_status: no failure, a last success');
my $last_success = $node->safe_psql('postgres',
	"SELECT last_success_at FROM reverse_etl.mapping_status WHERE mapping = 'items_hook'");

# Two failed runs (the model's table is gone), then a success.
@heard = alerts_during('ALTER TABLE public.items RENAME TO items_away;', $sync, $sync);
is(scalar(@heard), 2, 'each failed run sends an alert');
is($heard[0]{mapping}, 'items_hook', 'naming the mapping');
is($heard[0]{status}, 'failed', 'with its status');
like($heard[0]{error}, qr/relation "public\.items" does not exist/, 'and its error');
ok(!$heard[0]{recovered}, 'not a recovery');
is($heard[1]{run_id}, $heard[0]{run_id} + 1, 'one alert per run, with its id');
is(status_of(), '2 true', 'mapping_status counts the failures in a row');
is($node->safe_psql('postgres',
		"SELECT last_success_at FROM reverse_etl.mapping_status WHERE mapping = 'items_hook'"),
	$last_success, 'and keeps the last success');

@heard = alerts_during('ALTER TABLE public.items_away RENAME TO items;', $sync, $sync);
is(scalar(@heard), 1, 'the first success after failures sends one alert; the next none');
is($heard[0]{status}, 'succeeded', 'a success');
ok($heard[0]{recovered}, 'marked as a recovery');
is(status_of(), '0 true', 'mapping_status: the count starts again');

# A run with an invalid record ends partially_succeeded.
@heard = alerts_during("INSERT INTO public.items VALUES (NULL, 'no id');", $sync);
is(scalar(@heard), 1, 'a partially successful run sends an alert');
is($heard[0]{status}, 'partially_succeeded', 'with its status');
is($heard[0]{records}{invalid}, 1, 'and its counts');
is(status_of(), '0 true', 'a partial success is not a failure');
@heard = alerts_during("DELETE FROM public.items WHERE id IS NULL;", $sync);
is(scalar(@heard), 1, 'the success after it is a recovery too');
ok($heard[0]{recovered}, 'marked so');

# An error whose escaped JSON would not fit a NOTIFY payload (under 8000
# bytes): 2000 control characters take 12000 as \u0001. The alert carries
# its first 200 characters, and the run still ends.
$node->safe_psql('postgres', q{
SELECT reverse_etl.create_model('bad', 'SELECT id, repeat(chr(1), 3000 + 0 * id)::int AS n FROM public.items', 'id');
SELECT reverse_etl.create_mapping('bad', 'hook', 'send', '{"id": "id", "n": "n"}', name => 'bad_hook');
});
@heard = alerts_during("SELECT status FROM reverse_etl.sync('bad_hook');");
is(scalar(@heard), 1, 'a run whose error is too long to send whole sends an alert');
is($heard[0]{mapping}, 'bad_hook', '... for the run');
like($heard[0]{error}, qr/^model "bad": invalid input syntax for type integer: "\x01+$/, '... with the start of its error');
is(length($heard[0]{error}), 200, '... cut to 200 characters');
is($node->safe_psql('postgres',
		"SELECT status || ' ' || length(error) FROM reverse_etl.sync_runs WHERE mapping = 'bad_hook'"),
	'failed 3054', 'the run ended failed with its whole error');

ok(slurp_file($node->logfile) !~ /terminated by signal/, 'no server process crashed');
$node->stop;
$mock->stop;
done_testing();
