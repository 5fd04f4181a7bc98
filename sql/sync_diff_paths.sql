-- The two ways a run finds changes give the same answers. When the model's
-- identifier is provably unique (a NOT NULL column alone in a unique index of
-- the one table the model reads), the diff skips looking for duplicate and
-- NULL identifiers; otherwise it groups by identifier first. A first run's
-- checkpoint gets its primary key when the run ends, and a checkpoint left
-- without one (a first run that ended early) is repaired by the next run.
-- Runs against the mock destination (sql/sync_setup.sql).

-- One sync after clearing the mock: its counters and what the mock received.
CREATE FUNCTION dp_run(m text)
RETURNS TABLE(status text, added bigint, updated bigint, deleted bigint, unchanged bigint, invalid bigint,
              succeeded bigint, sent text)
LANGUAGE plpgsql SET client_min_messages = warning AS $$
BEGIN
    PERFORM public.mock_reset();
    RETURN QUERY
    SELECT r.status, r.records_added, r.records_updated, r.records_deleted, r.records_unchanged,
           r.records_invalid, r.records_succeeded,
           (SELECT string_agg(format('%s:%s:%s', x.record->>'id', x.record->>'change', x.record->>'email'), ' '
                              ORDER BY (x.record->>'id')::int)
              FROM public.mock_records() AS x)
      FROM reverse_etl.sync(m) AS r;
END $$;

-- The checkpoint of a mapping: its rows, and whether it has its primary key.
CREATE FUNCTION dp_checkpoint(m text) RETURNS TABLE(records bigint, distinct_ids bigint, has_key boolean)
LANGUAGE plpgsql AS $$
DECLARE
    tab regclass := format('reverse_etl_state.checkpoint_%s',
                           (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = m))::regclass;
BEGIN
    RETURN QUERY EXECUTE format('SELECT count(*), count(DISTINCT record_id), '
                                '(SELECT count(*) = 1 FROM pg_catalog.pg_constraint '
                                ' WHERE conrelid = %L::regclass AND contype = ''p'') FROM %s', tab, tab);
END $$;

-- The record ids the destination acknowledged (the checkpoint's confirmed
-- rows), as integers.
CREATE FUNCTION dp_checkpoint_ids(m text) RETURNS SETOF int
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT record_id::int FROM reverse_etl_state.checkpoint_%s '
                                'WHERE unconfirmed IS NULL',
                                (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = m));
END $$;

CREATE TABLE public.dp_people (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO public.dp_people SELECT i, 'p' || i || '@dp.test' FROM generate_series(1, 6) AS i;
CREATE VIEW public.dp_people_view AS SELECT id, email FROM public.dp_people;

-- The same records through the table (proven unique) and through a view (not proven).
SELECT reverse_etl.create_model('dp_keyed', 'SELECT id, email FROM public.dp_people', 'id');
SELECT reverse_etl.create_model('dp_viewed', 'SELECT id, email FROM public.dp_people_view', 'id');
SELECT name, reverse_etl._key_is_unique(query, primary_key) AS proven_unique
  FROM reverse_etl.models WHERE name LIKE 'dp\_%' ORDER BY name;
SELECT reverse_etl.create_destination('dp_hook', 'webhook',
    jsonb_build_object('url', public.mock_url('/dp'), 'batch_size', 100), enabled => true);
SELECT reverse_etl.create_mapping(model, 'dp_hook', 'send',
           '{"id": "id", "email": "email", "change": {"meta": "change"}}', sync_mode => 'all', name => model)
  FROM unnest(ARRAY['dp_keyed', 'dp_viewed']) AS model ORDER BY model;

-- First runs: every record added; the checkpoint ends with its key.
SELECT * FROM dp_run('dp_keyed');
SELECT * FROM dp_run('dp_viewed');
SELECT * FROM dp_checkpoint('dp_keyed');
SELECT * FROM dp_checkpoint('dp_viewed');

-- An update, a delete and an insert: both paths see the same three changes.
UPDATE public.dp_people SET email = 'changed@dp.test' WHERE id = 2;
DELETE FROM public.dp_people WHERE id = 4;
INSERT INTO public.dp_people VALUES (7, 'p7@dp.test');
SELECT * FROM dp_run('dp_keyed');
SELECT * FROM dp_run('dp_viewed');
-- Nothing changed since: nothing sent.
SELECT * FROM dp_run('dp_keyed');
SELECT * FROM dp_run('dp_viewed');

-- Duplicates can only come through the view path: the table's key forbids them.
CREATE TABLE public.dp_more (id int, email text);
INSERT INTO public.dp_more VALUES (1, 'dup@dp.test');
CREATE OR REPLACE VIEW public.dp_people_view AS
    SELECT id, email FROM public.dp_people UNION ALL SELECT id, email FROM public.dp_more;
SELECT * FROM dp_run('dp_viewed');
SELECT record_id, kind, error FROM reverse_etl.record_errors WHERE mapping = 'dp_viewed' ORDER BY record_id;
DELETE FROM public.dp_more;
SELECT * FROM dp_run('dp_viewed');

-- A first run that ended early leaves its checkpoint without a key (and, were
-- anything ever to write an identifier twice, with a repeated row): the next
-- run repairs it before reading it, and the repeated record counts as changed.
SELECT reverse_etl.reset_mapping('dp_keyed');
SELECT status FROM dp_run('dp_keyed');
DO $$
DECLARE
    tab text := format('reverse_etl_state.checkpoint_%s',
                       (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = 'dp_keyed'));
BEGIN
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tab,
                   (SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = tab::regclass AND contype = 'p'));
    EXECUTE format('INSERT INTO %s VALUES (''3'', 0, 0)', tab);
END $$;
SELECT * FROM dp_checkpoint('dp_keyed');
SELECT * FROM dp_run('dp_keyed');
SELECT * FROM dp_checkpoint('dp_keyed');
SELECT * FROM dp_run('dp_keyed');

-- Delivery reads the outbox in chunks of blocks (about 1000 records here);
-- a request never ends at a chunk's edge half full: 3000 records in batches
-- of 7 go in ceil(3000 / 7) = 429 requests, each record once.
CREATE TABLE public.dp_many (id int PRIMARY KEY, email text NOT NULL);
INSERT INTO public.dp_many SELECT i, 'm' || i || '@dp.test' FROM generate_series(1, 3000) AS i;
SELECT reverse_etl.create_model('dp_many', 'SELECT id, email FROM public.dp_many', 'id');
SELECT reverse_etl.create_destination('dp_sevens', 'webhook',
    jsonb_build_object('url', public.mock_url('/dp/sevens'), 'batch_size', 7), enabled => true);
SELECT reverse_etl.create_mapping('dp_many', 'dp_sevens', 'send', '{"id": "id"}', name => 'dp_many');
SELECT public.mock_reset();
SET reverse_etl.max_concurrent_requests = 1;
SET client_min_messages = warning;  -- the NOTICEs name the run id
SELECT status, records_succeeded, requests_sent FROM reverse_etl.sync('dp_many');
RESET client_min_messages;
RESET reverse_etl.max_concurrent_requests;
SELECT count(*) AS records, count(DISTINCT (record->>'id')::int) AS distinct_ids,
       min((record->>'id')::int) AS lowest, max((record->>'id')::int) AS highest
  FROM public.mock_records();
SELECT count(*) AS requests, max(n) AS largest, count(*) FILTER (WHERE n < 7) AS partial_requests
  FROM (SELECT seq, count(*) AS n FROM public.mock_records() GROUP BY seq) AS r;
SELECT * FROM dp_checkpoint('dp_many');
SELECT reverse_etl.drop_mapping('dp_many');
SELECT reverse_etl.drop_destination('dp_sevens');
SELECT reverse_etl.drop_model('dp_many');
DROP TABLE public.dp_many;

-- The checkpoint is written from the outbox by TID ranges of records
-- delivered one after the other; a record that cannot be sent (NaN cannot be
-- JSON) breaks a range. With many breaks in one flush (over 32), by a list of
-- TIDs instead. Either way the checkpoint holds exactly what was delivered.
CREATE TABLE public.dp_alternate (id int PRIMARY KEY, score float8 NOT NULL);
INSERT INTO public.dp_alternate
    SELECT i, CASE WHEN i % 20 = 0 THEN 'NaN'::float8 ELSE i END FROM generate_series(1, 200) AS i;
SELECT reverse_etl.create_model('dp_alternate', 'SELECT id, score FROM public.dp_alternate', 'id');
SELECT reverse_etl.create_mapping('dp_alternate', 'dp_hook', 'send', '{"id": "id", "score": "score"}',
                                  name => 'dp_alternate');
-- 10 breaks: ranges.
SELECT status, added, invalid, succeeded FROM dp_run('dp_alternate');
SELECT count(*) AS checkpointed, count(DISTINCT id) AS distinct_ids, bool_and(id % 20 <> 0) AS none_invalid
  FROM dp_checkpoint_ids('dp_alternate') AS id;
-- 100 breaks: a TID list.
SELECT reverse_etl.reset_mapping('dp_alternate');
UPDATE public.dp_alternate SET score = CASE WHEN id % 2 = 0 THEN 'NaN'::float8 ELSE id END;
SELECT status, added, invalid, succeeded FROM dp_run('dp_alternate');
SELECT count(*) AS checkpointed, count(DISTINCT id) AS distinct_ids, bool_and(id % 2 = 1) AS only_odd_ids
  FROM dp_checkpoint_ids('dp_alternate') AS id;
SELECT reverse_etl.drop_mapping('dp_alternate');
SELECT reverse_etl.drop_model('dp_alternate');
DROP TABLE public.dp_alternate;

-- A bytea identifier is sent as base64, for a deleted record too (its value
-- then comes from the checkpoint's text form of the id).
CREATE TABLE public.dp_blobs (id bytea PRIMARY KEY, label text NOT NULL);
INSERT INTO public.dp_blobs VALUES ('\x0001ff', 'one'), ('\xdeadbeef', 'two');
SELECT reverse_etl.create_model('dp_blobs', 'SELECT id, label FROM public.dp_blobs', 'id');
SELECT reverse_etl.create_mapping('dp_blobs', 'dp_hook', 'send',
           '{"id": "id", "label": "label", "change": {"meta": "change"}}', sync_mode => 'all', name => 'dp_blobs');
SET client_min_messages = warning;  -- the NOTICEs name the run id
SELECT public.mock_reset();
SELECT status, records_added, records_succeeded FROM reverse_etl.sync('dp_blobs');
SELECT record FROM public.mock_records() ORDER BY record->>'id';
DELETE FROM public.dp_blobs WHERE label = 'two';
SELECT public.mock_reset();
SELECT status, records_deleted, records_succeeded FROM reverse_etl.sync('dp_blobs');
SELECT record FROM public.mock_records();
RESET client_min_messages;
SELECT reverse_etl.drop_mapping('dp_blobs');
SELECT reverse_etl.drop_model('dp_blobs');
DROP TABLE public.dp_blobs;

-- A first run that streams its model stores its checkpoint rows as COPY
-- does, past the executor. A checkpoint given an index of its own (by an
-- administrator) is written by INSERT instead, so that the index holds every
-- row: counted through it, the rows are all there.
CREATE FUNCTION dp_rows_by_index(m text) RETURNS TABLE(rows_by_index bigint, index_used boolean)
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off AS $$
DECLARE
    count_query text := format('SELECT count(*) FROM reverse_etl_state.checkpoint_%s WHERE hash >= %L::bigint',
                               (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = m),
                               '-9223372036854775808');
    plan json;
BEGIN
    EXECUTE 'EXPLAIN (FORMAT JSON) ' || count_query INTO plan;
    index_used := plan::text LIKE '%dp_extra_hash%';
    EXECUTE count_query INTO rows_by_index;
    RETURN NEXT;
END $$;
SELECT reverse_etl.reset_mapping('dp_keyed');
DO $$
BEGIN
    EXECUTE format('CREATE INDEX dp_extra_hash ON reverse_etl_state.checkpoint_%s (hash)',
                   (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = 'dp_keyed'));
END $$;
SELECT status, added, succeeded FROM dp_run('dp_keyed');
SELECT * FROM dp_checkpoint('dp_keyed');
SELECT * FROM dp_rows_by_index('dp_keyed');
DROP INDEX reverse_etl_state.dp_extra_hash;
DROP FUNCTION dp_rows_by_index(text);

SELECT reverse_etl.drop_mapping(name) FROM unnest(ARRAY['dp_keyed', 'dp_viewed']) AS name ORDER BY name;
SELECT reverse_etl.drop_destination('dp_hook');
SELECT reverse_etl.drop_model(name) FROM unnest(ARRAY['dp_keyed', 'dp_viewed']) AS name ORDER BY name;
DROP VIEW public.dp_people_view;
DROP TABLE public.dp_people, public.dp_more;
DROP FUNCTION dp_run(text), dp_checkpoint(text), dp_checkpoint_ids(text);
