-- Versions and messageIds (SPEC: segment's messageId; issue 11, items 2
-- and A). A messageId names one version of a record: the run that first
-- selected it. It is the same for every send of that version (retries, and
-- resends after an unanswered or failed request), and new for every other
-- version: a change back to earlier values, a deletion, a re-add, a reset.
-- A record sent but not acknowledged stays "unconfirmed" in the checkpoint:
-- if it then leaves the model, its deletion is sent, since it may have
-- reached the destination. Needs sync_setup (mock helpers).
SET client_min_messages = warning;
SET reverse_etl.max_request_attempts = 1;

CREATE TABLE public.sv_people (id int PRIMARY KEY, plan text);
INSERT INTO public.sv_people VALUES (1, 'A'), (2, 'A'), (3, 'A');
SELECT reverse_etl.create_model('sv_people', 'SELECT id, plan FROM public.sv_people', 'id');
SELECT reverse_etl.create_destination('sv_segment', 'segment',
    jsonb_build_object('write_key', 'wk-sv', 'endpoint', mock_url('')), enabled => true);
SELECT reverse_etl.create_mapping('sv_people', 'sv_segment', 'track',
    '{"event": {"value": "Plan"}, "userId": "id", "properties": {"object": {"plan": "plan"}}}',
    sync_mode => 'all', name => 'sv');

-- Every event sent, by step: its user, plan (null for a deletion), messageId
-- and the mock's answer. With `failing`, the mock answers 500 to that user's
-- events.
CREATE TEMP TABLE sv_sent (step int, user_id text, plan text, message_id text, status int);
CREATE FUNCTION pg_temp.sv_step(step int, failing text DEFAULT NULL)
RETURNS TABLE(status text, added bigint, updated bigint, deleted bigint, unchanged bigint,
              succeeded bigint, failed bigint)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mock_reset();
    IF failing IS NOT NULL THEN
        PERFORM mock_config(jsonb_build_object('records', jsonb_build_object('match', 'userId',
            'rules', jsonb_build_object(failing, '{"status": 500, "body": "down"}'::jsonb))));
    END IF;
    RETURN QUERY SELECT s.status, s.records_added, s.records_updated, s.records_deleted,
                        s.records_unchanged, s.records_succeeded, s.records_failed
                   FROM reverse_etl.sync('sv') AS s;
    INSERT INTO sv_sent
        SELECT step, m.record->>'userId', m.record->'properties'->>'plan', m.record->>'messageId',
               (r->>'status')::int
          FROM mock_records() AS m JOIN mock_requests() AS r ON (r->>'seq')::int = m.seq;
END $$;
-- The checkpoint's rows: which versions the destination acknowledged.
CREATE FUNCTION pg_temp.sv_checkpoint() RETURNS TABLE(record_id text, unconfirmed "char")
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format('SELECT record_id, unconfirmed FROM reverse_etl_state.checkpoint_%s '
                                'ORDER BY record_id',
                                (SELECT mapping_id FROM reverse_etl.mapping_catalog WHERE name = 'sv'));
END $$;

-- 1. A -> B -> A: three versions of record 1, three messageIds. (Before,
-- the third send repeated the first's id and a deduplicating receiver kept B.)
SELECT * FROM pg_temp.sv_step(1);
UPDATE public.sv_people SET plan = 'B' WHERE id = 1;
SELECT * FROM pg_temp.sv_step(2);
UPDATE public.sv_people SET plan = 'A' WHERE id = 1;
SELECT * FROM pg_temp.sv_step(3);
SELECT step, plan, (SELECT count(*) FROM sv_sent o WHERE o.message_id = s.message_id) AS events_with_this_id
  FROM sv_sent AS s WHERE user_id = '1' ORDER BY step;
-- The form: retl-<mapping id>-<16 hex digits of the record>-<version>.
SELECT bool_and(message_id ~ '^retl-[0-9]+-[0-9a-f]{16}-[0-9]+$') AS message_id_form FROM sv_sent;

-- 2. A failed update is unconfirmed: the destination may have applied it.
-- The next run sends it again as the same version, with the same messageId.
UPDATE public.sv_people SET plan = 'B' WHERE id = 2;
SELECT * FROM pg_temp.sv_step(4, failing => '2');
SELECT * FROM pg_temp.sv_checkpoint();
SELECT * FROM pg_temp.sv_step(5);
SELECT step, user_id, plan, status FROM sv_sent WHERE step IN (4, 5) ORDER BY step;
SELECT count(DISTINCT message_id) AS message_ids FROM sv_sent WHERE step IN (4, 5);
SELECT * FROM pg_temp.sv_checkpoint();

-- 3. A record added, whose send failed, then deleted: it may have reached
-- the destination, so its deletion is sent. (Before, nothing: a deletion was
-- only sent for records in the checkpoint.)
INSERT INTO public.sv_people VALUES (4, 'A');
SELECT * FROM pg_temp.sv_step(6, failing => '4');
SELECT * FROM pg_temp.sv_checkpoint();
DELETE FROM public.sv_people WHERE id = 4;
SELECT * FROM pg_temp.sv_step(7);
SELECT step, user_id, plan, status FROM sv_sent WHERE step IN (6, 7) ORDER BY step;
SELECT count(DISTINCT message_id) AS message_ids FROM sv_sent WHERE step IN (6, 7);
SELECT * FROM pg_temp.sv_checkpoint();
-- The same, but the record changed before the resend: new values, a new
-- version, a new messageId.
INSERT INTO public.sv_people VALUES (5, 'A');
SELECT * FROM pg_temp.sv_step(8, failing => '5');
UPDATE public.sv_people SET plan = 'C' WHERE id = 5;
SELECT * FROM pg_temp.sv_step(9);
SELECT step, user_id, plan, status FROM sv_sent WHERE step IN (8, 9) ORDER BY step;
SELECT count(DISTINCT message_id) AS message_ids FROM sv_sent WHERE step IN (8, 9);

-- 4. reset_mapping is a deliberate resend: every record goes again, each
-- with a messageId it never had.
SELECT reverse_etl.reset_mapping('sv');
SELECT * FROM pg_temp.sv_step(10);
SELECT count(*) AS resent,
       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM sv_sent o WHERE o.step < 10
                                                                   AND o.message_id = s.message_id)) AS new_ids
  FROM sv_sent AS s WHERE step = 10;

-- 5. send_test_record is no version of the record: each test has its own id.
SELECT mock_reset();
SELECT reverse_etl.send_test_record('sv', record_id => '1')->'response'->'status' AS status;
SELECT reverse_etl.send_test_record('sv', record_id => '1')->'response'->'status' AS status;
SELECT count(*) AS tests, count(DISTINCT record->>'messageId') AS message_ids,
       bool_and(record->>'messageId' ~ '^retl-[0-9]+-[0-9a-f]{16}-test-[0-9]+$') AS test_form
  FROM mock_records();

-- Clean up.
SELECT reverse_etl.drop_mapping('sv');
SELECT reverse_etl.drop_destination('sv_segment');
SELECT reverse_etl.drop_model('sv_people');
DROP TABLE public.sv_people;
SELECT mock_reset();
