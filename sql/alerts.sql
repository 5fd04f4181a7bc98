-- Alert rules (issue 17): create_alert/drop_alert, the alerts and
-- alert_events views, posting to webhook and Slack destinations when runs
-- fail N in a row or reject too many records, once per change of state,
-- reminders at most every remind_every, posts retried by run_due_syncs.
-- Needs sync_setup (mock helpers).
SET client_min_messages = warning;
SET reverse_etl.max_request_attempts = 1;

CREATE TABLE al_people (id int PRIMARY KEY, name text);
INSERT INTO al_people VALUES (1, 'Ann'), (2, 'Bea');
SELECT reverse_etl.create_model(name => 'al people', query => 'SELECT id, name FROM public.al_people',
    primary_key => 'id');
SELECT reverse_etl.create_destination(name => 'al data', type => 'webhook',
    settings => jsonb_build_object('url', mock_url('/data')), enabled => true);
SELECT reverse_etl.create_mapping(model => 'al people', destination => 'al data', action => 'send',
    fields => '{"id": "id", "name": "name"}', name => 'al');
-- Where alerts go: a webhook (with a bearer token, to show alerts take the
-- destination's own settings; its batch size and method are for records:
-- an alert is one object, POSTed) and a Slack incoming webhook.
SELECT reverse_etl.create_destination(name => 'al hook', type => 'webhook',
    settings => jsonb_build_object('url', mock_url('/alerts'), 'bearer_token', 'al-token-Zq81x',
                                   'batch_size', 10, 'method', 'PUT'),
    enabled => true);
SELECT reverse_etl.create_destination(name => 'al slack', type => 'slack',
    settings => jsonb_build_object('webhook_url', mock_url('/slack/T0/B0/secret')), enabled => true);

-- 1. Rules and their checks.
SELECT reverse_etl.create_alert('al fail', 'al', 'al hook');
SELECT reverse_etl.create_alert('al twice', 'al', 'al slack', failures => 2, remind_every => NULL);
SELECT reverse_etl.create_alert('al share', mapping => 'al', destination => 'al hook', failures => NULL,
    rejected_share => 0.25);
SELECT name, mapping, destination, failures, rejected_share, remind_every, firing, firing_since, last_alert_at
  FROM reverse_etl.alerts ORDER BY name;
SELECT reverse_etl.create_alert('al fail', 'al', 'al hook');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert('al x', 'no such mapping', 'al hook');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert('al x', 'al', 'no such destination');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_destination(name => 'al segment', type => 'segment', settings => '{"write_key": "k"}');
SELECT reverse_etl.create_alert('al x', 'al', 'al segment');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert('al x', 'al', 'al hook', failures => NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert('al x', 'al', 'al hook', failures => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert('al x', 'al', 'al hook', rejected_share => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert('al x', 'al', 'al hook', rejected_share => -0.1);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert('al x', 'al', 'al hook', remind_every => '0 seconds');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert('', 'al', 'al hook');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_alert(NULL, 'al', 'al hook');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_alert('no such alert');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rules FROM reverse_etl.alerts;

CREATE FUNCTION al_sync() RETURNS text
LANGUAGE sql AS $$ SELECT status FROM reverse_etl.sync('al') $$;

-- The alerts queued so far (in order), and what the mock received on the
-- alert paths since its last reset, by path and alert (the alerts of one
-- pass are posted at once: they arrive in any order).
CREATE FUNCTION al_events()
RETURNS TABLE(alert text, kind text, status text, attempts int, reason text, error text)
LANGUAGE sql AS $$
    SELECT e.alert, e.kind, e.status, e.attempts, regexp_replace(e.reason, 'run \d+', 'run N', 'g'), e.error
      FROM reverse_etl.alert_events e WHERE e.mapping = 'al' ORDER BY e.event_id
$$;
-- Run ids and times depend on the tests run before: masked.
CREATE FUNCTION al_mask(body jsonb) RETURNS jsonb
LANGUAGE sql AS $$
    SELECT CASE WHEN jsonb_typeof(body) = 'object' THEN
        (SELECT jsonb_object_agg(key, CASE WHEN key IN ('text', 'reason')
                                           THEN to_jsonb(regexp_replace(value #>> '{}', 'run \d+', 'run N', 'g'))
                                           WHEN key IN ('run_id', 'finished_at') THEN '"..."'
                                           ELSE value END)
           FROM jsonb_each(body))
    ELSE body END
$$;
CREATE FUNCTION al_posts()
RETURNS TABLE(method text, path text, status int, authorization_header text, body jsonb)
LANGUAGE sql AS $$
    SELECT r->>'method', r->>'path', (r->>'status')::int, r->'headers'->>'authorization', al_mask((r->>'body')::jsonb)
      FROM mock_requests() AS r WHERE r->>'path' NOT LIKE '/data%'
     ORDER BY r->>'path', (r->>'body')::jsonb->>'alert', (r->>'seq')::int
$$;

-- 2. The first failed run (the data destination refuses the credentials):
-- "al fail" fires and posts to the webhook, before sync() returns, with the
-- webhook's bearer token. "al twice" waits for a second failure; a failed
-- run says nothing about the share of rejected records.
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/data": {"status": 401, "body": "bad credentials"}}}');
SELECT al_sync();
SELECT * FROM al_events();
SELECT method, path, status, authorization_header, body FROM al_posts();
SELECT name, firing, firing_since IS NOT NULL AS since, last_alert_at IS NOT NULL AS alerted
  FROM reverse_etl.alerts ORDER BY name;
SELECT consecutive_failures FROM reverse_etl.mapping_status WHERE mapping = 'al';

-- 3. The second failure: "al twice" fires, on Slack (a message: only
-- "text"). "al fail" is still firing: no second alert (no storm).
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/data": {"status": 401, "body": "bad credentials"}}}');
SELECT al_sync();
SELECT * FROM al_events();
SELECT path, body FROM al_posts();

-- 4. A third failure: nothing new.
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/data": {"status": 401, "body": "bad credentials"}}}');
SELECT al_sync();
SELECT count(*) AS alerts_posted FROM al_posts();

-- 5. Reminders: once remind_every has passed since the last alert, the next
-- failed run reminds ("al fail", 1 day: the test moves its last alert two
-- days back); "al twice" has no reminders.
UPDATE reverse_etl.alert_catalog SET last_alert_at = last_alert_at - interval '2 days';
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/data": {"status": 401, "body": "bad credentials"}}}');
SELECT al_sync();
SELECT path, body->>'kind' AS kind, body->>'text' AS text FROM al_posts();

-- 6. The credentials are fixed but record 1 is refused: the run partially
-- succeeds. The failure rules resolve; half the records rejected is above
-- 25%: "al share" fires.
SELECT mock_reset();
SELECT mock_config('{"records": {"match": "id", "rules": {"1": {"status": 422, "body": "bad name"}}}}');
SELECT al_sync();
SELECT path, body->>'alert' AS alert, body->>'kind' AS kind, body->>'text' AS text FROM al_posts();
SELECT name, firing, firing_since IS NOT NULL AS since FROM reverse_etl.alerts ORDER BY name;
SELECT consecutive_failures, last_success_at IS NOT NULL AS succeeded_once
  FROM reverse_etl.mapping_status WHERE mapping = 'al';

-- 6b. A failed run says nothing of the share: "al share" keeps firing and
-- its reminder, once due (the test moves its last alert back), says so;
-- "al fail" fires again.
UPDATE reverse_etl.alert_catalog SET last_alert_at = last_alert_at - interval '2 days' WHERE name = 'al share';
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/data": {"status": 401, "body": "bad credentials"}}}');
SELECT al_sync();
SELECT path, body->>'alert' AS alert, body->>'kind' AS kind, body->>'text' AS text FROM al_posts();

-- 7. Everything delivered: both resolve.
SELECT mock_reset();
SELECT al_sync();
SELECT path, body->>'alert' AS alert, body->>'kind' AS kind, body->'records' AS records FROM al_posts();
SELECT count(*) FILTER (WHERE firing) AS firing FROM reverse_etl.alerts;

-- 8. The alert endpoint is down: the alert stays pending with the error.
-- run_due_syncs() (what pg_cron calls; the launcher does the same at each
-- pass) posts it again once its delay is over: 30 s after the first
-- attempt, twice as long after each next one; the 8th failure gives up.
-- The test moves the last attempt a day back to skip the waits.
UPDATE al_people SET name = 'Anne' WHERE id = 1;
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/data": {"status": 401, "body": "bad credentials"},
                                  "/alerts": {"status": 503, "body": "alert hook down"}}}');
SELECT al_sync();
SELECT alert, kind, status, attempts, error FROM al_events() WHERE status <> 'sent';
SELECT reverse_etl.run_due_syncs();
SELECT alert, kind, status, attempts FROM al_events() WHERE status <> 'sent';
CREATE FUNCTION al_skip_retry_delay() RETURNS void
LANGUAGE sql AS $$
    UPDATE reverse_etl.alert_event_catalog SET last_attempt_at = last_attempt_at - interval '1 day'
     WHERE status = 'pending'
$$;
SELECT al_skip_retry_delay();
SELECT reverse_etl.run_due_syncs();
SELECT alert, kind, status, attempts, error FROM al_events() WHERE status <> 'sent';
DO $$
BEGIN
    FOR i IN 1..6 LOOP
        PERFORM al_skip_retry_delay();
        PERFORM reverse_etl.run_due_syncs();
    END LOOP;
END $$;
SELECT alert, kind, status, attempts, error FROM al_events() WHERE status <> 'sent';
SELECT count(*) AS alert_posts FROM al_posts() WHERE path = '/alerts';
-- A post that fails once and then goes through at the next try: the run
-- succeeds, "al fail" resolves.
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/alerts": {"status": 503, "body": "alert hook down"}}}');
SELECT al_sync();
SELECT alert, kind, status, attempts, error FROM al_events() WHERE status = 'pending';
SELECT mock_config('{"per_path": {"/alerts": {"status": 200}}}');
SELECT al_skip_retry_delay();
SELECT reverse_etl.run_due_syncs();
SELECT count(*) AS pending FROM reverse_etl.alert_events WHERE status = 'pending';
SELECT path, status, body->>'alert' AS alert, body->>'kind' AS kind FROM al_posts();

-- 9. A disabled alert destination: the alert fails at once, saying why.
UPDATE al_people SET name = 'Ann' WHERE id = 1;
SELECT reverse_etl.disable_destination('al slack');
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/data": {"status": 401, "body": "bad credentials"}}}');
SELECT al_sync();
SELECT al_sync();
SELECT alert, kind, status, attempts, error FROM reverse_etl.alert_events
 WHERE alert = 'al twice' ORDER BY event_id DESC LIMIT 1;
SELECT reverse_etl.enable_destination('al slack');

-- A rule whose owner may no longer use its mapping or destination (the
-- test gives it to a role without those rights, as a revoked membership
-- would leave it): its alerts are failed, not posted.
CREATE ROLE al_nobody;
UPDATE reverse_etl.alert_catalog SET owner = 'al_nobody'::regrole WHERE name = 'al fail';
SELECT mock_reset();
SELECT al_sync();
SELECT alert, kind, status, error FROM reverse_etl.alert_events
 WHERE status <> 'sent' ORDER BY event_id DESC LIMIT 1;
SELECT path, body->>'text' AS text FROM al_posts();
-- The same when the owner role is gone (DROP ROLE does not see our rows).
DROP ROLE al_nobody;
UPDATE al_people SET name = 'Anne' WHERE id = 1;
SELECT mock_reset();
SELECT mock_config('{"per_path": {"/data": {"status": 401, "body": "bad credentials"}}}');
SELECT al_sync();
SELECT alert, kind, status, error FROM reverse_etl.alert_events
 WHERE status <> 'sent' ORDER BY event_id DESC LIMIT 1;
SELECT count(*) AS alert_posts FROM al_posts();
UPDATE reverse_etl.alert_catalog SET owner = current_user::regrole WHERE name = 'al fail';

-- 10. Other roles see none of it; dropping an alert destination needs
-- cascade; dropping the mapping drops its rules and their history.
CREATE ROLE al_other;
GRANT USAGE ON SCHEMA reverse_etl TO al_other;
GRANT EXECUTE ON FUNCTION reverse_etl.drop_alert(text) TO al_other;
SET ROLE al_other;
SELECT count(*) FROM reverse_etl.alerts;
SELECT count(*) FROM reverse_etl.alert_events;
SELECT reverse_etl.drop_alert('al fail');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE ALL ON FUNCTION reverse_etl.drop_alert(text) FROM al_other;
REVOKE USAGE ON SCHEMA reverse_etl FROM al_other;
DROP ROLE al_other;
SELECT reverse_etl.drop_destination('al slack');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.drop_destination('al slack', cascade => true);
SELECT name FROM reverse_etl.alerts ORDER BY name;
-- reassign_owner moves alert rules with the rest (the test gives one to a
-- role first, as if that role had created it).
CREATE ROLE al_owner;
CREATE ROLE al_new;
UPDATE reverse_etl.alert_catalog SET owner = 'al_owner'::regrole WHERE name = 'al share';
SELECT reverse_etl.reassign_owner('al_owner', 'al_new');
SELECT name, owner = 'al_new' AS moved FROM reverse_etl.alerts ORDER BY name;
SELECT reverse_etl.drop_alert('al share');
SELECT name FROM reverse_etl.alerts ORDER BY name;
DROP ROLE al_owner, al_new;
SELECT reverse_etl.drop_mapping('al');
SELECT count(*) AS rules, (SELECT count(*) FROM reverse_etl.alert_event_catalog) AS events
  FROM reverse_etl.alert_catalog;

SELECT reverse_etl.drop_destination('al hook');
SELECT reverse_etl.drop_destination('al data');
SELECT reverse_etl.drop_destination('al segment');
SELECT reverse_etl.drop_model('al people');
DROP FUNCTION al_sync, al_events, al_posts, al_mask, al_skip_retry_delay;
DROP TABLE al_people;
