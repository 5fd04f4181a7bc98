-- Each backend parses a destination type's definition once and keeps it
-- (issue 11, item 15): the destinations view and every function use the
-- kept copy, until the extension changes. Definitions change only with the
-- extension, and every CREATE, ALTER ... UPDATE or DROP EXTENSION writes a
-- new version of its pg_extension row: a type read with another is read
-- again. Here an update is played by hand (as a superuser): the two writes
-- an update script makes, the pg_extension row (which ALTER EXTENSION
-- UPDATE rewrites before it runs the script) and a definition, which makes
-- webhook's "url" setting secret.

SELECT reverse_etl.create_destination('tc hook', 'webhook',
    '{"url": "https://tc.example/in", "bearer_token": "tc-token"}');
CREATE FUNCTION tc_settings() RETURNS jsonb
LANGUAGE sql AS $$ SELECT settings FROM reverse_etl.destinations WHERE name = 'tc hook' $$;
CREATE FUNCTION tc_set_url_secret(secret boolean) RETURNS void
LANGUAGE sql AS $$
    UPDATE reverse_etl.destination_type_catalog
       SET definition = jsonb_set(definition, '{settings}',
               (SELECT jsonb_agg(CASE WHEN s->>'key' <> 'url' THEN s
                                      WHEN secret THEN s || '{"secret": true}' ELSE s - 'secret' END ORDER BY n)
                  FROM jsonb_array_elements(definition->'settings') WITH ORDINALITY AS e(s, n)))
     WHERE type = 'webhook'
$$;
CREATE FUNCTION tc_touch_extension() RETURNS void
LANGUAGE sql AS $$
    UPDATE pg_catalog.pg_extension SET extversion = extversion WHERE extname = 'reverse_etl'
$$;

-- Read (and kept) twice, the same.
SELECT tc_settings();
SELECT tc_settings();

-- Inside the updating transaction nothing read is kept: after the script's
-- change the new definition shows, and after the rollback the old one again.
BEGIN;
SELECT tc_touch_extension();
SELECT tc_settings();
SELECT tc_set_url_secret(true);
SELECT tc_settings();
ROLLBACK;
SELECT tc_settings();

-- Committed: this backend, which kept the old definition, reads the new one.
BEGIN;
SELECT tc_touch_extension();
SELECT tc_set_url_secret(true);
COMMIT;
SELECT tc_settings();
-- A change of the definition alone, without the extension's, is no update:
-- it is not noticed (nothing but an extension script may write the table).
SELECT tc_set_url_secret(false);
SELECT tc_settings();
-- Put back the way an update would.
SELECT tc_touch_extension();
SELECT tc_settings();

SELECT reverse_etl.drop_destination('tc hook');
DROP FUNCTION tc_settings(), tc_set_url_secret(boolean), tc_touch_extension();
