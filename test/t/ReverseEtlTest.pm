# Shared helpers for the TAP tests (test/t/*.pl): a node with reverse_etl
# preloaded, the mock destination (test/mock_destination.py) on a free port,
# and polling with short, explicit timeouts.
#
#   use FindBin; use lib $FindBin::RealBin; use ReverseEtlTest;
#   my $node = ReverseEtlTest::new_node('name', naptime => '200ms');
#   my $mock = ReverseEtlTest::Mock->start;
#   $mock->config({default => {delay_ms => 100}});
#   my @ids = $mock->record_ids;
package ReverseEtlTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep time);

our @EXPORT = qw(new_node wait_until poll_sql launcher_pid proc_status_kb
  mapping_id checkpoint_count kill_before_checkpoint kill_run_process);

# A node with the extension preloaded, started, and CREATE EXTENSION done in
# 'postgres'. Options: naptime (default '200ms'), max_parallel_syncs,
# install_path (another PostgreSQL installation: its bin/ and lib/),
# preload => 0 (no shared_preload_libraries: no launcher), and
# conf => extra postgresql.conf text, and init_only => 1: initialised and
# configured, but neither started nor given the extension (the new cluster
# of a pg_upgrade). reverse_etl.allowed_hosts names
# 127.0.0.1, where the mock listens: reverse_etl.blocked_networks refuses
# loopback otherwise. restart_after_crash is on (the test
# framework turns it off): the crash tests need the postmaster to restart.
sub new_node
{
	my ($name, %opt) = @_;
	my $naptime = $opt{naptime} // '200ms';
	my $node = PostgreSQL::Test::Cluster->new($name,
		defined $opt{install_path} ? (install_path => $opt{install_path}) : ());
	$node->init;
	my $preload = $opt{preload} // 1;
	my $conf = ($preload ? "shared_preload_libraries = 'reverse_etl'\n" : '') . qq{
reverse_etl.database = 'postgres'
reverse_etl.naptime = '$naptime'
reverse_etl.allowed_hosts = '127.0.0.1'
log_min_messages = log
restart_after_crash = on
};
	$conf .= "reverse_etl.max_parallel_syncs = $opt{max_parallel_syncs}\n"
	  if defined $opt{max_parallel_syncs};
	$conf .= $opt{conf} if defined $opt{conf};
	$node->append_conf('postgresql.conf', $conf);
	return $node if $opt{init_only};
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION reverse_etl');
	return $node;
}

# Calls $check until it returns true or $timeout seconds pass; returns
# whether it succeeded.
sub wait_until
{
	my ($check, $timeout) = @_;
	$timeout //= 30;
	my $deadline = time() + $timeout;
	while (1)
	{
		return 1 if $check->();
		return 0 if time() > $deadline;
		usleep(100_000);
	}
}

# Runs $sql until its output equals $expected (default 't'), at most $timeout
# seconds (default 30); connection errors (a restarting server) are retried.
sub poll_sql
{
	my ($node, $sql, $expected, $timeout) = @_;
	$expected //= 't';
	my ($stdout, $stderr) = ('', '');
	my $ok = wait_until(
		sub {
			my $ret;
			# While the server restarts, psql may exit before it has read
			# the statement from its stdin, and IPC::Run then dies of the
			# broken pipe: one more failed attempt, not the test's end.
			my $ran = eval {
				($ret, $stdout, $stderr) =
				  $node->psql('postgres', $sql, on_error_die => 0);
				1;
			};
			$stderr = $@ unless $ran;
			return $ran && defined $ret && $ret == 0 && $stdout eq $expected;
		},
		$timeout);
	Test::More::diag("poll_sql timed out: $sql\nexpected: $expected\ngot: $stdout\nstderr: $stderr")
	  unless $ok;
	return $ok;
}

# The launcher's pid, or '' when none is running.
sub launcher_pid
{
	my ($node) = @_;
	my ($ret, $out) = $node->psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher'");
	return defined $ret && $ret == 0 ? $out : '';
}

# A field of /proc/<pid>/status in kB (VmRSS, RssAnon...), or a count
# (voluntary_ctxt_switches); undef when missing.
sub proc_status_kb
{
	my ($pid, $field) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return undef;
	while (my $line = <$fh>)
	{
		return $1 if $line =~ /^\Q$field\E:\s+(\d+)/;
	}
	return undef;
}

sub mapping_id
{
	my ($node, $mapping) = @_;
	return $node->safe_psql('postgres',
		"SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = '$mapping'");
}

# Rows in a mapping's checkpoint table.
sub checkpoint_count
{
	my ($node, $mapping) = @_;
	my $id = mapping_id($node, $mapping);
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM reverse_etl_state.checkpoint_$id");
}

# Kills (kill -9) the sync worker of run $run once the destination has
# answered and the worker's flush waits for the mapping's checkpoint, which
# the test holds with a SHARE lock: a deterministic stand-in for a crash in
# the second between an acknowledgement and its checkpoint write. The
# destination must answer late enough for the lock to be taken first (a
# mock delay). Returns once the restarted server recorded the run as
# interrupted; each step is a test, named after $label.
sub kill_before_checkpoint
{
	my ($node, $run, $checkpoint, $label) = @_;
	Test::More::ok(poll_sql($node, "SELECT phase FROM reverse_etl.sync_progress WHERE run_id = $run", 'delivering'),
		"$label: the run is delivering");
	my ($in, $out, $err) = ("BEGIN;\nLOCK TABLE $checkpoint IN SHARE MODE;\nSELECT 'locked';\n", '', '');
	my $holder = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres') ],
		'<', \$in, '>', \$out, '2>', \$err);
	Test::More::ok(wait_until(sub { $holder->pump_nb; $out =~ /locked/ }, 30),
		"$label: the test holds the checkpoint");
	my $pid = $node->safe_psql('postgres', "SELECT pid FROM reverse_etl.sync_progress WHERE run_id = $run");
	Test::More::ok(
		poll_sql($node,
			"SELECT count(*) > 0 FROM pg_locks WHERE pid = $pid AND NOT granted "
			  . "AND relation = '$checkpoint'::regclass"),
		"$label: acknowledged, the worker's flush waits for the checkpoint");
	kill_run_process($node, $pid, $run, "$label: after the restart the run is recorded as interrupted");
	eval { $holder->kill_kill; };
	return;
}

# kill -9 of process $pid (a sync worker, or a process of its run): the
# server restarts, and run $run must be recorded as interrupted ($name).
sub kill_run_process
{
	my ($node, $pid, $run, $name) = @_;
	kill 'KILL', $pid;
	Test::More::ok(
		poll_sql($node, "SELECT status || ': ' || error FROM reverse_etl.sync_runs WHERE run_id = $run",
			'failed: interrupted by server restart', 60),
		$name);
	return;
}

package ReverseEtlTest::Mock;

use strict;
use warnings;

use HTTP::Tiny;
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Utils;

my @running_mocks;

# Starts test/mock_destination.py on 127.0.0.1 with --port 0 and reads the
# port from its "listening on 127.0.0.1:PORT" line.
sub start
{
	my ($class, %opt) = @_;
	my $name = $opt{name} // 'mock';
	my $script = "$ENV{TESTDIR}/mock_destination.py";
	my $log = "$PostgreSQL::Test::Utils::log_path/${name}_" . $$ . '.log';
	my ($out, $err) = ('', '');
	# A timer (not a timeout): it only bounds the wait for the port line.
	my $timer = IPC::Run::timer(30);
	my $h = IPC::Run::start(
		[ 'python3', $script, '--host', '127.0.0.1', '--port', '0', '--log', $log ],
		'<', \undef, '>', \$out, '2>', \$err, $timer);
	PostgreSQL::Test::Utils::pump_until($h, $timer, \$out,
		qr/listening on 127\.0\.0\.1:(\d+)/)
	  or die "mock destination did not start: $err";
	$out =~ /listening on 127\.0\.0\.1:(\d+)/;
	my $self = bless {
		port => $1,
		handle => $h,
		timer => $timer,
		out => \$out,
		err => \$err,
		http => HTTP::Tiny->new(timeout => 60, keep_alive => 0),
		json => JSON::PP->new->canonical,
	}, $class;
	push @running_mocks, $self;
	return $self;
}

sub port { return $_[0]{port} }

sub url
{
	my ($self, $path) = @_;
	return "http://127.0.0.1:$self->{port}" . ($path // '');
}

sub _request
{
	my ($self, $method, $path, $body) = @_;
	my %args;
	$args{content} = $self->{json}->encode($body) if defined $body;
	my $res = $self->{http}->request($method, $self->url($path), \%args);
	die "mock $method $path: $res->{status} $res->{content}"
	  unless $res->{success} || $res->{status} == 408;
	return $res;
}

# Forgets recordings and configuration.
sub reset { $_[0]->_request('POST', '/_mock/reset') }

# Replaces the answer configuration (see test/README-mock.md).
sub config { $_[0]->_request('POST', '/_mock/config', $_[1]) }

# Recorded requests (array of hashes); $query like 'path_prefix=/a'.
sub requests
{
	my ($self, $query) = @_;
	my $res = $self->_request('GET',
		'/_mock/requests' . (defined $query ? "?$query" : ''));
	return $self->{json}->decode($res->{content});
}

# Blocks until $count requests are recorded (or $timeout s); true on success.
sub wait_for
{
	my ($self, $count, $timeout, $query) = @_;
	$timeout //= 30;
	my $res = $self->_request('GET',
		"/_mock/wait?count=$count&timeout=$timeout" . (defined $query ? "&$query" : ''));
	return $res->{status} == 200;
}

# The records of every recorded request: an array body counts each element.
sub records
{
	my ($self, $query) = @_;
	my @records;
	for my $r (@{ $self->requests($query) })
	{
		my $body = eval { $self->{json}->decode($r->{body}) };
		next unless defined $body;
		push @records, ref $body eq 'ARRAY' ? @$body : ($body);
	}
	return @records;
}

# The distinct values of field $field (default 'id') of every record received.
sub record_ids
{
	my ($self, $field, $query) = @_;
	$field //= 'id';
	my %seen;
	$seen{ $_->{$field} }++ for grep { defined $_->{$field} } $self->records($query);
	return sort keys %seen;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{handle};
	$self->{handle}->signal('TERM');
	eval { $self->{handle}->finish; };
	$self->{handle} = undef;
	@running_mocks = grep { $_ != $self } @running_mocks;
}

END
{
	$_->stop for @running_mocks;
}

1;
