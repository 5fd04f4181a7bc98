-- The key uniqueness proof (reverse_etl._key_is_unique): true only when the
-- catalogs prove that a model's identifier is never NULL and never repeats,
-- so a sync may skip looking for invalid records. Anything else is false.

CREATE SCHEMA key_uniqueness;
CREATE TABLE key_uniqueness.users (
    id        bigint PRIMARY KEY,
    email     text UNIQUE,                          -- unique but nullable
    plan      text NOT NULL,                        -- plain index below
    handle    text NOT NULL,                        -- unique index with INCLUDE below
    sku       varchar(20) NOT NULL UNIQUE,          -- for a binary-compatible cast to text
    code      text NOT NULL,                        -- unique partial index below
    login     text NOT NULL,                        -- unique expression index below
    region    text NOT NULL,                        -- unique (region, seat) below
    seat      int NOT NULL,
    badge     int NOT NULL UNIQUE DEFERRABLE,       -- checked at commit at the earliest
    signed_up date
);
CREATE INDEX ON key_uniqueness.users (plan);
CREATE UNIQUE INDEX ON key_uniqueness.users (handle) INCLUDE (plan);
CREATE UNIQUE INDEX ON key_uniqueness.users (code) WHERE plan = 'pro';
CREATE UNIQUE INDEX ON key_uniqueness.users (lower(login));
CREATE UNIQUE INDEX ON key_uniqueness.users (region, seat);
INSERT INTO key_uniqueness.users VALUES
    (1, 'ann@example.com', 'pro', 'ann', 'A-1', 'c1', 'ann', 'eu', 1, 1, '2026-01-05'),
    (2, NULL, 'free', 'bob', 'B-2', 'c2', 'bob', 'eu', 2, 2, '2026-02-11');
CREATE TABLE key_uniqueness.orders (
    order_id bigint PRIMARY KEY,
    user_id  bigint NOT NULL REFERENCES key_uniqueness.users (id)
);
-- regproc prints overloaded functions alike: distinct keys, equal text.
CREATE TABLE key_uniqueness.handlers (fn regproc PRIMARY KEY);

-- Proven: one table, and the key is a NOT NULL column with a single-column
-- unique index (the primary key, or a unique index with INCLUDE columns).
-- WHERE, ORDER BY, LIMIT/OFFSET, DISTINCT, window functions and sublinks
-- only drop rows or add columns; a renamed column is still the column; a
-- binary-compatible cast (varchar to text, regproc to oid) keeps the value.
SELECT query, key_column, reverse_etl._key_is_unique(query, key_column) AS proven
  FROM (VALUES
    ('SELECT id, email, plan FROM key_uniqueness.users', 'id'),
    ('SELECT * FROM key_uniqueness.users', 'id'),
    ('TABLE key_uniqueness.users', 'id'),
    ('SELECT u.id, u.email FROM key_uniqueness.users AS u WHERE u.plan = ''pro''', 'id'),
    ('SELECT id, email FROM key_uniqueness.users ORDER BY signed_up DESC LIMIT 10 OFFSET 1', 'id'),
    ('SELECT DISTINCT id, plan FROM key_uniqueness.users', 'id'),
    ('SELECT DISTINCT ON (plan) id, plan FROM key_uniqueness.users ORDER BY plan, id', 'id'),
    ('SELECT id AS user_id, email FROM key_uniqueness.users', 'user_id'),
    ('SELECT id, rank() OVER (ORDER BY signed_up) AS seniority FROM key_uniqueness.users', 'id'),
    ('SELECT id, (SELECT count(*) FROM key_uniqueness.orders o WHERE o.user_id = u.id) AS orders FROM key_uniqueness.users u', 'id'),
    ('SELECT id FROM key_uniqueness.users WHERE id IN (SELECT user_id FROM key_uniqueness.orders)', 'id'),
    ('WITH buyers AS (SELECT user_id FROM key_uniqueness.orders) SELECT id FROM key_uniqueness.users WHERE id IN (SELECT user_id FROM buyers)', 'id'),
    ('SELECT handle, email FROM key_uniqueness.users', 'handle'),
    ('SELECT sku::text AS sku FROM key_uniqueness.users', 'sku'),
    ('SELECT fn::oid AS fn FROM key_uniqueness.handlers', 'fn'),
    ('SELECT id, email FROM key_uniqueness.users;  -- trailing comment', 'id')
  ) AS cases(query, key_column);

-- Not proven: the key's value is not the column itself, the column is not
-- made unique and NOT NULL by the catalogs, or its type prints distinct
-- values alike (the sync compares identifiers as text).
SELECT query, key_column, reverse_etl._key_is_unique(query, key_column) AS proven
  FROM (VALUES
    ('SELECT id::text AS id FROM key_uniqueness.users', 'id'),                -- a conversion, not a relabeling
    ('SELECT id + 0 AS id FROM key_uniqueness.users', 'id'),
    ('SELECT email FROM key_uniqueness.users', 'email'),                      -- nullable: NULLs may repeat
    ('SELECT plan FROM key_uniqueness.users', 'plan'),                        -- index, not unique
    ('SELECT code FROM key_uniqueness.users', 'code'),                        -- unique only WHERE plan = 'pro'
    ('SELECT login FROM key_uniqueness.users', 'login'),                      -- unique lower(login), not login
    ('SELECT region, seat FROM key_uniqueness.users', 'region'),              -- unique with seat only
    ('SELECT badge FROM key_uniqueness.users', 'badge'),                      -- deferrable: may repeat until commit
    ('SELECT id FROM key_uniqueness.users', 'user_id'),                       -- not in the result
    ('SELECT id AS "ID" FROM key_uniqueness.users', 'id'),                    -- names are case-sensitive
    ('SELECT id, id FROM key_uniqueness.users', 'id'),                        -- named twice
    ('SELECT id AS key, email AS key FROM key_uniqueness.users', 'key'),
    ('SELECT ctid, id FROM key_uniqueness.users', 'ctid'),                    -- a system column
    ('SELECT u AS whole, id FROM key_uniqueness.users u', 'whole'),
    ('SELECT fn FROM key_uniqueness.handlers', 'fn')                          -- regproc: equal text
  ) AS cases(query, key_column);

-- Not proven: query shapes that can repeat a row of the table or make rows up.
SELECT query, key_column, reverse_etl._key_is_unique(query, key_column) AS proven
  FROM (VALUES
    ('SELECT u.id, o.order_id FROM key_uniqueness.users u JOIN key_uniqueness.orders o ON o.user_id = u.id', 'id'),
    ('SELECT o.order_id FROM key_uniqueness.orders o JOIN key_uniqueness.users u ON u.id = o.user_id', 'order_id'),
    ('SELECT u.id FROM key_uniqueness.users u, key_uniqueness.orders o', 'id'),
    ('SELECT u.id FROM key_uniqueness.users u, LATERAL (SELECT 1) AS one', 'id'),
    ('SELECT id FROM key_uniqueness.users UNION SELECT user_id FROM key_uniqueness.orders', 'id'),
    ('SELECT id FROM key_uniqueness.users UNION ALL SELECT id FROM key_uniqueness.users', 'id'),
    ('SELECT id, count(*) AS n FROM key_uniqueness.users GROUP BY id', 'id'),
    ('SELECT id FROM key_uniqueness.users GROUP BY GROUPING SETS ((id), ())', 'id'),
    ('SELECT max(id) AS id FROM key_uniqueness.users', 'id'),
    ('SELECT id, generate_series(1, 2) AS copy FROM key_uniqueness.users', 'id'),
    ('SELECT id FROM key_uniqueness.users FOR UPDATE', 'id'),
    ('SELECT id FROM key_uniqueness.users TABLESAMPLE BERNOULLI (50)', 'id'),
    ('WITH u AS (SELECT id FROM key_uniqueness.users) SELECT id FROM u', 'id'),
    ('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT id FROM key_uniqueness.users WHERE id IN (SELECT i FROM n)', 'id'),
    ('SELECT id FROM (SELECT id FROM key_uniqueness.users) AS u', 'id'),
    ('SELECT id FROM (VALUES (1), (1)) AS v(id)', 'id'),
    ('VALUES (1)', 'column1'),
    ('SELECT 1 AS id', 'id'),
    ('SELECT id FROM key_uniqueness.users; SELECT 2', 'id'),
    ('DELETE FROM key_uniqueness.users RETURNING id', 'id')
  ) AS cases(query, key_column);
-- The proof only analyzes: nothing was deleted.
SELECT count(*) AS users FROM key_uniqueness.users;

-- Relation kinds. A view has no index of its own. A table read without ONLY
-- includes its inheritance children, which its unique index does not cover.
-- A partitioned table's unique index covers every partition (it includes the
-- partition key), but only once it is valid, i.e. attached on every partition.
-- A materialized view's columns are never declared NOT NULL: its key is
-- proven only when the query keeps NULLs out ("AND key IS NOT NULL").
CREATE VIEW key_uniqueness.pro_users AS SELECT * FROM key_uniqueness.users WHERE plan = 'pro';
CREATE TABLE key_uniqueness.events (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE key_uniqueness.old_events () INHERITS (key_uniqueness.events);
CREATE TABLE key_uniqueness.measurements (id bigint PRIMARY KEY, taken_at date NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE key_uniqueness.measurements_1 PARTITION OF key_uniqueness.measurements FOR VALUES FROM (0) TO (1000);
CREATE TABLE key_uniqueness.measurements_2 PARTITION OF key_uniqueness.measurements FOR VALUES FROM (1000) TO (MAXVALUE);
CREATE TABLE key_uniqueness.readings (id bigint NOT NULL, value numeric) PARTITION BY RANGE (id);
CREATE TABLE key_uniqueness.readings_1 PARTITION OF key_uniqueness.readings FOR VALUES FROM (0) TO (1000);
CREATE UNIQUE INDEX readings_id ON ONLY key_uniqueness.readings (id);  -- invalid until attached on each partition
CREATE MATERIALIZED VIEW key_uniqueness.user_plans AS SELECT id, plan FROM key_uniqueness.users;
CREATE UNIQUE INDEX ON key_uniqueness.user_plans (id);
SELECT query, key_column, reverse_etl._key_is_unique(query, key_column) AS proven
  FROM (VALUES
    ('SELECT id FROM key_uniqueness.pro_users', 'id'),
    ('SELECT id, name FROM key_uniqueness.events', 'id'),
    ('SELECT id, name FROM ONLY key_uniqueness.events', 'id'),
    ('SELECT id, name FROM key_uniqueness.old_events', 'id'),
    ('SELECT id, taken_at FROM key_uniqueness.measurements', 'id'),
    ('SELECT id, taken_at FROM key_uniqueness.measurements_1', 'id'),
    ('SELECT id, value FROM key_uniqueness.readings', 'id'),
    ('SELECT id, plan FROM key_uniqueness.user_plans', 'id'),
    ('SELECT id, plan FROM key_uniqueness.user_plans WHERE id IS NOT NULL', 'id'),
    ('SELECT id, plan FROM key_uniqueness.user_plans WHERE plan <> ''free'' AND id IS NOT NULL', 'id'),
    ('SELECT id, plan FROM key_uniqueness.user_plans WHERE plan <> ''free'' OR id IS NOT NULL', 'id'),
    ('SELECT email FROM key_uniqueness.users WHERE email IS NOT NULL', 'email')
  ) AS cases(query, key_column);

-- Once its last inheritance child is dropped, a table's key is proven again
-- at once, though PostgreSQL keeps relhassubclass set until an ANALYZE.
CREATE TABLE key_uniqueness.tickets (id bigint PRIMARY KEY);
CREATE TABLE key_uniqueness.old_tickets () INHERITS (key_uniqueness.tickets);
SELECT reverse_etl._key_is_unique('SELECT id FROM key_uniqueness.tickets', 'id') AS proven;
DROP TABLE key_uniqueness.old_tickets;
SELECT relhassubclass FROM pg_catalog.pg_class WHERE oid = 'key_uniqueness.tickets'::regclass;
SELECT reverse_etl._key_is_unique('SELECT id FROM key_uniqueness.tickets', 'id') AS proven;

-- Once the partition's index is attached, the partitioned index is valid.
CREATE UNIQUE INDEX readings_1_id ON key_uniqueness.readings_1 (id);
ALTER INDEX key_uniqueness.readings_id ATTACH PARTITION key_uniqueness.readings_1_id;
SELECT reverse_etl._key_is_unique('SELECT id, value FROM key_uniqueness.readings', 'id') AS proven;

-- The query is analyzed with the current search_path.
SET search_path = key_uniqueness;
SELECT reverse_etl._key_is_unique('SELECT id FROM measurements', 'id') AS proven;
RESET search_path;

-- Errors of parse analysis are PostgreSQL's own; NULL arguments are refused.
SELECT reverse_etl._key_is_unique('SELEC id FROM key_uniqueness.users', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl._key_is_unique('SELECT id FROM key_uniqueness.nowhere', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl._key_is_unique('SELECT nothing FROM key_uniqueness.users', 'nothing');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl._key_is_unique('SELECT id FROM measurements', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl._key_is_unique(NULL, 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl._key_is_unique('SELECT id FROM key_uniqueness.users', NULL);
\echo :LAST_ERROR_SQLSTATE

SET client_min_messages = warning;
DROP SCHEMA key_uniqueness CASCADE;
RESET client_min_messages;
