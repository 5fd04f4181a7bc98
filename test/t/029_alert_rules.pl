# Alert rules (README, "Alerts") with the launcher: runs it starts queue and
# post alerts like sync() does; an alert the sync worker could not post (the
# alert endpoint down) is posted again by the launcher's passes once its
# retry delay is over; a run that a crash interrupted, which no worker ends,
# is failed by the launcher after the restart, and its alert posted by the
# launcher.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use ReverseEtlTest;
use Test::More;

my $mock = ReverseEtlTest::Mock->start(name => 'mock_029');
my $node = new_node('alert_rules', naptime => '200ms');

sub q1 { return $node->safe_psql('postgres', $_[0]); }

my $data = $mock->url('/data');
my $alerts = $mock->url('/alerts');
q1(qq{
CREATE TABLE public.items (id int PRIMARY KEY, label text);
INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 5) g;
SELECT reverse_etl.create_model('items', 'SELECT id, label FROM public.items', 'id');
SELECT reverse_etl.create_destination('data', 'webhook', '{"url": "$data"}', enabled => true);
SELECT reverse_etl.create_mapping('items', 'data', 'send', '{"id": "id", "label": "label"}', name => 'items',
    enabled => true);
SELECT reverse_etl.create_destination('alerts', 'webhook', '{"url": "$alerts"}', enabled => true);
SELECT reverse_etl.create_alert('items down', 'items', 'alerts');
});

sub alert_posts
{
	return [ map { decode_json($_->{body}) } grep { $_->{path} eq '/alerts' } @{ $mock->requests } ];
}

sub events
{
	return q1("SELECT string_agg(kind || ' ' || status || ' ' || attempts, ', ' ORDER BY event_id) "
		  . "FROM reverse_etl.alert_events");
}

# 1. A run the launcher starts fails; its worker posts the alert, which the
# endpoint refuses: it stays pending.
$mock->config({ per_path => { '/data' => { status => 401, body => 'bad credentials' },
	'/alerts' => { status => 503, body => 'down' } } });
my $run = q1("SELECT reverse_etl.request_sync('items')");
ok(poll_sql($node, "SELECT status FROM reverse_etl.sync_runs WHERE run_id = $run", 'failed'),
	'the queued run fails');
ok(poll_sql($node, "SELECT attempts FROM reverse_etl.alert_events", '1'), 'its alert was tried once');
is(events(), 'firing pending 1', '... and is pending, the endpoint being down');
is(q1("SELECT error FROM reverse_etl.alert_events"), 'HTTP 503: down', 'with the endpoint\'s answer');

# 2. Within the retry delay (30 s) the launcher's passes leave it alone;
# once it is over (the test moves the attempt back), a pass posts it.
sleep(1);
is(events(), 'firing pending 1', 'not tried again within its delay, though the launcher passes every 200 ms');
$mock->config({ per_path => { '/data' => { status => 401, body => 'bad credentials' } } });
q1("UPDATE reverse_etl.alert_event_catalog SET last_attempt_at = last_attempt_at - interval '1 minute'");
ok(poll_sql($node, "SELECT status FROM reverse_etl.alert_events", 'sent'), 'the launcher posts it once the delay is over');
is(events(), 'firing sent 2', 'at its second attempt');
my $posts = alert_posts();
is(scalar(@$posts), 2, 'the endpoint saw two posts of it');
is($posts->[-1]{kind} . ' ' . $posts->[-1]{mapping} . ' ' . $posts->[-1]{run_id}, "firing items $run",
	'the alert names the mapping and the run');

# 3. The data destination recovers: the next run resolves the alert.
$mock->reset;
$run = q1("SELECT reverse_etl.request_sync('items')");
ok(poll_sql($node, "SELECT status FROM reverse_etl.sync_runs WHERE run_id = $run", 'succeeded'), 'the next run succeeds');
ok(poll_sql($node, "SELECT count(*) FROM reverse_etl.alert_events WHERE kind = 'resolved' AND status = 'sent'", '1'),
	'a resolved alert is posted');

# 4. A crash in the middle of a run: no worker ends it. After the restart
# the launcher fails it as interrupted, the rule fires, and the launcher
# posts the alert.
q1("UPDATE public.items SET label = label || ' v2'");
$mock->reset;
$mock->config({ per_path => { '/data' => { status => 200, delay_ms => 3000 } } });
$run = q1("SELECT reverse_etl.request_sync('items')");
ok(poll_sql($node, "SELECT phase FROM reverse_etl.sync_progress WHERE run_id = $run", 'delivering'),
	'a run is delivering');
my $pid = q1("SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $run");
kill 'KILL', $pid;
ok(poll_sql($node, "SELECT status || ': ' || error FROM reverse_etl.sync_runs WHERE run_id = $run",
	'failed: interrupted by server restart', 60), 'after the restart the launcher fails the interrupted run');
ok(poll_sql($node, "SELECT status FROM reverse_etl.alert_events WHERE run_id = $run", 'sent'),
	'its alert is posted by the launcher');
$posts = alert_posts();
is($posts->[-1]{kind} . ' ' . $posts->[-1]{error}, 'firing interrupted by server restart', 'saying why');

# 5. A pass posts all its alerts at once (one request's timeout at most,
# however many): ten rules fire at one failed run, and their ten posts,
# each answered after 1.5 s, are all in flight together. (Adaptive
# concurrency, which starts at 8, is for records' requests only.)
q1("SELECT reverse_etl.create_alert('items down ' || g, 'items', 'alerts') FROM generate_series(1, 10) AS g");
$mock->reset;
$mock->config({ per_path => { '/data' => { status => 401, body => 'bad credentials' },
	'/alerts' => { status => 200, delay_ms => 1500 } } });
is(q1("SELECT status FROM reverse_etl.sync('items')"), 'failed', 'a run fails');
my @alert_requests = grep { $_->{path} eq '/alerts' } @{ $mock->requests };
is(scalar(@alert_requests), 10, 'the ten new rules\' alerts are posted');
# The mock counts every request it has not answered (of any path): all ten
# arrived before the first answer when their counts are ten in a row.
my @counts = sort { $a <=> $b } map { $_->{in_flight} } @alert_requests;
is($counts[-1] - $counts[0], 9, 'all ten in flight at once') or diag(join(',', @counts));

$node->stop;
my $log = slurp_file($node->logfile);
my @signals = ($log =~ /terminated by signal (\d+)/g);
is(join(',', grep { $_ != 9 } @signals), '', 'no process ended by a signal other than the test\'s kill -9');
done_testing();
