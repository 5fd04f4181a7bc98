-- Destination keys (issue 14): a deletion finds the record at the
-- destination by the key it was last sent with, kept in the checkpoint,
-- even when that key is not the model's identifier. Braze user_attributes
-- deletes users by external_id (/users/delete); here external_id is the
-- email, and the model's identifier is a number.
SET client_min_messages = warning;

CREATE TABLE public.dk_users (id int PRIMARY KEY, email text, name text);
INSERT INTO public.dk_users VALUES (1, 'ann@example.com', 'Ann'), (2, 'bob@example.com', 'Bob'),
                                   (3, 'cy@example.com', 'Cy');
SELECT reverse_etl.create_model('dk_users', 'SELECT * FROM public.dk_users', 'id');
SELECT public.mock_reset();
SELECT public.mock_config('{"vendor": {"type": "braze", "api_key": "braze-key-9"}}');
SELECT reverse_etl.create_destination('dk_braze', 'braze',
    jsonb_build_object('api_key', 'braze-key-9', 'endpoint', mock_url()), enabled => true);
SELECT reverse_etl.create_mapping('dk_users', 'dk_braze', 'user_attributes',
    '{"external_id": "email", "first_name": "name"}', sync_mode => 'mirror', name => 'dk mirror');
SELECT mapping_id AS mirror_id FROM reverse_etl.mapping_catalog WHERE name = 'dk mirror' \gset
SELECT * FROM public.sync_outcome('dk mirror');
SELECT array_agg(u ORDER BY u) AS braze_users FROM jsonb_object_keys(public.mock_vendor_state()->'users') AS u;
-- The checkpoint keeps each record's key as sent (JSON text).
SELECT record_id, dest_key FROM reverse_etl_state.checkpoint_:mirror_id ORDER BY record_id;

-- Bob changes his email: the upsert goes to the new external_id (Braze
-- makes a new user; the old one stays, as Braze keys users by external_id)
-- and the checkpoint now holds the new key. Cy leaves: the deletion names
-- cy@example.com, which the deleted row no longer has. preview_mapping
-- shows both before they go.
UPDATE public.dk_users SET email = 'bob@new.example.com' WHERE id = 2;
DELETE FROM public.dk_users WHERE id = 3;
SELECT record_id, change, payload FROM reverse_etl.preview_mapping('dk mirror') ORDER BY record_id;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('dk mirror');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT record_id, dest_key FROM reverse_etl_state.checkpoint_:mirror_id ORDER BY record_id;
-- Bob leaves: his deletion uses the key he was last sent with.
DELETE FROM public.dk_users WHERE id = 2;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('dk mirror');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;
SELECT array_agg(u ORDER BY u) AS braze_users FROM jsonb_object_keys(public.mock_vendor_state()->'users') AS u;
SELECT record_id, dest_key FROM reverse_etl_state.checkpoint_:mirror_id ORDER BY record_id;

-- A mapping that only deletes never sends its records, yet keeps their
-- keys as it checkpoints them, and deletes by them.
INSERT INTO public.dk_users VALUES (4, 'dee@example.com', 'Dee'), (5, 'eve@example.com', 'Eve');
SELECT reverse_etl.create_mapping('dk_users', 'dk_braze', 'user_attributes',
    '{"external_id": "email"}', sync_mode => 'delete', name => 'dk delete');
SELECT mapping_id AS delete_id FROM reverse_etl.mapping_catalog WHERE name = 'dk delete' \gset
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('dk delete');
SELECT count(*) AS requests FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq;
SELECT record_id, dest_key FROM reverse_etl_state.checkpoint_:delete_id ORDER BY record_id;
DELETE FROM public.dk_users WHERE id = 5;
SELECT * FROM public.sync_outcome('dk delete');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;

-- The key may be the identifier itself: the checkpoint's record_id is the
-- key then, and nothing more is kept.
SELECT reverse_etl.create_mapping('dk_users', 'dk_braze', 'user_attributes',
    '{"external_id": "id", "email": "email"}', sync_mode => 'mirror', name => 'dk by id');
SELECT mapping_id AS by_id FROM reverse_etl.mapping_catalog WHERE name = 'dk by id' \gset
SELECT * FROM public.sync_outcome('dk by id');
SELECT record_id, dest_key FROM reverse_etl_state.checkpoint_:by_id ORDER BY record_id;
DELETE FROM public.dk_users WHERE id = 4;
SELECT max((r->>'seq')::int) AS before_seq FROM public.mock_requests() AS r \gset
SELECT * FROM public.sync_outcome('dk by id');
SELECT r->>'path' AS path, (r->>'body')::jsonb AS body
  FROM public.mock_requests() AS r WHERE (r->>'seq')::int > :before_seq ORDER BY (r->>'seq')::int;

SELECT reverse_etl.drop_mapping('dk mirror');
SELECT reverse_etl.drop_mapping('dk delete');
SELECT reverse_etl.drop_mapping('dk by id');
SELECT reverse_etl.drop_destination('dk_braze');
SELECT reverse_etl.drop_model('dk_users');
DROP TABLE public.dk_users;
