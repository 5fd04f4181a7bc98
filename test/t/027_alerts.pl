# Alerts (README, "Alerts"): a session that LISTENs on reverse_etl_alerts
# hears every run that ends failed or partially_succeeded and the first
# success after such runs, with a JSON payload, and nothing for successes in
# a row; mapping_status counts the failures in a row and shows the last
# success; reverse_etl.alert_details = off keeps names, counts and errors out.
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
my @heard = alerts_during($sync, $sync);
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

# Without details.
$node->safe_psql('postgres', "ALTER SYSTEM SET reverse_etl.alert_details = off; SELECT pg_reload_conf();");
ok(poll_sql($node, 'SHOW reverse_etl.alert_details', 'off'), 'the setting is reloaded');
@heard = alerts_during('ALTER TABLE public.items RENAME TO items_away;', $sync);
is(scalar(@heard), 1, 'with alert_details off, a failed run still sends an alert');
is(join(',', sort keys %{ $heard[0] }), 'recovered,run_id,status', 'with only its id, status and recovery flag');
is($heard[0]{status}, 'failed', 'the status');

ok(slurp_file($node->logfile) !~ /terminated by signal/, 'no server process crashed');
$node->stop;
$mock->stop;
done_testing();
