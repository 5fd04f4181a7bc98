-- A destination that cannot be reached at all stops the run after three
-- requests in a row went unanswered (each after all its attempts), instead of
-- working through every record's backoff; nothing is checkpointed and the
-- next run tries every record again.
SET client_min_messages = warning;
CREATE TABLE public.su_items (id int PRIMARY KEY);
INSERT INTO public.su_items SELECT generate_series(1, 10);
SELECT reverse_etl.create_model('su_items', 'SELECT id FROM public.su_items', 'id');
-- Nothing listens on port 9 of the loopback address.
SELECT reverse_etl.create_destination('su_down', 'webhook', '{"url": "http://127.0.0.1:9/down"}', enabled => true);
SELECT reverse_etl.create_mapping('su_items', 'su_down', 'send', '{"id": "id"}', name => 'su_map');
SET reverse_etl.max_request_attempts = 1;
SET reverse_etl.max_concurrent_requests = 1;
SELECT status, records_selected, records_succeeded, records_failed, requests_sent,
       error LIKE 'destination unreachable: %' AS unreachable
  FROM reverse_etl.sync('su_map');
SELECT kind, count(*) FROM reverse_etl.record_errors WHERE mapping = 'su_map' GROUP BY kind;
-- Nothing was checkpointed: the next run sees all ten records as added again.
SELECT status, records_added, records_failed FROM reverse_etl.sync('su_map');
RESET reverse_etl.max_request_attempts;
RESET reverse_etl.max_concurrent_requests;
SELECT reverse_etl.drop_destination('su_down', cascade => true);
SELECT reverse_etl.drop_model('su_items');
DROP TABLE public.su_items;
