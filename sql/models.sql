-- Models: create, preview, alter, drop, and every error SPEC section 2 names.

-- A model over a table; a trailing semicolon and comments are fine.
SELECT reverse_etl.create_model(
    name => 'users',
    query => $q$
        -- every user, with a flag for marketing consent
        SELECT id, email, first_name, last_name, plan, mrr, signed_up_at, consent_marketing, traits
          FROM public.users
         ORDER BY id;  -- newest last
    $q$,
    primary_key => 'id',
    description => 'All users');
SELECT name, source, query, primary_key, description, owner FROM reverse_etl.models;
SELECT jsonb_pretty(columns) FROM reverse_etl.models WHERE name = 'users';

-- Preview: the first rows as jsonb, in the query's order; default 10 rows.
SELECT * FROM reverse_etl.preview_model('users');
SELECT * FROM reverse_etl.preview_model('users', row_limit => 1);
SELECT count(*) FROM reverse_etl.preview_model('users', row_limit => 0);
SELECT reverse_etl.preview_model('users', row_limit => 1001);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.preview_model('users', row_limit => -1);
\echo :LAST_ERROR_SQLSTATE

-- Other read-only query forms: WITH ... SELECT, VALUES, TABLE, names with spaces.
SELECT reverse_etl.create_model('orders with totals',
    'WITH t AS (SELECT user_id, sum(total) AS spent FROM public.orders GROUP BY user_id) SELECT * FROM t',
    'user_id');
SELECT reverse_etl.create_model('constants', 'VALUES (1, ''a''), (2, ''b'')', 'column1');
SELECT reverse_etl.create_model('orders table', 'TABLE public.orders', 'order_id');
SELECT * FROM reverse_etl.preview_model('orders with totals') ORDER BY 1;
SELECT * FROM reverse_etl.preview_model('constants');
SELECT name, primary_key, jsonb_array_length(columns) AS columns FROM reverse_etl.models ORDER BY name;

-- preview_query checks a query without saving it.
SELECT * FROM reverse_etl.preview_query('SELECT id, email FROM public.users WHERE plan = ''pro'' ORDER BY id', 'id');
SELECT * FROM reverse_etl.preview_query('SELECT id FROM public.users', 'user_id');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.preview_query('SELECT 1 AS x', source => 'warehouse');
\echo :LAST_ERROR_SQLSTATE

-- Not one read-only query.
SELECT reverse_etl.create_model('bad', 'SELECT 1 AS a; SELECT 2 AS a', 'a');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'SELECT 1 AS a; DELETE FROM public.users', 'a');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'DELETE FROM public.users RETURNING id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'INSERT INTO public.users (id) VALUES (9) RETURNING id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'UPDATE public.users SET plan = ''x'' RETURNING id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'CREATE TABLE public.t AS SELECT 1 AS id', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'WITH d AS (DELETE FROM public.users RETURNING id) SELECT id FROM d', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'SELECT id INTO public.copy FROM public.users', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'SELECT id FROM public.users FOR UPDATE', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', '  -- only a comment', 'id');
\echo :LAST_ERROR_SQLSTATE
-- Nothing above ran: the users table is untouched and no table was created.
SELECT count(*) AS users FROM public.users;
SELECT to_regclass('public.t') AS t, to_regclass('public.copy') AS copy;

-- The parser's and analyzer's own errors, prefixed with the model's name.
SELECT reverse_etl.create_model('bad', 'SELEC id FROM public.users', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'SELECT id FROM public.no_such_table', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'SELECT id, emial FROM public.users', 'id');
\echo :LAST_ERROR_SQLSTATE

-- The primary key must be a result column; near misses get a suggestion.
SELECT reverse_etl.create_model('bad', 'SELECT id, email FROM public.users', 'idd');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'SELECT id, email FROM public.users', 'user_key');
\echo :LAST_ERROR_SQLSTATE
-- Result columns must have distinct names.
SELECT reverse_etl.create_model('bad', 'SELECT u.id, o.user_id AS id FROM public.users u JOIN public.orders o ON o.user_id = u.id', 'id');
\echo :LAST_ERROR_SQLSTATE

-- Names: unique, 1 to 128 characters, not NULL; only the local source exists.
SELECT reverse_etl.create_model('users', 'SELECT id FROM public.users', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('', 'SELECT id FROM public.users', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(repeat('x', 129), 'SELECT id FROM public.users', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model(repeat('é', 128), 'SELECT id FROM public.users', 'id');
SELECT reverse_etl.drop_model(repeat('é', 128));
SELECT reverse_etl.create_model(NULL, 'SELECT id FROM public.users', 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', NULL, 'id');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_model('bad', 'SELECT id FROM public.users', 'id', source => 'snowflake');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS models_named_bad FROM reverse_etl.models WHERE name = 'bad';

-- Unknown models.
SELECT reverse_etl.preview_model('nobody');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_model('nobody', description => 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_model('nobody');
\echo :LAST_ERROR_SQLSTATE

-- Alter: query, primary key, description, name. NULL keeps a value.
SELECT reverse_etl.alter_model('constants', query => 'VALUES (1, ''a''), (2, ''b''), (3, ''c'')');
SELECT * FROM reverse_etl.preview_model('constants');
SELECT reverse_etl.alter_model('constants', primary_key => 'column2', description => 'three rows');
SELECT reverse_etl.alter_model('constants', new_name => 'letters');
SELECT name, primary_key, description, jsonb_array_length(columns) AS columns
  FROM reverse_etl.models WHERE name IN ('constants', 'letters');
SELECT reverse_etl.alter_model('letters', description => '');
SELECT description IS NULL AS description_cleared FROM reverse_etl.models WHERE name = 'letters';
-- A bad new query or key changes nothing.
SELECT reverse_etl.alter_model('letters', query => 'SELECT 1 AS a; SELECT 2 AS a');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_model('letters', primary_key => 'column3');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_model('letters', new_name => 'users');
\echo :LAST_ERROR_SQLSTATE
SELECT name, query, primary_key FROM reverse_etl.models WHERE name = 'letters';

-- The query runs with the search_path in force when it was written.
CREATE SCHEMA crm;
CREATE TABLE crm.accounts (account_id int PRIMARY KEY, name text);
INSERT INTO crm.accounts VALUES (10, 'Acme');
SET search_path = crm, public;
SELECT reverse_etl.create_model('accounts', 'SELECT account_id, name FROM accounts', 'account_id');
RESET search_path;
SELECT * FROM reverse_etl.preview_model('accounts');

-- Drop.
SELECT reverse_etl.drop_model('letters');
SELECT reverse_etl.drop_model('accounts');
SELECT reverse_etl.drop_model('orders table');
DROP SCHEMA crm CASCADE;
SELECT name FROM reverse_etl.models ORDER BY name;
