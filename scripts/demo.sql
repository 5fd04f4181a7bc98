-- reverse_etl demo: a model over a users table, a preview, a webhook
-- destination, suggested field mappings, and a mapping.
\pset pager off
CREATE EXTENSION reverse_etl;

-- Sample data: the users table a product team wants in its CRM.
CREATE TABLE public.users (
    id         bigint PRIMARY KEY,
    email      text NOT NULL,
    first_name text,
    plan       text NOT NULL,
    signed_up  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO public.users (id, email, first_name, plan) VALUES
    (1, 'ann@example.com', 'Ann', 'pro'),
    (2, 'bob@example.com', 'Bob', 'free'),
    (3, 'cy@example.com', 'Cy', 'pro');

-- 1. A model: one read-only query plus the column that identifies each record.
SELECT reverse_etl.create_model(
    name        => 'active users',
    query       => 'SELECT id, email, first_name, plan FROM public.users',
    primary_key => 'id');
SELECT * FROM reverse_etl.preview_model('active users', row_limit => 3);

-- 2. A destination: a webhook (here a local mock that records requests).
SELECT reverse_etl.create_destination(
    name     => 'crm webhook',
    type     => 'webhook',
    settings => jsonb_build_object(
        'url', 'http://127.0.0.1:' || :'mock_port' || '/users',
        'bearer_token', 'demo-secret-token'),
    enabled  => true);
SELECT name, type, settings, enabled FROM reverse_etl.destinations;

-- 3. Which columns fit the action's fields? (The webhook's fields are free.)
SELECT reverse_etl.create_destination('segment', 'segment', '{"write_key": "demo-key"}');
SELECT * FROM reverse_etl.suggest_mappings('active users', 'segment', 'identify');

-- 4. A mapping: which records go, how columns become fields, and when.
SELECT reverse_etl.create_mapping(
    model       => 'active users',
    destination => 'crm webhook',
    action      => 'send',
    fields      => '{"user_id": "id", "email": "email",
                     "profile": {"object": {"first_name": "first_name", "plan": "plan"}}}',
    sync_mode   => 'added_or_updated',
    filter      => 'plan = ''pro''',
    schedule    => '15 minutes',
    enabled     => true);
SELECT name, model, destination, action, sync_mode, filter, schedule, enabled,
       next_run_at IS NOT NULL AS scheduled
  FROM reverse_etl.mappings;
