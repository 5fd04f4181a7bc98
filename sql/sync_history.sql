-- Run history is pruned by reverse_etl.history_retention (default 30 days)
-- whenever a run ends; newer runs stay.
SET client_min_messages = warning;
CREATE TABLE public.sh_items (id int PRIMARY KEY, label text);
INSERT INTO public.sh_items VALUES (1, 'one');
SELECT reverse_etl.create_model('sh_items', 'SELECT id, label FROM public.sh_items', 'id');
SELECT reverse_etl.create_destination('sh_hook', 'webhook', jsonb_build_object('url', mock_url('/sh')), enabled => true);
SELECT reverse_etl.create_mapping('sh_items', 'sh_hook', 'send', '{"id": "id", "label": "label"}', name => 'sh_map');
SHOW reverse_etl.history_retention;
-- Two finished runs from long ago and one from last week, as if they had happened.
INSERT INTO reverse_etl.run_catalog (mapping_id, trigger, status, queued_at, started_at, finished_at)
SELECT mapping_id, 'schedule', 'succeeded', now() - d, now() - d, now() - d + interval '1 minute'
  FROM reverse_etl.mapping_catalog, (VALUES (interval '45 days'), (interval '31 days'), (interval '7 days')) AS v(d)
 WHERE name = 'sh_map';
SELECT status, now() - finished_at > interval '30 days' AS older_than_retention
  FROM reverse_etl.sync_runs WHERE mapping = 'sh_map' ORDER BY run_id;
SELECT status, records_succeeded FROM reverse_etl.sync('sh_map');
SELECT status, now() - finished_at > interval '30 days' AS older_than_retention, trigger
  FROM reverse_etl.sync_runs WHERE mapping = 'sh_map' ORDER BY run_id;
SELECT reverse_etl.drop_destination('sh_hook', cascade => true);
SELECT reverse_etl.drop_model('sh_items');
DROP TABLE public.sh_items;
