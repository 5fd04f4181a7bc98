-- Server-side request forgery: reverse_etl.blocked_networks keeps
-- destinations away from the server itself (loopback), link-local networks
-- and cloud metadata addresses, whatever name leads there, unless
-- reverse_etl.allowed_hosts names the host exactly. The check is made on the
-- address libcurl is about to connect to, after DNS resolution.
-- Needs sync_setup (mock helpers); the mock listens on 127.0.0.1, which
-- test/regress.conf names in allowed_hosts. Every error shows its SQLSTATE.
SET client_min_messages = warning;

-- 1. The defaults: loopback, the unspecified addresses, link-local, cloud
-- metadata; superusers only.
SELECT name, boot_val, context FROM pg_catalog.pg_settings
 WHERE name IN ('reverse_etl.allowed_hosts', 'reverse_etl.blocked_networks') ORDER BY name;
SHOW reverse_etl.blocked_networks;

CREATE TABLE public.ssrf_items (id int PRIMARY KEY, name text);
INSERT INTO public.ssrf_items VALUES (1, 'Ann'), (2, 'Bea');
SELECT reverse_etl.create_model(name => 'ssrf items', query => 'SELECT id, name FROM public.ssrf_items',
    primary_key => 'id');

-- A webhook destination and its mapping, to the mock's port on `host`, with
-- a token in the query string that no message may show.
CREATE FUNCTION ssrf_setup(name text, host text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reverse_etl.create_destination(name => name, type => 'webhook', enabled => true,
        settings => jsonb_build_object('url', 'http://' || host || ':' || current_setting('regress.mock_port') ||
                                              '/ssrf?token=tok-s3cr3t'));
    PERFORM reverse_etl.create_mapping(model => 'ssrf items', destination => name, action => 'send',
        fields => '{"id": "id", "name": "name"}', name => name);
END $$;

-- Runs a mapping; its run row without ids and times. The error of a
-- refused connection names the host and the address, never the token.
-- (A refused run checkpoints nothing: the next run selects every record.)
CREATE FUNCTION ssrf_sync(mapping text)
RETURNS TABLE(status text, selected bigint, succeeded bigint, failed bigint, requests bigint, error text,
              shows_token boolean)
LANGUAGE sql AS $$
    SELECT r.status, r.records_selected, r.records_succeeded, r.records_failed, r.requests_sent,
           regexp_replace(r.error, '\(libcurl: .+\)', '(libcurl: ...)'), coalesce(r.error LIKE '%s3cr3t%', false)
      FROM reverse_etl.sync(mapping) AS r
$$;

-- A name such as localhost resolves to 127.0.0.1, ::1 or both, depending on
-- the machine: messages about it show <loopback> (and its network).
CREATE FUNCTION ssrf_loopback(message text) RETURNS text
LANGUAGE sql AS $$
    SELECT regexp_replace(regexp_replace(message, '127\.0\.0\.0/8|::1/128', '<loopback network>', 'g'),
                          '127\.0\.0\.1|::1(?![0-9a-f:])', '<loopback>', 'g')
$$;

-- send_test_record's outcome: the status the destination answered, or the
-- error with its SQLSTATE, detail and hint.
CREATE FUNCTION ssrf_test_record(mapping text, mask_loopback boolean DEFAULT false)
RETURNS TABLE(state text, message text, detail text, hint text)
LANGUAGE plpgsql AS $$
DECLARE
    answer jsonb;
BEGIN
    answer := reverse_etl.send_test_record(mapping);
    RETURN QUERY SELECT NULL::text, 'sent: HTTP ' || (answer #>> '{response,status}'), NULL::text, NULL::text;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
        detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    IF mask_loopback THEN
        message := ssrf_loopback(message);
        detail := ssrf_loopback(detail);
    END IF;
    RETURN QUERY SELECT state, message, nullif(detail, ''), nullif(hint, '');
END $$;

SELECT ssrf_setup('ssrf loopback', '127.0.0.1');
SELECT ssrf_setup('ssrf localhost', 'localhost');
SELECT ssrf_setup('ssrf mapped', '[::ffff:127.0.0.1]');
SELECT ssrf_setup('ssrf metadata', '169.254.169.254');

-- 2. allowed_hosts = '*' (the default) lets any host name through, but not
-- to a loopback address: send_test_record fails with 42501, naming the
-- host, the address and its network.
SET reverse_etl.allowed_hosts = '*';
SELECT mock_reset();
SELECT reverse_etl.send_test_record('ssrf loopback');
\echo :LAST_ERROR_SQLSTATE
-- A sync fails with that message, nothing sent and no record in error: the
-- records go in a later run, once the settings allow the destination. A
-- refusal is never retried: with 100 attempts and a backoff of up to 1 s
-- doubling to a minute, retries would run into the statement timeout.
SET reverse_etl.max_request_attempts = 100;
SET statement_timeout = '30s';
SELECT * FROM ssrf_sync('ssrf loopback');
RESET statement_timeout;
RESET reverse_etl.max_request_attempts;
SELECT count(*) AS record_errors FROM reverse_etl.record_errors WHERE mapping = 'ssrf loopback';
SELECT count(*) AS requests FROM mock_requests();

-- 3. A name that resolves to loopback (the DNS rebinding case: the name is
-- allowed, its address is not).
SELECT * FROM ssrf_test_record('ssrf localhost', mask_loopback => true);
SELECT status, ssrf_loopback(error) AS error FROM ssrf_sync('ssrf localhost');

-- 4. An IPv4-mapped IPv6 literal reaches 127.0.0.1 through an IPv6 socket:
-- it is matched as the IPv4 address it maps.
SELECT reverse_etl.send_test_record('ssrf mapped');
\echo :LAST_ERROR_SQLSTATE
SELECT status, error FROM ssrf_sync('ssrf mapped');

-- 5. The cloud metadata address is refused before any connection attempt
-- (a connection would fail differently, or time out, here).
SET reverse_etl.request_timeout = '2s';
SELECT reverse_etl.send_test_record('ssrf metadata');
\echo :LAST_ERROR_SQLSTATE
SELECT status, requests, error FROM ssrf_sync('ssrf metadata');
RESET reverse_etl.request_timeout;
SELECT count(*) AS requests FROM mock_requests();

-- 6. A host named exactly in allowed_hosts is reached at a blocked address:
-- the mock gets the test record, then a run delivers both records.
SET reverse_etl.allowed_hosts = '127.0.0.1';
SELECT * FROM ssrf_test_record('ssrf loopback');
SELECT * FROM ssrf_sync('ssrf loopback');
SELECT count(*) AS requests FROM mock_requests();
-- With its port too. A host name named exactly does not lift the block:
-- whoever controls its DNS could point it anywhere.
SELECT set_config('reverse_etl.allowed_hosts', 'api.example.com, 127.0.0.1:' ||
                  current_setting('regress.mock_port'), false) IS NOT NULL AS set;
SELECT * FROM ssrf_test_record('ssrf loopback');
SET reverse_etl.allowed_hosts = 'localhost';
SELECT * FROM ssrf_test_record('ssrf localhost', mask_loopback => true);
-- Patterns do not lift the block, even one that matches only this host.
SET reverse_etl.allowed_hosts = '*.0.1';
SELECT * FROM ssrf_test_record('ssrf loopback');
SET reverse_etl.allowed_hosts = '*, *.0.0.1, *.localhost';
SELECT * FROM ssrf_test_record('ssrf loopback');
SELECT * FROM ssrf_test_record('ssrf localhost', mask_loopback => true);

-- Lists of any length reach the sync worker whole (sync() hands them over
-- in its shared memory): the one entry that allows the mock comes last,
-- past the first kilobyte; then the one entry that blocks it.
SELECT set_config('reverse_etl.allowed_hosts',
                  (SELECT string_agg('host' || i || '.example.com', ', ') FROM generate_series(1, 80) AS i) ||
                  ', 127.0.0.1:' || current_setting('regress.mock_port'), false) IS NOT NULL AS set;
SELECT length(current_setting('reverse_etl.allowed_hosts')) > 1024 AS longer_than_a_kilobyte;
SELECT reverse_etl.reset_mapping('ssrf loopback');
SELECT status, succeeded, error FROM ssrf_sync('ssrf loopback');
SET reverse_etl.allowed_hosts = '*';
SELECT set_config('reverse_etl.blocked_networks',
                  (SELECT string_agg('10.' || i || '.0.0/16', ', ') FROM generate_series(1, 100) AS i) ||
                  ', 127.0.0.0/8', false) IS NOT NULL AS set;
SELECT length(current_setting('reverse_etl.blocked_networks')) > 1024 AS longer_than_a_kilobyte;
SELECT reverse_etl.reset_mapping('ssrf loopback');
SELECT status, succeeded, requests, error FROM ssrf_sync('ssrf loopback');
RESET reverse_etl.blocked_networks;

-- 7. blocked_networks = '' blocks nothing; a list replaces the default
-- entirely. The table shows which lists stop a request to 127.0.0.1 (with
-- allowed_hosts = '*'): prefixes at byte and bit boundaries, a bare address,
-- IPv4 networks written as IPv4-mapped IPv6 networks, and ::/0, which
-- contains the IPv4-mapped addresses and so every IPv4 address too.
SET reverse_etl.allowed_hosts = '*';
SET reverse_etl.blocked_networks = '';
SELECT * FROM ssrf_test_record('ssrf loopback');
SELECT reverse_etl.reset_mapping('ssrf loopback');
SELECT status, succeeded FROM ssrf_sync('ssrf loopback');
RESET reverse_etl.blocked_networks;
CREATE FUNCTION ssrf_blocked_by(networks text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('reverse_etl.blocked_networks', networks, true);
    RETURN (SELECT coalesce(t.detail, t.message) FROM ssrf_test_record('ssrf loopback') AS t);
END $$;
SELECT networks, ssrf_blocked_by(networks) AS outcome
  FROM (VALUES ('10.0.0.0/8, 192.168.0.0/16'), ('127.0.0.1'), ('127.0.0.1/32'), ('127.0.0.0/32'),
               ('127.0.0.0/31'), ('127.0.0.0/30'), ('126.0.0.0/8'), ('96.0.0.0/3'), ('127.0.0.0/9'),
               ('::ffff:127.0.0.0/104'), ('::ffff:127.0.0.0/127'), ('::ffff:0:0/96'), ('::/0'),
               ('0.0.0.0/0'), ('::1/128, fe80::/10'), ('  127.0.0.0/8  ,, ')) AS v(networks);
SHOW reverse_etl.blocked_networks;

-- 8. sync() runs with the caller's blocked_networks and allowed_hosts, ""
-- included (sections 2 and 7 showed both ways); an empty allowed_hosts
-- allows no host at all.
SET reverse_etl.allowed_hosts = '';
SELECT reverse_etl.reset_mapping('ssrf loopback');
SELECT status, error FROM ssrf_sync('ssrf loopback');
RESET reverse_etl.allowed_hosts;
SHOW reverse_etl.allowed_hosts;

-- 9. Bad values are refused when set (SET, ALTER SYSTEM, postgresql.conf):
-- 22023 with the entry, the reason and the expected form.
SET reverse_etl.blocked_networks = '127.0.0.0/8, 300.1.2.3/8';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = 'localhost';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = '10.0.0.1/8';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = 'fe80::1/10';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = '10.0.0.0/33';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = '::/129';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = '10.0.0.0/';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = '10.0.0.0/8/8';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = '[::1]/128';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = 'fe80::1%eth0';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.blocked_networks = '127.1/16';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.allowed_hosts = '127.0.0.1, bad host!';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.allowed_hosts = 'api.example.com:99999';
\echo :LAST_ERROR_SQLSTATE
ALTER SYSTEM SET reverse_etl.blocked_networks = '10.0.0.0/33';
\echo :LAST_ERROR_SQLSTATE
-- The settings kept their values.
SHOW reverse_etl.allowed_hosts;
SHOW reverse_etl.blocked_networks;
-- Only superusers set them.
CREATE ROLE ssrf_user;
SET ROLE ssrf_user;
SET reverse_etl.blocked_networks = '';
\echo :LAST_ERROR_SQLSTATE
SET reverse_etl.allowed_hosts = '*';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP ROLE ssrf_user;

SELECT reverse_etl.drop_destination(name, cascade => true)
  FROM (VALUES ('ssrf loopback'), ('ssrf localhost'), ('ssrf mapped'), ('ssrf metadata')) AS v(name);
SELECT reverse_etl.drop_model('ssrf items');
DROP TABLE public.ssrf_items;
DROP FUNCTION ssrf_setup(text, text), ssrf_sync(text), ssrf_loopback(text), ssrf_test_record(text, boolean),
    ssrf_blocked_by(text);
