-- Google Sheets (issue 15): rows of a sheet against the Google Sheets mock
-- (test/mocks/google_sheets.py), authenticated with a service account's JSON
-- key: a JWT signed with its RSA key (RS256, OpenSSL) is exchanged at the
-- key's token_uri for an access token, which the mock grants only after
-- verifying the signature with the public key (openssl dgst -verify). Each
-- record is a row: column A the record id, then the mapped fields. The row of
-- each record id is kept per mapping (reverse_etl_state.sheet_rows_<id>),
-- reserved and committed before a request names it: updates rewrite their
-- row, deletions clear it, and nothing ever appends.
SET client_min_messages = warning;
SET reverse_etl.max_concurrent_requests = 1;

SELECT action, name, sync_modes, default_sync_mode, max_batch_records
  FROM reverse_etl.destination_actions WHERE type = 'google_sheets' ORDER BY action;

-- A throwaway RSA key made for this test: the PEM private key, then the public key.
CREATE TEMP TABLE gs_pem (n serial, line text);
COPY gs_pem (line) FROM PROGRAM 'k=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null); printf "%s\n" "$k"; printf "%s\n" "$k" | openssl pkey -pubout'
    WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02');
SELECT string_agg(line, E'\n' ORDER BY n) || E'\n' AS private_pem FROM gs_pem
 WHERE n <= (SELECT n FROM gs_pem WHERE line = '-----END PRIVATE KEY-----') \gset
SELECT string_agg(line, E'\n' ORDER BY n) || E'\n' AS public_pem FROM gs_pem
 WHERE n > (SELECT n FROM gs_pem WHERE line = '-----END PRIVATE KEY-----') \gset
SELECT jsonb_build_object('type', 'service_account', 'project_id', 'retl-test',
                          'private_key_id', 'k1', 'private_key', :'private_pem',
                          'client_email', 'sync@retl-test.iam.gserviceaccount.com',
                          'token_uri', public.mock_url('/token'))::text AS sa_key \gset

CREATE TABLE public.gs_people (id int PRIMARY KEY, name text, age int, tags jsonb);
INSERT INTO public.gs_people VALUES (1, 'Ada', 36, '["math"]'), (2, 'Bob', NULL, NULL), (3, 'Cy', 41, '{"a": 1}');
SELECT reverse_etl.create_model('gs_people', 'SELECT * FROM public.gs_people', 'id');
SELECT public.mock_reset();
SELECT public.mock_config(jsonb_build_object('vendor', jsonb_build_object('type', 'google_sheets',
    'public_key', :'public_pem', 'client_email', 'sync@retl-test.iam.gserviceaccount.com')));

------------------------------------------------------------------------------
-- Settings: exactly one credential, and a key that can sign
------------------------------------------------------------------------------
SELECT reverse_etl.create_destination('gs', 'google_sheets',
    jsonb_build_object('endpoint', mock_url(), 'spreadsheet_id', 'sheet-1'));
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('gs', 'google_sheets',
    jsonb_build_object('endpoint', mock_url(), 'spreadsheet_id', 'sheet-1', 'access_token', 't',
                       'service_account_key', :'sa_key'));
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('gs', 'google_sheets',
    jsonb_build_object('endpoint', mock_url(), 'spreadsheet_id', 'sheet-1', 'service_account_key', 'not json'));
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('gs', 'google_sheets',
    jsonb_build_object('endpoint', mock_url(), 'spreadsheet_id', 'sheet-1',
                       'service_account_key', (:'sa_key'::jsonb - 'private_key')::text));
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('gs', 'google_sheets',
    jsonb_build_object('endpoint', mock_url(), 'spreadsheet_id', 'sheet-1',
                       'service_account_key', jsonb_set(:'sa_key'::jsonb, '{private_key}', '"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"')::text));
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('gs', 'google_sheets',
    jsonb_build_object('endpoint', mock_url(), 'spreadsheet_id', 'sheet-1', 'service_account_key', :'sa_key'),
    enabled => true);
-- The key is write-only (the mock's address, which varies, left out).
SELECT settings - 'endpoint' AS settings FROM reverse_etl.destinations WHERE name = 'gs';

------------------------------------------------------------------------------
-- Mirror: first sync writes rows 2..4, through a granted token
------------------------------------------------------------------------------
SELECT reverse_etl.create_mapping('gs_people', 'gs', 'rows', '{"name": "name", "age": "age", "tags": "tags"}',
    sync_mode => 'mirror', name => 'gs people');
SELECT mapping_id AS gs_id FROM reverse_etl.mapping_catalog WHERE name = 'gs people' \gset
-- Columns B, C, D are the fields in the order the mapping keeps them (as jsonb
-- orders keys: shorter first), which reverse_etl.mappings shows.
SELECT fields FROM reverse_etl.mappings WHERE name = 'gs people';
-- The preview shows the rows records would get (nothing is reserved by it).
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('gs people') ORDER BY record_id;
SELECT to_regclass('reverse_etl_state.sheet_rows_' || :gs_id) IS NULL AS no_index_yet;
SELECT * FROM public.sync_outcome('gs people');
-- The token grant (a JWT whose signature the mock verified), then one
-- batchUpdate of three explicit rows: no append.
SELECT r->>'method' AS method, r->>'path' AS path,
       CASE WHEN r->>'path' = '/token' THEN r->>'body' ~ '^grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' END AS jwt_grant,
       regexp_replace(r->'headers'->>'authorization', 'ya29\.[a-z0-9-]+', '<token>') AS authorization,
       CASE WHEN r->>'path' LIKE '/v4/%' THEN (r->>'body')::jsonb END AS body, r->'status' AS status
  FROM public.mock_requests() AS r ORDER BY (r->>'seq')::int;
-- The assertion's claims, as Google's token endpoint reads them.
CREATE FUNCTION pg_temp.b64url_json(part text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT convert_from(decode(rpad(translate(part, '-_', '+/'), (length(part) + 3) / 4 * 4, '='), 'base64'), 'UTF8')::jsonb
$$;
SELECT pg_temp.b64url_json(split_part(a, '.', 1)) AS header, c->>'iss' AS iss, c->>'scope' AS scope,
       c->>'aud' = public.mock_url('/token') AS aud_is_token_uri,
       (c->>'exp')::bigint - (c->>'iat')::bigint AS lifetime, length(split_part(a, '.', 3)) AS signature_chars
  FROM (SELECT split_part(r->>'body', '&assertion=', 2) AS a FROM public.mock_requests() AS r
         WHERE r->>'path' = '/token') AS t,
       LATERAL (SELECT pg_temp.b64url_json(split_part(a, '.', 2)) AS c) AS d;
SELECT record_id, sheet_row FROM reverse_etl_state.sheet_rows_:gs_id ORDER BY sheet_row;
SELECT public.mock_vendor_state()->'spreadsheets'->'sheet-1'->'Sheet1' AS sheet;

-- An update rewrites the record's own row; the others stay.
UPDATE public.gs_people SET name = 'Bobby', age = 29 WHERE id = 2;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('gs people');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/v4/%'
 ORDER BY (r->>'seq')::int;
SELECT public.mock_vendor_state()->'spreadsheets'->'sheet-1'->'Sheet1' AS sheet;

-- A new record takes the next row; a deleted one's row is cleared (and kept
-- for it: a record that comes back gets its row again).
INSERT INTO public.gs_people VALUES (4, 'Dee', 50, NULL);
DELETE FROM public.gs_people WHERE id = 1;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('gs people');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq AND r->>'path' LIKE '/v4/%'
 ORDER BY (r->>'seq')::int;
SELECT public.mock_vendor_state()->'spreadsheets'->'sheet-1'->'Sheet1' AS sheet;
INSERT INTO public.gs_people VALUES (1, 'Ada', 37, NULL);
SELECT * FROM public.sync_outcome('gs people');
SELECT record_id, sheet_row FROM reverse_etl_state.sheet_rows_:gs_id ORDER BY sheet_row;
-- Reading the sheet back: each record id once in column A.
SELECT public.mock_vendor_state()->'spreadsheets'->'sheet-1'->'Sheet1' AS sheet;
SELECT r->>0 AS id, count(*) AS rows_with_it
  FROM jsonb_array_elements(public.mock_vendor_state()->'spreadsheets'->'sheet-1'->'Sheet1') AS r
 WHERE r->>0 IS NOT NULL GROUP BY 1 ORDER BY 1;

-- reset_mapping keeps the rows: everything is sent again, to the same rows.
SELECT reverse_etl.reset_mapping('gs people');
SELECT * FROM public.sync_outcome('gs people');
SELECT jsonb_array_length(public.mock_vendor_state()->'spreadsheets'->'sheet-1'->'Sheet1') AS sheet_rows;

------------------------------------------------------------------------------
-- 429: retried; 401: the token fetched again once, then the run fails
------------------------------------------------------------------------------
-- The mock refuses the first write with Google's 429; the retry (after the
-- backoff) goes through.
SELECT public.mock_config(jsonb_build_object('vendor', jsonb_build_object('type', 'google_sheets',
    'public_key', :'public_pem', 'throttle_next', 1)));
UPDATE public.gs_people SET age = age + 1 WHERE id = 3;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('gs people');
SELECT r->>'path' AS path, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
-- (A new mock configuration starts from an empty spreadsheet.)
SELECT public.mock_vendor_state()->'spreadsheets'->'sheet-1'->'Sheet1' AS sheet;

-- Every token refused (expire_after 0): one more grant, the request again,
-- and the run fails with the 401; the record goes in a later run.
SELECT public.mock_config(jsonb_build_object('vendor', jsonb_build_object('type', 'google_sheets',
    'public_key', :'public_pem', 'expire_after', 0)));
UPDATE public.gs_people SET age = age + 1 WHERE id = 3;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('gs people');
SELECT r->>'path' AS path, r->'status' AS status
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
-- A grant the token endpoint refuses (a key it does not know) fails the run
-- with its answer.
SELECT public.mock_config('{"vendor": {"type": "google_sheets"}}');
SELECT * FROM public.sync_outcome('gs people');
SELECT public.mock_config(jsonb_build_object('vendor', jsonb_build_object('type', 'google_sheets',
    'public_key', :'public_pem')));
SELECT * FROM public.sync_outcome('gs people');

------------------------------------------------------------------------------
-- send_test_record, an access token instead of a key, another sheet
------------------------------------------------------------------------------
-- A test record writes the record's own row (reserved for it if new).
SELECT t->'request'->>'method' AS method, t->'request'->>'url' ~ '/v4/spreadsheets/sheet-1/values:batchUpdate$' AS url,
       t->'request'->'headers'->>'Authorization' AS authorization, t->'request'->'body' AS body,
       t->'response'->'status' AS status, t::text LIKE '%ya29.%' AS shows_the_token
  FROM reverse_etl.send_test_record('gs people', '4') AS t;
SELECT reverse_etl.create_destination('gs token', 'google_sheets',
    jsonb_build_object('endpoint', mock_url(), 'spreadsheet_id', 'sheet 2/x', 'sheet', 'People list',
                       'access_token', 'static-token'), enabled => true);
SELECT reverse_etl.create_mapping('gs_people', 'gs token', 'rows', '{"name": "name"}', name => 'gs token people');
SELECT public.mock_config(jsonb_build_object('vendor', jsonb_build_object('type', 'google_sheets',
    'access_token', 'static-token', 'sheets', jsonb_build_array('People list'))));
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('gs token people');
SELECT r->>'path' AS path, r->'headers'->>'authorization' AS authorization, (r->>'body')::jsonb->'data'->0 AS first
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT public.mock_vendor_state()->'spreadsheets'->'sheet%202%2Fx' AS sheets;
-- A sheet the spreadsheet does not have, or a spreadsheet Google does not
-- know, is the destination's configuration: the run fails with Google's
-- answer at once (rather than splitting the request record by record).
SELECT reverse_etl.alter_destination('gs token', '{"sheet": "Nope"}');
UPDATE public.gs_people SET name = name || '!' WHERE id = 1;
SELECT * FROM public.sync_outcome('gs token people');
SELECT reverse_etl.alter_destination('gs token', jsonb_build_object('sheet', 'People list',
    'endpoint', mock_url('/unknown')));
SELECT * FROM public.sync_outcome('gs token people');
-- Secrets never show: not the key, not the token (run history, errors).
SELECT count(*) AS leaks FROM reverse_etl.sync_runs
 WHERE error LIKE '%PRIVATE KEY%' OR error LIKE '%static-token%' OR error LIKE '%ya29.%';

-- Dropping the mapping drops its row index.
SELECT reverse_etl.drop_mapping('gs people');
SELECT to_regclass('reverse_etl_state.sheet_rows_' || :gs_id) IS NULL AS index_dropped;

SELECT reverse_etl.drop_destination('gs', "cascade" => true);
SELECT reverse_etl.drop_destination('gs token', "cascade" => true);
SELECT reverse_etl.drop_model('gs_people');
DROP TABLE public.gs_people;
