-- Installs the extension and the sample data every later test uses.
CREATE EXTENSION reverse_etl;
SELECT extname, extversion, nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE extname = 'reverse_etl';

-- Every function and view documents itself (\df+ and \dv+ show these).
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'reverse_etl'::regnamespace
   AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL;
SELECT c.relname FROM pg_class c
 WHERE c.relnamespace = 'reverse_etl'::regnamespace AND c.relkind = 'v'
   AND pg_catalog.obj_description(c.oid, 'pg_class') IS NULL;
SELECT count(*) AS documented_functions FROM pg_proc p
 WHERE p.pronamespace = 'reverse_etl'::regnamespace
   AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NOT NULL;

-- No function is SECURITY DEFINER; any that ever is must pin search_path.
SELECT p.proname FROM pg_proc p
 WHERE p.pronamespace = 'reverse_etl'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%');

CREATE TABLE public.users (
    id                bigint PRIMARY KEY,
    email             text,
    first_name        text,
    last_name         text,
    plan              text NOT NULL,
    mrr               numeric(10,2),
    signed_up_at      timestamptz NOT NULL,
    consent_marketing boolean NOT NULL DEFAULT false,
    traits            jsonb
);
INSERT INTO public.users VALUES
    (1, 'ann@example.com', 'Ann', 'Archer', 'pro', 49.00, '2026-01-05 10:00+00', true, '{"company": "Acme", "seats": 5}'),
    (2, 'bob@example.com', 'Bob', 'Baker', 'free', 0, '2026-02-11 08:30+00', false, NULL),
    (3, 'cy@example.com', 'Cy', 'Cole', 'pro', 99.50, '2026-03-20 17:45+00', true, '{"company": "Initech"}');

CREATE TABLE public.orders (
    order_id   text PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES public.users (id),
    total      numeric(10,2) NOT NULL,
    items      jsonb NOT NULL,
    ordered_at timestamptz NOT NULL
);
INSERT INTO public.orders VALUES
    ('o-1', 1, 120.00, '[{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}]', '2026-04-01 12:00+00'),
    ('o-2', 3, 15.50, '[{"sku": "C3", "qty": 1}]', '2026-04-02 09:15+00');
