# The launcher starts with the server, is visible in pg_stat_activity, and
# runs an interval mapping by itself.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('launcher');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'reverse_etl'
reverse_etl.naptime = '200ms'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION reverse_etl');
ok($node->poll_query_until('postgres',
    "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher'"),
   'launcher is running');
$node->stop;
done_testing();
