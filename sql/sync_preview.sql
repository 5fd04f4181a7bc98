-- preview_mapping without a full diff (issue 11, item 15). When the model's
-- identifier is provably unique, the preview reads the model only until it
-- has found row_limit records to show: they are still real changes, with the
-- change and payload the next run sends. Otherwise (duplicates possible) it
-- diffs the whole model, and never shows a duplicated identifier.
-- Runs against the mock destination (sql/sync_setup.sql).

-- 20,000 rows. fillfactor 50 keeps an updated row on its page, so the rows
-- changed below stay first in the table's physical order.
CREATE TABLE public.pv_people (id int PRIMARY KEY, email text NOT NULL) WITH (fillfactor = 50);
INSERT INTO public.pv_people SELECT i, 'p' || i || '@pv.test' FROM generate_series(1, 20000) AS i;
ANALYZE public.pv_people;
SELECT reverse_etl.create_model('pv_people', 'SELECT id, email FROM public.pv_people', 'id');
SELECT reverse_etl.create_destination('pv_hook', 'webhook',
    jsonb_build_object('url', public.mock_url('/pv'), 'batch_size', 1000), enabled => true);
SELECT reverse_etl.create_mapping('pv_people', 'pv_hook', 'send',
           '{"id": "id", "email": "email", "change": {"meta": "change"}}', sync_mode => mode, name => 'pv_' || mode)
  FROM unnest(ARRAY['all', 'added_or_updated', 'deleted']) AS mode;

-- Rows of the model's table read by this backend and not yet counted in
-- pg_stat_user_tables (this transaction's reads, and maybe those of the
-- last ones: statistics are flushed at most once a second, between
-- transactions): taken before and after a statement in one transaction.
CREATE FUNCTION pv_rows_read() RETURNS bigint
LANGUAGE sql AS $$
    SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)
      FROM pg_catalog.pg_stat_xact_user_tables WHERE relid = 'public.pv_people'::regclass
$$;

-------------------------------------------------------------------------------
-- Before the first run every record is added: ten of them, from the model,
-- read from the start of the table without reading the rest.
-------------------------------------------------------------------------------
BEGIN;
SELECT pv_rows_read() AS rows_before \gset
CREATE TEMP TABLE pv_shown AS SELECT * FROM reverse_etl.preview_mapping('pv_all', row_limit => 10);
SELECT pv_rows_read() - :rows_before < 1000 AS read_little;
COMMIT;
SELECT count(*) AS shown, count(DISTINCT s.record_id) AS distinct_records,
       bool_and(s.change = 'added') AS all_added,
       bool_and(s.payload = jsonb_build_object('id', p.id, 'email', p.email, 'change', 'added')) AS model_payloads
  FROM pv_shown s LEFT JOIN public.pv_people p ON p.id::text = s.record_id;
DROP TABLE pv_shown;

SET client_min_messages = warning;
SELECT m, r.status, r.records_added, r.records_selected, r.records_succeeded
  FROM unnest(ARRAY['pv_all', 'pv_added_or_updated', 'pv_deleted']) AS m, reverse_etl.sync(m) AS r;
RESET client_min_messages;

-- Nothing changed: nothing to show (the whole model is read to know that).
SELECT count(*) AS shown FROM reverse_etl.preview_mapping('pv_all');

-------------------------------------------------------------------------------
-- Five updates at the start of the table, two deletions, two additions.
-------------------------------------------------------------------------------
UPDATE public.pv_people SET email = 'new' || id || '@pv.test' WHERE id <= 5;
DELETE FROM public.pv_people WHERE id IN (6, 7);
INSERT INTO public.pv_people VALUES (20001, 'p20001@pv.test'), (20002, 'p20002@pv.test');
CREATE TEMP TABLE pv_changes (record_id text, change text);
INSERT INTO pv_changes
  SELECT i::text, 'updated' FROM generate_series(1, 5) AS i
  UNION ALL SELECT i::text, 'deleted' FROM generate_series(6, 7) AS i
  UNION ALL SELECT i::text, 'added' FROM generate_series(20001, 20002) AS i;

-- With room for all: exactly the changes, as each sync mode sends them.
SELECT * FROM reverse_etl.preview_mapping('pv_all', row_limit => 1000) ORDER BY record_id::int;
SELECT record_id, change FROM reverse_etl.preview_mapping('pv_added_or_updated', row_limit => 1000)
 ORDER BY record_id::int;
SELECT * FROM reverse_etl.preview_mapping('pv_deleted', row_limit => 1000) ORDER BY record_id::int;

-- Three of them: real changes, with the right change, found in the first
-- rows of the table, without reading the other 19,000 or so.
BEGIN;
SELECT pv_rows_read() AS rows_before \gset
CREATE TEMP TABLE pv_shown AS SELECT * FROM reverse_etl.preview_mapping('pv_all', row_limit => 3);
SELECT pv_rows_read() - :rows_before < 1000 AS read_little;
COMMIT;
SELECT count(*) AS shown, count(*) FILTER (WHERE (s.record_id, s.change) IN (SELECT * FROM pv_changes)) AS real_changes
  FROM pv_shown s;
DROP TABLE pv_shown;

-- The preview changed nothing, and the run sends what it showed.
CREATE TEMP TABLE pv_shown AS SELECT * FROM reverse_etl.preview_mapping('pv_all', row_limit => 1000);
SELECT public.mock_reset();
SET client_min_messages = warning;
SELECT status, records_added, records_updated, records_deleted, records_unchanged, records_succeeded
  FROM reverse_etl.sync('pv_all');
RESET client_min_messages;
SELECT (SELECT jsonb_agg(payload ORDER BY record_id::int) FROM pv_shown)
     = (SELECT jsonb_agg(record ORDER BY (record->>'id')::int) FROM public.mock_records()) AS preview_was_sent;
DROP TABLE pv_shown;
SELECT count(*) AS shown FROM reverse_etl.preview_mapping('pv_all');

-------------------------------------------------------------------------------
-- An identifier that is not provably unique: the whole model is diffed, so
-- a record whose identifier appears again further on is never shown, however
-- small row_limit is.
-------------------------------------------------------------------------------
CREATE TABLE public.pv_dupes (id int, email text);
INSERT INTO public.pv_dupes SELECT i, 'd' || i FROM generate_series(1, 500) AS i;
INSERT INTO public.pv_dupes VALUES (2, 'd2 again'), (NULL, 'no id');
SELECT reverse_etl.create_model('pv_dupes', 'SELECT id, email FROM public.pv_dupes', 'id');
SELECT reverse_etl.create_mapping('pv_dupes', 'pv_hook', 'send', '{"id": "id", "email": "email"}',
                                  name => 'pv_dupes');
SELECT count(*) AS shown, count(*) FILTER (WHERE record_id = '2') AS duplicated_shown,
       bool_and(change = 'added') AS all_added
  FROM reverse_etl.preview_mapping('pv_dupes', row_limit => 3);
SELECT count(*) AS shown, count(*) FILTER (WHERE record_id = '2') AS duplicated_shown
  FROM reverse_etl.preview_mapping('pv_dupes', row_limit => 1000);

SELECT reverse_etl.drop_mapping(name) FROM reverse_etl.mappings WHERE name LIKE 'pv\_%' ORDER BY name;
SELECT reverse_etl.drop_model(name) FROM reverse_etl.models WHERE name LIKE 'pv\_%' ORDER BY name;
SELECT reverse_etl.drop_destination('pv_hook');
DROP TABLE public.pv_people, public.pv_dupes, pv_changes;
DROP FUNCTION pv_rows_read();
