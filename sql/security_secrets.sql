-- Secrets in every form they travel in (SPEC sections 3, 5 and 9): a
-- destination that echoes the request back (the mock's "echo_request"
-- answer, see test/README-mock.md) must not get a secret into what the
-- product keeps or shows: send_test_record's output, sync_runs.error (which
-- the run's last NOTICE repeats) and record_errors (error and payload).
-- Secrets travel raw (header values), as the base64 of a Basic auth pair
-- (webhook user:password, Segment's write_key:), and come back
-- percent-encoded or JSON-escaped; the HMAC signing key never travels, only
-- the signature, which is not secret and stays visible.
-- Needs sync_setup (mock helpers). Run ids are never printed.
SET client_min_messages = warning;
-- A 401 is not retried anyway; a 422 is not retried either.
SET reverse_etl.max_request_attempts = 1;

CREATE TABLE public.ss_people (id int PRIMARY KEY, name text);
INSERT INTO public.ss_people VALUES (1, 'Ann');
SELECT reverse_etl.create_model('ss people', 'SELECT id, name FROM public.ss_people', 'id');

-- Every secret, with characters that percent-encoding and JSON escape each in
-- their own way: @ " / \ é, a space and a +.
CREATE TABLE public.ss_secrets (destination text, setting text, secret text, basic_pair text);
INSERT INTO public.ss_secrets VALUES
    ('ss bearer', 'bearer_token', 'bearer-p@ss"w/rd\é 1+1', NULL),
    ('ss bearer', 'headers', 'header-p@ss"w/rd\é 1+1', NULL),
    ('ss bearer', 'signing_secret', 'signing-p@ss"w/rd\é 1+1', NULL),
    ('ss basic', 'basic_password', 'basic-p@ss"w/rd\é 1+1', 'alice:basic-p@ss"w/rd\é 1+1'),
    ('ss segment', 'write_key', 'wk-p@ss"w/rd\é 1+1', 'wk-p@ss"w/rd\é 1+1:');

-- RFC 3986 percent-encoding of the UTF-8 bytes (upper-case hex); with
-- space_plus, a space is '+' as in form encoding.
CREATE FUNCTION public.ss_percent(t text, space_plus boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122
                                OR b IN (45, 46, 95, 126) THEN chr(b)
                           WHEN b = 32 AND space_plus THEN '+'
                           ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END, '' ORDER BY i)
      FROM (SELECT i, get_byte(convert_to(t, 'UTF8'), i) AS b
              FROM generate_series(0, octet_length(convert_to(t, 'UTF8')) - 1) AS i) AS bytes
$$;

-- The text inside a JSON string: as PostgreSQL writes it (non-ASCII kept),
-- or ASCII only (non-ASCII as \u00e9, as Python writes it).
CREATE FUNCTION public.ss_json(t text, ascii_only boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN ascii_only
                THEN (SELECT string_agg(CASE WHEN ascii(c) > 127 THEN '\u' || lpad(to_hex(ascii(c)), 4, '0') ELSE c END,
                                        '' ORDER BY n)
                        FROM regexp_split_to_table(j, '') WITH ORDINALITY AS chars(c, n))
                ELSE j END
      FROM (SELECT substr(to_json(t)::text, 2, length(to_json(t)::text) - 2) AS j) AS escaped
$$;

-- Every form of every secret that must never show, computed here
-- independently of the product. A Basic pair's base64 is looked for without
-- its padding, which also finds it with.
CREATE VIEW public.ss_forms AS
    SELECT s.destination, s.setting, f.form, f.encoded
      FROM public.ss_secrets AS s,
           LATERAL (VALUES ('raw', s.secret),
                           ('json', public.ss_json(s.secret)),
                           ('json ascii', public.ss_json(s.secret, true)),
                           ('percent', public.ss_percent(s.secret)),
                           ('form', public.ss_percent(s.secret, true)),
                           ('base64 pair', rtrim(encode(convert_to(s.basic_pair, 'UTF8'), 'base64'), '='))
                   ) AS f(form, encoded)
     WHERE f.encoded IS NOT NULL;
SELECT setting, form, encoded FROM public.ss_forms ORDER BY destination, setting, form;

SELECT reverse_etl.create_destination('ss bearer', 'webhook', jsonb_build_object(
    'url', mock_url('/ss'), 'bearer_token', 'bearer-p@ss"w/rd\é 1+1',
    'headers', jsonb_build_object('X-Api-Key', 'header-p@ss"w/rd\é 1+1'),
    'signing_secret', 'signing-p@ss"w/rd\é 1+1'), enabled => true);
SELECT reverse_etl.create_destination('ss basic', 'webhook', jsonb_build_object(
    'url', mock_url('/ss'), 'basic_username', 'alice', 'basic_password', 'basic-p@ss"w/rd\é 1+1'),
    enabled => true);
SELECT reverse_etl.create_destination('ss segment', 'segment', jsonb_build_object(
    'endpoint', mock_url(), 'write_key', 'wk-p@ss"w/rd\é 1+1'), enabled => true);
SELECT reverse_etl.create_mapping('ss people', 'ss bearer', 'send', '{"id": "id", "name": "name"}', name => 'ss bearer');
SELECT reverse_etl.create_mapping('ss people', 'ss basic', 'send', '{"id": "id", "name": "name"}', name => 'ss basic');
SELECT reverse_etl.create_mapping('ss people', 'ss segment', 'identify',
    '{"userId": "id", "traits": {"object": {"name": "name"}}}', name => 'ss segment');

-- The requests carried the real secrets (raw, and the Basic pairs as base64):
-- there is something to mask.
SELECT mock_reset();
SELECT m, reverse_etl.send_test_record(m)->'response'->'status' AS status
  FROM unnest(ARRAY['ss bearer', 'ss basic', 'ss segment']) AS m;
SELECT r->>'path' AS path,
       r->'headers'->>'authorization' = 'Bearer bearer-p@ss"w/rd\é 1+1' AS bearer_sent,
       r->'headers'->>'x-api-key' = 'header-p@ss"w/rd\é 1+1' AS header_sent,
       r->'headers'->>'authorization' = 'Basic ' || encode(convert_to('alice:basic-p@ss"w/rd\é 1+1', 'UTF8'), 'base64')
           AS basic_sent,
       r->'headers'->>'authorization' = 'Basic ' || encode(convert_to('wk-p@ss"w/rd\é 1+1:', 'UTF8'), 'base64')
           AS write_key_sent,
       r->'headers'->>'x-signature' LIKE 'sha256=%' AS signed
  FROM mock_requests() AS r ORDER BY (r->>'seq')::int;

-- Each destination, with the mock answering 401 and echoing the request in
-- each format: what send_test_record returns, the run's error and the
-- record's error, as the user sees them.
-- Temporary: sync() refuses to run after its transaction wrote to a shared table.
CREATE TEMP TABLE ss_seen (destination text, echo text, place text, shown text);
CREATE FUNCTION public.ss_try(mapping text, echo text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mock_reset();
    PERFORM mock_config(jsonb_build_object('default', jsonb_build_object('status', 401, 'echo_request', echo)));
    INSERT INTO pg_temp.ss_seen
        SELECT ss_try.mapping, ss_try.echo, 'send_test_record', reverse_etl.send_test_record(ss_try.mapping)::text;
    PERFORM reverse_etl.sync(ss_try.mapping);
    INSERT INTO pg_temp.ss_seen
        SELECT ss_try.mapping, ss_try.echo, 'sync_runs.error', r.error
          FROM reverse_etl.sync_runs AS r WHERE r.mapping = ss_try.mapping ORDER BY r.run_id DESC LIMIT 1;
    INSERT INTO pg_temp.ss_seen
        SELECT ss_try.mapping, ss_try.echo, 'record_errors.error', e.error
          FROM reverse_etl.record_errors AS e WHERE e.mapping = ss_try.mapping;
END $$;
SELECT public.ss_try(m, e)
  FROM unnest(ARRAY['ss bearer', 'ss basic', 'ss segment']) AS m,
       unnest(ARRAY['json', 'json_utf8', 'form', 'text']) AS e;

-- Every place was seen with its masks (each "********" hides one secret) ...
SELECT destination, echo, place,
       (length(shown) - length(replace(shown, '********', ''))) / 8 AS masks
  FROM pg_temp.ss_seen ORDER BY 1, 2, 3;
-- ... and no form of any secret shows anywhere: no rows.
SELECT s.destination, s.echo, s.place, f.setting, f.form
  FROM pg_temp.ss_seen AS s JOIN public.ss_forms AS f ON strpos(s.shown, f.encoded) > 0;

-- What the user sees (the mock's port as PORT; libcurl's Accept-Encoding,
-- which varies with its build, left out). send_test_record: the request's
-- credential headers are masked whole; the headers echoed in the response
-- show where each secret was. The signature stays visible.
SELECT jsonb_pretty(replace(shown, current_setting('regress.mock_port'), 'PORT')::jsonb - 'record_id'
                    #- '{response,duration_ms}' #- '{response,headers,Date}'
                    #- '{response,headers,Content-Length}' #- '{response,body,headers,accept-encoding}')
           AS send_test_record
  FROM pg_temp.ss_seen WHERE destination = 'ss bearer' AND echo = 'json' AND place = 'send_test_record';
-- Everywhere, the echoed credential headers as each format wrote them.
SELECT destination, echo, place,
       (SELECT string_agg(m[1], ' | ')
          FROM regexp_matches(shown, '((authorization|x-api-key|x-signature)(": "|=|: )[^"&\\\n]*)', 'g') AS m)
           AS echoed
  FROM pg_temp.ss_seen ORDER BY 1, 2, 3;
-- The whole of a run's error and a record's error in each format, for one
-- destination.
SELECT echo, place, regexp_replace(replace(shown, current_setting('regress.mock_port'), 'PORT'),
                                   'accept-encoding(": "|=|: )[^"&\n]*', 'accept-encoding...') AS shown
  FROM pg_temp.ss_seen WHERE destination = 'ss bearer' AND place <> 'send_test_record' ORDER BY 1, 2;

-- A secret the destination echoes right where the error text is cut (the
-- first 500 bytes of the body) is masked whole, not left half shown:
-- percent-encoded, it starts at byte 498 of the body.
SELECT mock_reset();
SELECT mock_config(jsonb_build_object('default', jsonb_build_object('status', 422,
    'body', repeat('x', 497) || ' ' || public.ss_percent('bearer-p@ss"w/rd\é 1+1') || ' and more')));
SELECT status, records_failed FROM reverse_etl.sync('ss bearer');
SELECT kind, http_status, octet_length(error) AS bytes, right(error, 12) AS error_ends
  FROM reverse_etl.record_errors WHERE mapping = 'ss bearer';

-- A record whose data holds a secret (a column mapped by mistake): the
-- destination gets the data, but record_errors.payload and send_test_record
-- show it masked.
SELECT reverse_etl.create_model('ss leaky', $$SELECT 1 AS id, 'bearer-p@ss"w/rd\é 1+1' AS name$$, 'id');
SELECT reverse_etl.create_mapping('ss leaky', 'ss bearer', 'send', '{"id": "id", "name": "name"}', name => 'ss leaky');
SELECT mock_reset();
SELECT mock_config('{"default": {"status": 422, "body": "rejected"}}');
SELECT status, records_failed FROM reverse_etl.sync('ss leaky');
SELECT kind, error, payload FROM reverse_etl.record_errors WHERE mapping = 'ss leaky';
SELECT (r->>'body')::jsonb->>'name' = 'bearer-p@ss"w/rd\é 1+1' AS data_sent FROM mock_requests() AS r;
SELECT reverse_etl.send_test_record('ss leaky')->'request'->'body' AS shown_body;

-- Clean up.
SELECT mock_reset();
SELECT reverse_etl.drop_model(m, cascade => true) FROM unnest(ARRAY['ss people', 'ss leaky']) AS m;
SELECT reverse_etl.drop_destination(d) FROM unnest(ARRAY['ss bearer', 'ss basic', 'ss segment']) AS d;
DROP VIEW public.ss_forms;
DROP FUNCTION public.ss_try(text, text), public.ss_percent(text, boolean), public.ss_json(text, boolean);
DROP TABLE pg_temp.ss_seen, public.ss_secrets, public.ss_people;
RESET reverse_etl.max_request_attempts;
RESET client_min_messages;
