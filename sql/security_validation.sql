-- Validation at create time of what is refused at send time: header names and
-- values, URL placeholders, request timeouts; names of objects; schedule and
-- timeout intervals of any size; what a mapping's filter may read and call,
-- and who may still alter a mapping. Every refusal shows its message and
-- SQLSTATE, and a refused alter leaves the catalog exactly as it was.
-- Runs as a superuser and switches roles with SET ROLE.

-- The three catalogs in one text (as the superuser sees them, unmasked), to
-- show that a refused call changed nothing at all, timestamps included.
CREATE FUNCTION pg_temp.catalog_snapshot() RETURNS text LANGUAGE sql AS $$
    SELECT pg_catalog.concat_ws(' | ',
        (SELECT pg_catalog.string_agg(pg_catalog.row_to_json(m)::text, ',' ORDER BY m.model_id)
           FROM reverse_etl.model_catalog AS m),
        (SELECT pg_catalog.string_agg(pg_catalog.row_to_json(d)::text, ',' ORDER BY d.destination_id)
           FROM reverse_etl.destination_catalog AS d),
        (SELECT pg_catalog.string_agg(pg_catalog.row_to_json(p)::text, ',' ORDER BY p.mapping_id)
           FROM reverse_etl.mapping_catalog AS p))
$$;

SELECT reverse_etl.create_model('val users', 'SELECT id, email, plan FROM public.users', 'id');
SELECT reverse_etl.create_destination('val hook', 'webhook', '{
    "url": "https://hooks.example.com/val",
    "headers": {"X-Api-Key": "hdr-val-s3cr3t", "X-Tabbed": "a\tb"},
    "bearer_token": "tok-val-s3cr3t"
}');
SELECT reverse_etl.create_mapping('val users', 'val hook', 'send', '{"id": "id", "email": "email"}',
    name => 'val mapping');
-- A tab is the one control character a header value may hold.
SELECT jsonb_pretty(settings) AS settings FROM reverse_etl.destinations WHERE name = 'val hook';

--
-- 1. Headers. Extra headers need valid names (RFC 9110 tokens) that the HTTP
-- client does not own, and values without line breaks or other control
-- characters; the same holds for every setting that ends up in a header. The
-- message names the setting and the header, never a secret's value.
--
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"X Bad": "1"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"": "1"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"X-Api-Key:": "1"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"X-A\r\nX-Injected": "1"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"Zähler": "1"}}');
\echo :LAST_ERROR_SQLSTATE
-- Values: CR, LF and other control characters (the value itself is never shown).
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"X-Api-Key": "v-s3cr3t\r\nX-Injected: 1"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"X-Api-Key": "v-s3cr3t\nX-Injected: 1"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"X-Api-Key": "v-s3cr3t\u0001"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"X-Api-Key": "v-s3cr3t\u007f"}}');
\echo :LAST_ERROR_SQLSTATE
-- NUL never gets this far: jsonb refuses \u0000 itself.
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"X-Api-Key": "a\u0000b"}}');
\echo :LAST_ERROR_SQLSTATE
-- Headers the HTTP client writes itself, in any case: framing, Host (the host
-- reverse_etl.allowed_hosts approved), and the connection-specific ones.
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"Content-Length": "0"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"TRANSFER-ENCODING": "chunked"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"host": "internal.example.com"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"Connection": "close"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "headers": {"Upgrade": "h2c"}}');
\echo :LAST_ERROR_SQLSTATE
-- Settings that become the Authorization header (bearer, basic) or Segment's.
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "bearer_token": "tok-s3cr3t\r\nX-Injected: 1"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "basic_username": "svc\nX", "basic_password": "pw"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "basic_username": "svc", "basic_password": "pw-s3cr3t\r"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('val bad', 'segment', '{"write_key": "wk-s3cr3t\n"}');
\echo :LAST_ERROR_SQLSTATE
-- The same through alter_destination, which then changes nothing.
SELECT pg_temp.catalog_snapshot() AS before \gset
SELECT reverse_etl.alter_destination('val hook', settings => '{"headers": {"X Bad": "1"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val hook', settings => '{"headers": {"Host": "internal.example.com"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val hook', settings => '{"headers": {"X-Api-Key": "new-s3cr3t\n"}}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val hook', settings => '{"bearer_token": "tok-s3cr3t\n"}',
    new_name => 'val hook renamed');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.catalog_snapshot() = :'before' AS catalog_unchanged;
-- Send time applies the very same rules: settings that got into the catalog
-- some other way (here a direct UPDATE) are refused with the same message.
UPDATE reverse_etl.destination_catalog
   SET settings = settings || '{"headers": {"Host": "internal.example.com"}}'
 WHERE name = 'val hook';
SELECT reverse_etl.send_test_record('val mapping');
\echo :LAST_ERROR_SQLSTATE
UPDATE reverse_etl.destination_catalog
   SET settings = settings || '{"headers": {}, "bearer_token": "tok-s3cr3t\r\nX-Injected: 1"}'
 WHERE name = 'val hook';
SELECT reverse_etl.send_test_record('val mapping');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val hook',
    settings => '{"headers": {"X-Api-Key": "hdr-val-s3cr3t"}, "bearer_token": "tok-val-s3cr3t"}');
-- No secret of this test leaked into a view.
SELECT count(*) AS leaks FROM reverse_etl.destinations AS d WHERE d::text LIKE '%s3cr3t%';

--
-- 2. The request timeout: an interval from 100 milliseconds to 1 hour, as for
-- reverse_etl.request_timeout; zero, negative and huge ones are refused.
--
SELECT reverse_etl.create_destination('val timeouts', 'webhook',
    '{"url": "https://hooks.example.com/", "timeout": "100 milliseconds"}');
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "1 hour"}');
SELECT pg_temp.catalog_snapshot() AS before \gset
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "0 seconds"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "-5 seconds"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "99 milliseconds"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "1 hour 1 second"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "1000000 years"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "178000000 years"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "-178000000 years"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val timeouts', settings => '{"timeout": "2147483647 days"}');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.catalog_snapshot() = :'before' AS catalog_unchanged;
SELECT reverse_etl.create_destination('val bad', 'webhook',
    '{"url": "https://hooks.example.com/", "timeout": "0"}');
\echo :LAST_ERROR_SQLSTATE
SELECT settings->>'timeout' AS timeout FROM reverse_etl.destinations WHERE name = 'val timeouts';

--
-- 3. URL placeholders: only {{record_id}} and {{fields.NAME}}, written exactly so.
--
SELECT reverse_etl.create_destination('val placeholders', 'webhook',
    '{"url": "https://hooks.example.com/users/{{record_id}}?email={{fields.email}}"}');
SELECT pg_temp.catalog_snapshot() AS before \gset
SELECT reverse_etl.alter_destination('val placeholders',
    settings => '{"url": "https://hooks.example.com/{{settings.bearer_token}}"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val placeholders',
    settings => '{"url": "https://hooks.example.com/{{ record_id }}"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val placeholders',
    settings => '{"url": "https://hooks.example.com/{{RECORD_ID}}"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val placeholders',
    settings => '{"url": "https://hooks.example.com/{{message_id}}"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val placeholders',
    settings => '{"url": "https://hooks.example.com/{{fields.}}"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val placeholders',
    settings => '{"url": "https://hooks.example.com/{{record_id}}/{{record_id"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val placeholders',
    settings => '{"url": "https://hooks.example.com/ünïcode/{{"}');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.catalog_snapshot() = :'before' AS catalog_unchanged;
-- Segment's base URL setting, endpoint, follows the same rule.
SELECT reverse_etl.create_destination('val bad', 'segment',
    '{"write_key": "wk-s3cr3t", "endpoint": "https://api.segment.io/{{settings.write_key}}"}');
\echo :LAST_ERROR_SQLSTATE
SELECT settings->>'url' AS url FROM reverse_etl.destinations WHERE name = 'val placeholders';
SELECT count(*) AS created FROM reverse_etl.destinations WHERE name = 'val bad';

--
-- 4. A filter may read only tables, and call only functions, that the role
-- creating or altering the mapping may use. Parse analysis checks neither, and
-- the planner can fold a subquery or a strict function of a NULL away before
-- the executor would check it, so the check is made on the analyzed filter.
--
CREATE ROLE regress_val_owner;
CREATE TABLE public.regress_val_private (id bigint);
CREATE FUNCTION public.regress_val_secret(bigint) RETURNS boolean
    LANGUAGE sql STRICT IMMUTABLE AS 'SELECT $1 > 0';
CREATE FUNCTION public.regress_val_equal(bigint, bigint) RETURNS boolean
    LANGUAGE sql STRICT IMMUTABLE AS 'SELECT $1 = $2';
REVOKE EXECUTE ON FUNCTION public.regress_val_secret(bigint), public.regress_val_equal(bigint, bigint)
    FROM PUBLIC;
CREATE OPERATOR public.=== (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.regress_val_equal);
-- A view the superuser owns over the private table: readable through the view only.
CREATE VIEW public.regress_val_view AS SELECT id FROM public.regress_val_private;
GRANT USAGE ON SCHEMA reverse_etl TO regress_val_owner;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_val_owner;
GRANT SELECT ON public.users, public.regress_val_view TO regress_val_owner;
-- PostgreSQL itself runs such a statement: the planner drops the subquery.
SET ROLE regress_val_owner;
SELECT 1 AS runs WHERE false AND EXISTS (SELECT 1 FROM public.regress_val_private);
SELECT reverse_etl.create_model('val owned', 'SELECT id, email, plan FROM public.users', 'id');
SELECT reverse_etl.create_destination('val owned hook', 'webhook', '{"url": "https://hooks.example.com/owned"}');
SELECT reverse_etl.create_mapping('val owned', 'val owned hook', 'send', '{"id": "id"}', name => 'val owned mapping',
    filter => 'EXISTS (SELECT 1 FROM public.regress_val_private AS p WHERE p.id = id)');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('val owned', 'val owned hook', 'send', '{"id": "id"}', name => 'val owned mapping',
    filter => 'false AND EXISTS (SELECT 1 FROM public.regress_val_private)');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('val owned', 'val owned hook', 'send', '{"id": "id"}', name => 'val owned mapping',
    filter => 'plan IN (SELECT p.id::text FROM (SELECT * FROM public.regress_val_private) AS p)');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('val owned', 'val owned hook', 'send', '{"id": "id"}', name => 'val owned mapping',
    filter => 'public.regress_val_secret(id)');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('val owned', 'val owned hook', 'send', '{"id": "id"}', name => 'val owned mapping',
    filter => 'id OPERATOR(public.===) 1');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('val owned', 'val owned hook', 'send', '{"id": "id"}', name => 'val owned mapping',
    filter => 'EXISTS (SELECT 1 FROM public.users AS u WHERE public.regress_val_secret(u.id))');
\echo :LAST_ERROR_SQLSTATE
-- Through the view it may read: the view's owner reads the table.
SELECT reverse_etl.create_mapping('val owned', 'val owned hook', 'send', '{"id": "id"}', name => 'val owned mapping',
    filter => 'id NOT IN (SELECT v.id FROM public.regress_val_view AS v)');
RESET ROLE;
SELECT pg_temp.catalog_snapshot() AS before \gset
SET ROLE regress_val_owner;
SELECT reverse_etl.alter_mapping('val owned mapping', filter => 'NOT EXISTS (SELECT 1 FROM public.regress_val_private)');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('val owned mapping', filter => 'public.regress_val_secret(id)');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT pg_temp.catalog_snapshot() = :'before' AS catalog_unchanged;
-- Granted, the same filters are accepted.
GRANT SELECT ON public.regress_val_private TO regress_val_owner;
GRANT EXECUTE ON FUNCTION public.regress_val_secret(bigint) TO regress_val_owner;
SET ROLE regress_val_owner;
SELECT reverse_etl.alter_mapping('val owned mapping', filter => 'NOT EXISTS (SELECT 1 FROM public.regress_val_private)');
SELECT reverse_etl.alter_mapping('val owned mapping', filter => 'public.regress_val_secret(id)');
SELECT name, filter FROM reverse_etl.mappings WHERE name = 'val owned mapping';
RESET ROLE;

--
-- 5. alter_mapping checks again that its caller can use the mapping's model and
-- destination: a member who lost access to either keeps the mapping (and may
-- drop it) but can no longer change what it sends, as duplicate_mapping and
-- create_mapping already refused.
--
CREATE ROLE regress_val_dest;
CREATE ROLE regress_val_member IN ROLE regress_val_owner, regress_val_dest;
GRANT USAGE ON SCHEMA reverse_etl TO regress_val_dest, regress_val_member;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA reverse_etl TO regress_val_dest, regress_val_member;
SET ROLE regress_val_dest;
SELECT reverse_etl.create_destination('val dest hook', 'webhook', '{"url": "https://hooks.example.com/dest"}');
RESET ROLE;
SET ROLE regress_val_member;
SELECT reverse_etl.create_mapping('val owned', 'val dest hook', 'send', '{"id": "id"}', name => 'val member mapping');
SELECT reverse_etl.alter_mapping('val member mapping', filter => 'id > 1');
RESET ROLE;
-- Without the destination's owner:
REVOKE regress_val_dest FROM regress_val_member;
SELECT pg_temp.catalog_snapshot() AS before \gset
SET ROLE regress_val_member;
SELECT name, owner FROM reverse_etl.mappings ORDER BY name;
SELECT reverse_etl.alter_mapping('val member mapping', filter => 'true');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('val member mapping', new_name => 'val member renamed');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.duplicate_mapping('val member mapping', 'val member copy');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT pg_temp.catalog_snapshot() = :'before' AS catalog_unchanged;
-- Without the model's owner:
GRANT regress_val_dest TO regress_val_member;
REVOKE regress_val_owner FROM regress_val_member;
SET ROLE regress_val_member;
SELECT reverse_etl.alter_mapping('val member mapping', fields => '{"email": "email"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('val member mapping', schedule => '1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.duplicate_mapping('val member mapping', 'val member copy');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT pg_temp.catalog_snapshot() = :'before' AS catalog_unchanged;
SELECT name, filter, schedule FROM reverse_etl.mappings WHERE name = 'val member mapping';
-- Back in the role, it may alter again; dropping never needed the ends.
GRANT regress_val_owner TO regress_val_member;
SET ROLE regress_val_member;
SELECT reverse_etl.alter_mapping('val member mapping', filter => 'id > 2');
RESET ROLE;
REVOKE regress_val_owner FROM regress_val_member;
SET ROLE regress_val_member;
SELECT reverse_etl.drop_mapping('val member mapping');
RESET ROLE;

--
-- 6. Names: no control characters, no invisible or direction-changing format
-- characters, no whitespace at either end; letters of any script are fine.
-- The message gives the character as U+XXXX and its position in characters.
--
SELECT reverse_etl.create_model(E'val\nmodel', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val\tmodel', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val\u0001model', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val model\u007F', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val\u0085model', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val\u2028model', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val\u200Bmodel', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'\u200Eval model', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val \u202Eledom', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val \u2067model\u2069', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'\uFEFFval model', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val\u00ADmodel', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
-- Positions count characters, not bytes.
SELECT reverse_etl.create_model(E'Ωμέγα\u200D', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
-- Whitespace at either end, blank and empty names.
SELECT reverse_etl.create_model(' val model', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('val model ', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'val model\u00A0', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'\u3000val model', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('   ', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(E'\u00A0\u3000', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('', 'SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
-- Destinations and mappings, created or renamed, follow the same rules.
SELECT reverse_etl.create_destination(E'val\rhook', 'webhook', '{"url": "https://hooks.example.com/"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('val users', 'val hook', 'send', '{"id": "id"}', name => E'val\u202Amapping');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.catalog_snapshot() AS before \gset
SELECT reverse_etl.alter_model('val users', new_name => E'val users\n');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val hook', new_name => E'val\u2066hook');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('val hook', settings => '{"batch_size": 2}', new_name => ' val hook');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('val mapping', new_name => E'val\u00ADmapping', filter => 'id > 1');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.duplicate_mapping('val mapping', E'val mapping\u200F');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.catalog_snapshot() = :'before' AS catalog_unchanged;
-- Letters of any script, inner spaces, combining accents, symbols: all fine.
SELECT reverse_etl.create_model('Πελάτες val', 'SELECT 1 AS id', 'id');
SELECT reverse_etl.create_model('顧客 val', 'SELECT 1 AS id', 'id');
SELECT reverse_etl.create_model('العملاء val', 'SELECT 1 AS id', 'id');
SELECT reverse_etl.create_model(E'cafe\u0301 val  model', 'SELECT 1 AS id', 'id');
SELECT reverse_etl.alter_model('顧客 val', new_name => '顧客リスト val ✓');
SELECT reverse_etl.create_destination('Webhook für Kunden val', 'webhook', '{"url": "https://hooks.example.com/"}');
SELECT reverse_etl.create_mapping('Πελάτες val', 'Webhook für Kunden val', 'send', '{"id": "id"}',
    name => 'إرسال val');
SELECT name, length(name) AS characters FROM reverse_etl.models WHERE name LIKE '% val%'
 ORDER BY name COLLATE "C";
SELECT name FROM reverse_etl.mappings WHERE name LIKE '% val' ORDER BY name COLLATE "C";

--
-- 7. Intervals of any size are computed without overflow: schedules run from
-- 1 minute to 1000 years apart (months of 30 days, as interval comparison
-- counts them), and the detail never shows an overflowed number.
--
SELECT count(*) AS runs FROM reverse_etl.next_run_times('1000 years', 'UTC', '2026-01-01 00:00+00', 2);
SELECT * FROM reverse_etl.next_run_times('1000 years 1 second', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('1000000 years', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('178000000 years', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('2147483647 days 2562047788 hours', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('-178000000 years', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('-2147483648 days', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.catalog_snapshot() AS before \gset
SELECT reverse_etl.alter_mapping('val mapping', schedule => '1000000 years');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('val users', 'val hook', 'send', '{"id": "id"}', name => 'val forever',
    schedule => '178000000 years');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_temp.catalog_snapshot() = :'before' AS catalog_unchanged;

-- Clean up: the objects, then what the roles own or were granted, then the roles.
SELECT name, reverse_etl.drop_model(name, cascade => true) FROM reverse_etl.models
 WHERE name LIKE 'val %' OR name LIKE '% val%' ORDER BY name COLLATE "C";
SELECT name, reverse_etl.drop_destination(name) FROM reverse_etl.destinations
 WHERE name LIKE 'val %' OR name LIKE '% val' ORDER BY name COLLATE "C";
SELECT count(*) AS val_rows_left
  FROM (SELECT name FROM reverse_etl.model_catalog UNION ALL
        SELECT name FROM reverse_etl.destination_catalog UNION ALL
        SELECT name FROM reverse_etl.mapping_catalog) AS o
 WHERE name LIKE 'val %' OR name LIKE '% val' OR name LIKE '% val %';
DROP VIEW public.regress_val_view;
DROP OPERATOR public.=== (bigint, bigint);
DROP FUNCTION public.regress_val_secret(bigint), public.regress_val_equal(bigint, bigint);
DROP TABLE public.regress_val_private;
DROP OWNED BY regress_val_owner, regress_val_dest, regress_val_member;
DROP ROLE regress_val_member, regress_val_dest, regress_val_owner;
