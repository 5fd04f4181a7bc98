-- Signed webhooks, checked by the libraries receivers verify them with
-- (test/verifiers: GitHub's @octokit/webhooks-methods for the hex scheme in a
-- header of the user's choosing, standardwebhooks for Standard Webhooks), run
-- over the exact bytes and headers the mock received; the secrets' checks at
-- create and alter time; a retry's fresh timestamp and signature under the
-- same webhook-id. Needs sync_setup's mock helpers.
-- sync() NOTICEs carry run ids, which depend on the tests run before.
SET client_min_messages = warning;
\getenv verifiers REVERSE_ETL_VERIFIERS
SET regress.verifiers = :'verifiers';

-- The verdict of the reference library on each recorded request, by seq:
-- "verified" or "rejected: <its reason>". `tamper` appends a space to every
-- body first: the same JSON, other bytes.
CREATE FUNCTION pg_temp.verdicts(scheme text, secret text, header text DEFAULT '', tamper boolean DEFAULT false)
RETURNS TABLE(seq int, verdict text)
LANGUAGE plpgsql AS $$
BEGIN
    IF to_regclass('pg_temp.sw_verdicts') IS NULL THEN
        CREATE TEMP TABLE sw_verdicts (seq int, verdict text);
    END IF;
    TRUNCATE sw_verdicts;
    EXECUTE format('COPY sw_verdicts FROM PROGRAM %L',
                   format('curl -sf %s | node %s/verify.mjs %s %s %s %s', public.mock_url('/_mock/requests.jsonl'),
                          current_setting('regress.verifiers'), scheme, quote_literal(secret),
                          quote_literal(header), CASE WHEN tamper THEN '--tamper' ELSE '' END));
    RETURN QUERY SELECT v.seq, v.verdict FROM sw_verdicts AS v ORDER BY v.seq;
END $$;

CREATE TABLE public.sw_items (n integer PRIMARY KEY, label text);
INSERT INTO public.sw_items VALUES (1, 'one'), (2, 'naïve "two"'), (3, E'three\\three');
SELECT reverse_etl.create_model('sw_items', 'SELECT n, label FROM public.sw_items', 'n');

------------------------------------------------------------------------------
-- 1. hmac-sha256-hex in the header GitHub's receivers read
------------------------------------------------------------------------------
SELECT reverse_etl.create_destination('sw_github', 'webhook',
    jsonb_build_object('url', mock_url('/sw/github'), 'batch_size', 2, 'signing_secret', 'gh-s3cret',
                       'signature_header', 'X-Hub-Signature-256'),
    enabled => true);
SELECT reverse_etl.create_mapping('sw_items', 'sw_github', 'send', '{"n": "n", "label": "label"}', name => 'sw_github');
SELECT mock_reset();
SELECT * FROM sync_outcome('sw_github');
SELECT count(*) AS requests,
       bool_and(r->'headers'->>'x-hub-signature-256' ~ '^sha256=[0-9a-f]{64}$') AS hub_signature,
       bool_or(r->'headers' ? 'x-signature') AS x_signature
  FROM mock_requests() AS r;
SELECT * FROM pg_temp.verdicts('hmac-sha256-hex', 'gh-s3cret', 'X-Hub-Signature-256');
-- The checks can fail: other bytes, or another secret.
SELECT * FROM pg_temp.verdicts('hmac-sha256-hex', 'gh-s3cret', 'X-Hub-Signature-256', tamper => true);
SELECT * FROM pg_temp.verdicts('hmac-sha256-hex', 'gh-secret', 'X-Hub-Signature-256');
-- The header name is an HTTP token the client does not set itself.
SELECT reverse_etl.alter_destination('sw_github', settings => '{"signature_header": "X Signature"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('sw_github', settings => '{"signature_header": "Content-Length"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('sw_github', settings => '{"signature_header": ""}');
\echo :LAST_ERROR_SQLSTATE
-- Standard Webhooks needs a whsec_ secret: this one is not, so the switch is refused.
SELECT reverse_etl.alter_destination('sw_github', settings => '{"signature_scheme": "standard-webhooks"}');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_destination('sw_github', settings => '{"signature_scheme": "ed25519"}');
\echo :LAST_ERROR_SQLSTATE

------------------------------------------------------------------------------
-- 2. Standard Webhooks
------------------------------------------------------------------------------
-- Secrets that are not "whsec_" and the base64 of a key are refused, unquoted.
SELECT reverse_etl.create_destination('sw_bad', 'webhook',
    jsonb_build_object('url', mock_url('/sw/bad'), 'signature_scheme', 'standard-webhooks', 'signing_secret', 'whsec_'));
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('sw_bad', 'webhook',
    jsonb_build_object('url', mock_url('/sw/bad'), 'signature_scheme', 'standard-webhooks',
                       'signing_secret', 'whsec_not*base64'));
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination('sw_bad', 'webhook',
    jsonb_build_object('url', mock_url('/sw/bad'), 'signature_scheme', 'standard-webhooks',
                       'signing_secret', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS bad_destinations FROM reverse_etl.destinations WHERE name = 'sw_bad';

SELECT reverse_etl.create_destination('sw_standard', 'webhook',
    jsonb_build_object('url', mock_url('/sw/standard'), 'batch_size', 2, 'signature_scheme', 'standard-webhooks',
                       'signing_secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'),
    enabled => true);
-- The secret is write-only; the scheme is shown.
SELECT settings - 'url' AS settings FROM reverse_etl.destinations WHERE name = 'sw_standard';
SELECT reverse_etl.create_mapping('sw_items', 'sw_standard', 'send', '{"n": "n", "label": "label"}',
    name => 'sw_standard');
SELECT mock_reset();
SELECT * FROM sync_outcome('sw_standard');
SELECT count(*) AS requests,
       bool_and(r->'headers'->>'webhook-id' ~ '^msg_[0-9a-f]{32}$') AS id_format,
       bool_and(abs((r->'headers'->>'webhook-timestamp')::numeric - (r->>'epoch')::numeric) < 60) AS timestamp_now,
       bool_and(r->'headers'->>'webhook-signature' ~ '^v1,[A-Za-z0-9+/]{43}=$') AS signature_format,
       count(DISTINCT r->'headers'->>'webhook-id') AS ids,
       bool_or(r->'headers' ? 'x-signature') AS x_signature
  FROM mock_requests() AS r;
CREATE TEMP TABLE sw_first_ids AS SELECT r->'headers'->>'webhook-id' AS id FROM mock_requests() AS r;
SELECT * FROM pg_temp.verdicts('standard-webhooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
SELECT * FROM pg_temp.verdicts('standard-webhooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', tamper => true);
SELECT * FROM pg_temp.verdicts('standard-webhooks', 'whsec_c2VjcmV0LWtleS1vZi1hbm90aGVyLXNlbmRlcg==');

------------------------------------------------------------------------------
-- 3. A retry: the same webhook-id, a fresh timestamp and signature
------------------------------------------------------------------------------
-- The first request gets a 503 asking for a second's wait; its retry comes
-- in a later second, so its timestamp must be later and its signature other.
-- After reset_mapping (a deliberate resend: new record versions) the ids are
-- new too: receivers must not drop these.
SELECT reverse_etl.reset_mapping('sw_standard');
SELECT mock_reset();
SELECT mock_config('{"script": [{"status": 503, "headers": {"Retry-After": "1"}}]}');
SELECT * FROM sync_outcome('sw_standard');
SELECT count(*) AS requests, count(DISTINCT r->'headers'->>'webhook-id') AS ids,
       bool_or(r->'headers'->>'webhook-id' IN (SELECT id FROM sw_first_ids)) AS any_id_of_first_run
  FROM mock_requests() AS r;
SELECT count(*) AS attempts, array_agg(r->'status' ORDER BY (r->>'seq')::int) AS statuses,
       count(DISTINCT r->'headers'->>'webhook-timestamp') AS timestamps,
       max((r->'headers'->>'webhook-timestamp')::bigint) > min((r->'headers'->>'webhook-timestamp')::bigint)
           AS retry_later,
       count(DISTINCT r->'headers'->>'webhook-signature') AS signatures
  FROM mock_requests() AS r
 GROUP BY r->'headers'->>'webhook-id' HAVING count(*) > 1;
SELECT * FROM pg_temp.verdicts('standard-webhooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');

-- A retry in a later run: the first two requests are refused (400). The
-- batch of two is then sent as two halves, which are delivered; the record
-- sent alone is rejected, and goes again in the next run as the same
-- version, in a request with the same webhook-id as its refused one.
SELECT reverse_etl.reset_mapping('sw_standard');
SELECT mock_reset();
SELECT mock_config('{"script": [{"status": 400, "body": "try later", "times": 2}]}');
SELECT * FROM sync_outcome('sw_standard');
CREATE TEMP TABLE sw_refused_ids AS SELECT r->'headers'->>'webhook-id' AS id FROM mock_requests() AS r;
SELECT mock_reset();
SELECT * FROM sync_outcome('sw_standard');
SELECT count(*) AS requests,
       bool_and(r->'headers'->>'webhook-id' IN (SELECT id FROM sw_refused_ids)) AS same_ids_as_refused_run,
       (SELECT count(DISTINCT id) FROM sw_refused_ids) AS refused_ids
  FROM mock_requests() AS r;
SELECT * FROM pg_temp.verdicts('standard-webhooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');

------------------------------------------------------------------------------
-- Clean up
------------------------------------------------------------------------------
SELECT mock_reset();
SELECT reverse_etl.drop_model('sw_items', cascade => true);
SELECT reverse_etl.drop_destination(name) FROM unnest(ARRAY['sw_github', 'sw_standard']) AS name;
DROP TABLE public.sw_items;
RESET regress.verifiers;
RESET client_min_messages;
