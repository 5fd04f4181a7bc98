-- reverse_etl_state.record_hash(seed, VARIADIC "any"): the change-detection
-- hash of a record's sent values. Equal values hash alike however PostgreSQL
-- happens to store them; any difference a payload would show changes it.
CREATE SCHEMA record_hash_test;
CREATE TYPE record_hash_test.mood AS ENUM ('sad', 'happy');

-- Equal values, equal hashes; a change in any value, in the order, in the
-- seed, or NULL against an empty string, gives another hash.
SELECT reverse_etl_state.record_hash(7, 1, 'a'::text, 2.50::numeric) = reverse_etl_state.record_hash(7, 1, 'a'::text, 2.50::numeric) AS same,
       reverse_etl_state.record_hash(7, 1, 'a'::text, 2.50::numeric) <> reverse_etl_state.record_hash(7, 1, 'b'::text, 2.50::numeric) AS text_differs,
       reverse_etl_state.record_hash(7, 1, 'a'::text, 2.50::numeric) <> reverse_etl_state.record_hash(7, 1, 'a'::text, 2.5::numeric) AS scale_differs,
       reverse_etl_state.record_hash(7, 1, 'a'::text) <> reverse_etl_state.record_hash(7, 'a'::text, 1) AS order_matters,
       reverse_etl_state.record_hash(7, 1, 'a'::text) <> reverse_etl_state.record_hash(8, 1, 'a'::text) AS seed_matters,
       reverse_etl_state.record_hash(7, NULL::text) <> reverse_etl_state.record_hash(7, ''::text) AS null_is_not_empty,
       reverse_etl_state.record_hash(7, 'ab'::text, 'c'::text) <> reverse_etl_state.record_hash(7, 'a'::text, 'bc'::text) AS fields_stay_apart;

-- The same values read from a table (short varlena headers, a compressed
-- and an out-of-line value) hash as the ones built in memory.
CREATE TABLE record_hash_test.stored (id int, small text, squeezed text, big text, doc jsonb, at timestamptz);
ALTER TABLE record_hash_test.stored ALTER COLUMN big SET STORAGE EXTERNAL;
INSERT INTO record_hash_test.stored VALUES
    (1, 'small', repeat('x', 5000), repeat('0123456789', 1000), '{"b": [1, 2], "a": "x"}', '2024-05-01 12:00:00+00');
SELECT pg_column_size(squeezed) < 5000 AS squeezed_is_compressed,
       (SELECT pg_relation_size(reltoastrelid) > 0 FROM pg_class WHERE oid = 'record_hash_test.stored'::regclass)
           AS big_is_out_of_line,
       reverse_etl_state.record_hash(1, id, small, squeezed, big, doc, at)
       = reverse_etl_state.record_hash(1, 1, 'small'::text, repeat('x', 5000), repeat('0123456789', 1000),
                                       '{"a": "x", "b": [1, 2]}'::jsonb, '2024-05-01 14:00:00+02'::timestamptz)
           AS equal_to_literals
  FROM record_hash_test.stored;

-- Timestamps hash by the instant, whatever TimeZone shows them in.
SET TimeZone = 'America/New_York';
SELECT reverse_etl_state.record_hash(1, at) = reverse_etl_state.record_hash(1, '2024-05-01 12:00:00+00'::timestamptz)
       AS same_instant
  FROM record_hash_test.stored;
RESET TimeZone;

-- An enum is hashed by its label (its text form): renaming a label, which a
-- payload would show, changes the hash although the stored value does not.
CREATE TABLE record_hash_test.moods (m record_hash_test.mood);
INSERT INTO record_hash_test.moods VALUES ('happy');
CREATE TEMP TABLE hash_before AS SELECT reverse_etl_state.record_hash(1, m) AS h FROM record_hash_test.moods;
ALTER TYPE record_hash_test.mood RENAME VALUE 'happy' TO 'glad';
SELECT reverse_etl_state.record_hash(1, m) <> h AS label_change_seen FROM record_hash_test.moods, hash_before;

-- Errors.
SELECT reverse_etl_state.record_hash(NULL, 1);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl_state.record_hash(1, VARIADIC ARRAY[1, 2]);
\echo :LAST_ERROR_SQLSTATE

DROP TABLE hash_before;
DROP SCHEMA record_hash_test CASCADE;
