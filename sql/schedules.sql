-- Schedules (SPEC section 4, "Schedules"): every schedule form, the next fire
-- times reverse_etl.next_run_times() computes (DST included), the errors, and
-- the next_run_at that mappings show.
SET timezone = 'UTC';

-- fires(): next_run_times() with each time also shown on the zone's wall clock.
CREATE FUNCTION pg_temp.fires(schedule text, tz text, after timestamptz, how_many int DEFAULT 5)
RETURNS TABLE (utc timestamptz, local_time timestamp) LANGUAGE sql AS $$
    SELECT t, t AT TIME ZONE tz
      FROM reverse_etl.next_run_times(schedule, tz, after, how_many) WITH ORDINALITY AS r(t, n)
     ORDER BY n
$$;

-- every_minutes(): a brute-force reference for "*/N * * * *": every N-th local
-- minute of the days around `after`, resolved by PostgreSQL's own
-- timestamp AT TIME ZONE, each instant once, in order.
CREATE FUNCTION pg_temp.every_minutes(step int, tz text, after timestamptz, how_many int)
RETURNS timestamptz[] LANGUAGE sql AS $$
    SELECT array_agg(t ORDER BY t) FROM (
        SELECT DISTINCT l AT TIME ZONE tz AS t
          FROM generate_series(date_trunc('day', after AT TIME ZONE tz) - interval '1 day',
                               date_trunc('day', after AT TIME ZONE tz) + interval '3 days',
                               make_interval(mins => step)) AS l
         WHERE l AT TIME ZONE tz > after
         ORDER BY t LIMIT how_many) AS s
$$;

--
-- manual and dbt never fire on their own: no rows. Case and spaces do not matter.
--
SELECT * FROM reverse_etl.next_run_times('manual', 'UTC', '2026-01-01 00:00+00');
SELECT * FROM reverse_etl.next_run_times('dbt', 'UTC', '2026-01-01 00:00+00');
SELECT count(*) FROM reverse_etl.next_run_times('  Manual ', 'UTC', '2026-01-01 00:00+00');
SELECT count(*) FROM reverse_etl.next_run_times('DBT', 'UTC', '2026-01-01 00:00+00');

--
-- Intervals: one interval after another, from `after`.
--
SELECT * FROM pg_temp.fires('15 minutes', 'UTC', '2026-01-01 00:00+00', 3);
SELECT * FROM pg_temp.fires('1 hour', 'UTC', '2026-01-01 00:07:30+00', 3);
SELECT * FROM pg_temp.fires('1 day', 'UTC', '2026-01-01 12:00+00', 3);
SELECT * FROM pg_temp.fires('90 minutes', 'UTC', '2026-01-01 00:00+00', 3);
-- 1 minute is the shortest interval allowed, however it is written.
SELECT * FROM pg_temp.fires('1 minute', 'UTC', '2026-01-01 00:00+00', 2);
SELECT * FROM pg_temp.fires('60 seconds', 'UTC', '2026-01-01 00:00+00', 2);
SELECT * FROM pg_temp.fires('1 hour 30 minutes', 'UTC', '2026-01-01 00:00+00', 2);
-- Shorter than a minute, zero or negative: errors.
SELECT * FROM reverse_etl.next_run_times('30 seconds', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('59 seconds', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 minutes', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('-5 minutes', 'UTC', '2026-01-01 00:00+00');
\echo :LAST_ERROR_SQLSTATE

--
-- Days and times (2026-01-01 is a Thursday).
--
SELECT * FROM pg_temp.fires('mon,wed,fri 09:00', 'UTC', '2026-01-01 00:00+00', 5);
SELECT * FROM pg_temp.fires('daily 06:30,18:00', 'UTC', '2026-01-01 12:00+00', 4);
SELECT * FROM pg_temp.fires('weekdays 08:00', 'UTC', '2026-01-02 12:00+00', 3);
SELECT * FROM pg_temp.fires('weekends 10:00', 'UTC', '2026-01-01 00:00+00', 3);
SELECT * FROM pg_temp.fires('mon-fri 08:00', 'UTC', '2026-01-02 12:00+00', 3);
-- Ranges may wrap past Sunday; full names, H:MM, upper case and spaces after
-- commas are fine.
SELECT * FROM pg_temp.fires('fri-mon 12:00', 'UTC', '2026-01-01 00:00+00', 5);
SELECT * FROM pg_temp.fires('Tuesday, THURS 9:05, 23:59', 'UTC', '2026-01-01 00:00+00', 4);
-- Equivalent spellings fire at the same times.
SELECT array(SELECT reverse_etl.next_run_times('mon-fri 08:00', 'UTC', '2026-01-01', 20))
     = array(SELECT reverse_etl.next_run_times('weekdays 08:00', 'UTC', '2026-01-01', 20)) AS same;
SELECT array(SELECT reverse_etl.next_run_times('daily 07:15', 'UTC', '2026-01-01', 20))
     = array(SELECT reverse_etl.next_run_times('mon-sun 07:15', 'UTC', '2026-01-01', 20)) AS same;
SELECT array(SELECT reverse_etl.next_run_times('weekends 10:00', 'UTC', '2026-01-01', 20))
     = array(SELECT reverse_etl.next_run_times('sat,sun 10:00', 'UTC', '2026-01-01', 20)) AS same;

--
-- Cron: five fields (minute, hour, day of month, month, day of week).
--
SELECT * FROM pg_temp.fires('*/20 * * * *', 'UTC', '2026-01-01 00:00+00', 4);
SELECT * FROM pg_temp.fires('0 9 * * 1-5', 'UTC', '2026-01-02 12:00+00', 5);
SELECT * FROM pg_temp.fires('30 2 1 * *', 'UTC', '2026-01-15 00:00+00', 3);
SELECT * FROM pg_temp.fires('5/15 8-9 * * *', 'UTC', '2026-01-01 00:00+00', 5);
SELECT * FROM pg_temp.fires('0,45 0-12/6 * * *', 'UTC', '2026-01-01 00:00+00', 5);
-- February 29 only in leap years, and 2100 is not one.
SELECT * FROM pg_temp.fires('0 0 29 2 *', 'UTC', '2026-01-01 00:00+00', 3);
SELECT * FROM pg_temp.fires('0 0 29 2 *', 'UTC', '2096-01-01 00:00+00', 2);
-- The 31st skips the months that do not have one.
SELECT * FROM pg_temp.fires('0 0 31 * *', 'UTC', '2026-01-01 00:00+00', 4);
-- Shortcuts.
SELECT * FROM pg_temp.fires('@hourly', 'UTC', '2026-01-01 00:30+00', 2);
SELECT * FROM pg_temp.fires('@daily', 'UTC', '2026-01-01 00:30+00', 2);
SELECT * FROM pg_temp.fires('@midnight', 'UTC', '2026-01-01 00:30+00', 1);
SELECT * FROM pg_temp.fires('@weekly', 'UTC', '2026-01-01 00:30+00', 2);
SELECT * FROM pg_temp.fires('@monthly', 'UTC', '2026-01-01 00:30+00', 2);
SELECT * FROM pg_temp.fires('@yearly', 'UTC', '2026-01-01 00:30+00', 2);
SELECT * FROM pg_temp.fires('@ANNUALLY', 'UTC', '2026-01-01 00:30+00', 1);
-- Month and day names, any case; day of week 7 is Sunday, like 0.
SELECT * FROM pg_temp.fires('0 9 * jan,jul mon', 'UTC', '2026-01-01 00:00+00', 6);
SELECT * FROM pg_temp.fires('0 8 * * MON-FRI', 'UTC', '2026-01-02 12:00+00', 3);
SELECT * FROM pg_temp.fires('0 0 * Feb-Mar Sun', 'UTC', '2026-01-01 00:00+00', 3);
SELECT * FROM pg_temp.fires('0 0 * * 5-7', 'UTC', '2026-01-01 00:00+00', 4);
SELECT array(SELECT reverse_etl.next_run_times('0 0 * * 7', 'UTC', '2026-01-01', 10))
     = array(SELECT reverse_etl.next_run_times('0 0 * * 0', 'UTC', '2026-01-01', 10)) AS same;
-- Day of month AND day of week both restricted: either one matching is
-- enough (Vixie cron), so the 1st fires even on a Sunday (2026-02-01).
SELECT * FROM pg_temp.fires('0 0 1 * mon', 'UTC', '2026-01-20 00:00+00', 5);
SELECT * FROM pg_temp.fires('0 0 13 * fri', 'UTC', '2026-04-01 00:00+00', 5);
-- With either field "*", both must match: Mondays only.
SELECT * FROM pg_temp.fires('0 0 * * mon', 'UTC', '2026-01-20 00:00+00', 2);
-- Vixie cron looks at the first character only: "*/10" counts as "*", so
-- days 1, 11, 21, 31 that are also Mondays (2026-05-11 is the first).
SELECT * FROM pg_temp.fires('0 0 */10 * mon', 'UTC', '2026-01-01 00:00+00', 2);

--
-- `after` is exclusive: a fire time equal to it is not returned; the next
-- fire comes even a microsecond later.
--
SELECT * FROM pg_temp.fires('*/20 * * * *', 'UTC', '2026-01-01 00:20+00', 2);
SELECT * FROM pg_temp.fires('*/20 * * * *', 'UTC', '2026-01-01 00:19:59.999999+00', 2);
SELECT * FROM pg_temp.fires('weekdays 08:00', 'UTC', '2026-01-02 08:00+00', 2);
SELECT * FROM pg_temp.fires('daily 08:00', 'UTC', '2026-01-02 08:00:00.000001+00', 1);
SELECT * FROM pg_temp.fires('15 minutes', 'UTC', '2026-01-01 00:15+00', 1);

--
-- Time zones. The schedule runs on the zone's wall clock.
--
-- Asia/Kolkata is UTC+05:30 all year.
SELECT * FROM pg_temp.fires('weekdays 09:00', 'Asia/Kolkata', '2026-01-01 00:00+00', 3);
SELECT * FROM pg_temp.fires('0 9 * * *', 'Asia/Kolkata', '2026-01-01 03:30+00', 2);
-- Zone names are matched without regard to case, as SET timezone does.
SELECT * FROM pg_temp.fires('@daily', 'europe/paris', '2026-01-01 00:00+00', 1);

-- America/New_York springs forward on 2026-03-08: 02:00 EST -> 03:00 EDT.
-- 02:30 does not exist that day; it fires once, when PostgreSQL says
-- '2026-03-08 02:30' means in that zone (03:30 EDT, 07:30 UTC).
SELECT * FROM pg_temp.fires('daily 02:30', 'America/New_York', '2026-03-06 12:00+00', 4);
SELECT t AS next_fire,
       '2026-03-08 02:30'::timestamp AT TIME ZONE 'America/New_York' AS at_time_zone,
       t = '2026-03-08 02:30'::timestamp AT TIME ZONE 'America/New_York' AS same
  FROM reverse_etl.next_run_times('daily 02:30', 'America/New_York', '2026-03-08 00:00+00', 1) AS t;
-- Exactly on that fire time: the next one is the following day.
SELECT * FROM pg_temp.fires('daily 02:30', 'America/New_York', '2026-03-08 07:30+00', 1);
-- The same in cron form.
SELECT * FROM pg_temp.fires('30 2 * * *', 'America/New_York', '2026-03-06 12:00+00', 4);
-- Every 30 minutes across the gap: each instant once, in order, 30 minutes apart.
SELECT * FROM pg_temp.fires('*/30 * * * *', 'America/New_York', '2026-03-08 05:45+00', 6);
SELECT array(SELECT reverse_etl.next_run_times('*/30 * * * *', 'America/New_York', '2026-03-08 05:45+00', 6))
     = pg_temp.every_minutes(30, 'America/New_York', '2026-03-08 05:45+00', 6) AS same_as_at_time_zone;

-- America/New_York falls back on 2026-11-01: 02:00 EDT -> 01:00 EST, so
-- 01:00-01:59 happens twice. 01:30 fires once, at the instant PostgreSQL
-- gives '2026-11-01 01:30' (the second pass, 01:30 EST = 06:30 UTC).
SELECT * FROM pg_temp.fires('daily 01:30', 'America/New_York', '2026-10-30 12:00+00', 4);
SELECT t AS next_fire,
       '2026-11-01 01:30'::timestamp AT TIME ZONE 'America/New_York' AS at_time_zone,
       t = '2026-11-01 01:30'::timestamp AT TIME ZONE 'America/New_York' AS same
  FROM reverse_etl.next_run_times('daily 01:30', 'America/New_York', '2026-11-01 00:00+00', 1) AS t;
SELECT array(SELECT reverse_etl.next_run_times('30 1 * * *', 'America/New_York', '2026-10-30 12:00+00', 4))
     = array(SELECT reverse_etl.next_run_times('daily 01:30', 'America/New_York', '2026-10-30 12:00+00', 4)) AS same;
-- During the first pass of 01:30 (05:30 UTC) the day's run is still ahead.
SELECT * FROM pg_temp.fires('30 1 * * *', 'America/New_York', '2026-11-01 05:30+00', 2);
-- Every 30 minutes across the overlap: each local time once, as AT TIME ZONE
-- resolves it, so the first pass of 01:00 and 01:30 (EDT) has no run.
SELECT * FROM pg_temp.fires('*/30 * * * *', 'America/New_York', '2026-11-01 03:45+00', 6);
SELECT array(SELECT reverse_etl.next_run_times('*/30 * * * *', 'America/New_York', '2026-11-01 03:45+00', 6))
     = pg_temp.every_minutes(30, 'America/New_York', '2026-11-01 03:45+00', 6) AS same_as_at_time_zone;

-- Europe/Paris: 2026-03-29 02:00 CET -> 03:00 CEST, 2026-10-25 03:00 CEST -> 02:00 CET.
SELECT * FROM pg_temp.fires('daily 02:30', 'Europe/Paris', '2026-03-27 12:00+00', 3);
SELECT * FROM pg_temp.fires('daily 02:30', 'Europe/Paris', '2026-10-23 12:00+00', 3);
SELECT t = '2026-03-29 02:30'::timestamp AT TIME ZONE 'Europe/Paris' AS spring_same,
       t2 = '2026-10-25 02:30'::timestamp AT TIME ZONE 'Europe/Paris' AS autumn_same
  FROM reverse_etl.next_run_times('daily 02:30', 'Europe/Paris', '2026-03-29 00:00+00', 1) AS t,
       reverse_etl.next_run_times('daily 02:30', 'Europe/Paris', '2026-10-25 00:00+00', 1) AS t2;

-- Australia/Lord_Howe moves its clocks by 30 minutes: on 2026-04-05
-- 02:00 (+11) -> 01:30 (+10:30), on 2026-10-04 02:00 (+10:30) -> 02:30 (+11).
SELECT * FROM pg_temp.fires('daily 01:45', 'Australia/Lord_Howe', '2026-04-03 00:00+00', 3);
SELECT * FROM pg_temp.fires('daily 02:15', 'Australia/Lord_Howe', '2026-10-02 00:00+00', 3);
SELECT array(SELECT reverse_etl.next_run_times('*/15 * * * *', 'Australia/Lord_Howe', '2026-04-04 14:00+00', 12))
     = pg_temp.every_minutes(15, 'Australia/Lord_Howe', '2026-04-04 14:00+00', 12) AS autumn_same,
       array(SELECT reverse_etl.next_run_times('*/15 * * * *', 'Australia/Lord_Howe', '2026-10-03 14:00+00', 12))
     = pg_temp.every_minutes(15, 'Australia/Lord_Howe', '2026-10-03 14:00+00', 12) AS spring_same;

--
-- Near the end of timestamptz's range (294276 AD) every form stops with the
-- error timestamptz arithmetic gives ('294276-12-29'::timestamptz + '3 days'),
-- never returning a value past the range.
--
SELECT * FROM reverse_etl.next_run_times('1 day', 'UTC', '294276-12-29 00:00+00', 5);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('@daily', 'UTC', '294276-12-29 00:00+00', 5);
\echo :LAST_ERROR_SQLSTATE

--
-- Errors: bad schedule text names it, says what is wrong and hints at the forms.
--
SELECT * FROM reverse_etl.next_run_times('sometimes', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('mon,wed', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('mnday 09:00', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('mon 24:00', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('mon 9am', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('mon,,wed 09:00', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('daily 06:30,', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('* * * *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('@every_5m', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
-- Invalid cron field values. A cron-shaped text is reported as cron even
-- when PostgreSQL's interval input would accept it ('60 * * * *'::interval
-- is 1 minute, '5-1 * * * *'::interval is 5 years 1 month).
SELECT * FROM reverse_etl.next_run_times('60 * * * *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 24 * * *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 0 0 * *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 0 32 * *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 0 * 13 *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 0 * * 8', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 0 * foo *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('*/0 * * * *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('5-1 * * * *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 0 1, * *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('0 0 30 2 *', 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
-- Unknown time zones (an abbreviation has no DST rules, so it is not a zone).
SELECT * FROM reverse_etl.next_run_times('@daily', 'Mars/Olympus', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('manual', 'PST', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('15 minutes', '', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
-- count runs from 1 to 1000.
SELECT count(*) FROM reverse_etl.next_run_times('1 minute', 'UTC', '2026-01-01', 1000);
SELECT * FROM reverse_etl.next_run_times('1 minute', 'UTC', '2026-01-01', 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('1 minute', 'UTC', '2026-01-01', 1001);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('1 minute', 'UTC', '2026-01-01', -1);
\echo :LAST_ERROR_SQLSTATE
-- NULL arguments are errors naming them, not silent empty results.
SELECT * FROM reverse_etl.next_run_times(NULL, 'UTC', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('@daily', NULL, '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('@daily', 'UTC', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM reverse_etl.next_run_times('@daily', 'UTC', '2026-01-01', NULL);
\echo :LAST_ERROR_SQLSTATE
-- The defaults: UTC, now(), 5 times.
SELECT count(*) AS how_many, bool_and(t > now()) AS all_later,
       bool_and(extract(minute FROM t) = 0 AND extract(second FROM t) = 0) AS on_the_hour
  FROM reverse_etl.next_run_times('@hourly') AS t;

--
-- Mappings: next_run_at.
--
SELECT reverse_etl.create_model('sched_users', 'SELECT id, email FROM public.users', 'id');
SELECT reverse_etl.create_destination('sched_hook', 'webhook', '{"url": "http://127.0.0.1:18080/hook"}');
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  name => 'sched manual');
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => 'dbt', name => 'sched dbt');
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => '15 minutes', name => 'sched interval');
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => 'daily 06:30,18:00', timezone => 'America/New_York',
                                  name => 'sched daily');
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => '*/20 * * * *', timezone => 'Asia/Kolkata',
                                  name => 'sched cron');
-- Disabled mappings (the default) have no next run.
SELECT name, schedule, timezone, enabled, next_run_at
  FROM reverse_etl.mappings WHERE model = 'sched_users' ORDER BY name;
-- Enabled mappings of a disabled destination have none either.
SELECT reverse_etl.enable_mapping(name) FROM reverse_etl.mappings
 WHERE model = 'sched_users' ORDER BY name;
SELECT name, enabled, next_run_at
  FROM reverse_etl.mappings WHERE model = 'sched_users' ORDER BY name;
-- Enabling the destination: the interval mapping is due at once (now() of
-- that transaction), day/time and cron at their next fire after now();
-- manual and dbt never.
BEGIN;
SELECT reverse_etl.enable_destination('sched_hook');
SELECT name, next_run_at IS NULL AS no_next_run,
       next_run_at = now() AS due_now,
       next_run_at > now() AS later,
       next_run_at = (SELECT t FROM reverse_etl.next_run_times(m.schedule, m.timezone, now(), 1) AS t)
           AS next_fire
  FROM reverse_etl.mappings AS m WHERE model = 'sched_users' ORDER BY name;
COMMIT;
-- On the wall clock of their zones: 06:30 or 18:00 in New York, a multiple
-- of 20 minutes in Kolkata.
SELECT name, CASE name
           WHEN 'sched daily' THEN to_char(next_run_at AT TIME ZONE timezone, 'HH24:MI:SS') IN ('06:30:00', '18:00:00')
           WHEN 'sched cron' THEN to_char(next_run_at AT TIME ZONE timezone, 'MI:SS') IN ('00:00', '20:00', '40:00')
       END AS on_schedule
  FROM reverse_etl.mappings WHERE name IN ('sched daily', 'sched cron') ORDER BY name;
-- Disabling the destination clears every next run; enabling it again sets them.
SELECT reverse_etl.disable_destination('sched_hook');
SELECT name, next_run_at FROM reverse_etl.mappings WHERE model = 'sched_users' ORDER BY name;
BEGIN;
SELECT reverse_etl.enable_destination('sched_hook');
SELECT name, next_run_at IS NULL AS no_next_run, next_run_at = now() AS due_now
  FROM reverse_etl.mappings WHERE model = 'sched_users' ORDER BY name;
COMMIT;
-- Disabling one mapping clears its next run only.
SELECT reverse_etl.disable_mapping('sched interval');
SELECT name, enabled, next_run_at IS NULL AS no_next_run
  FROM reverse_etl.mappings WHERE model = 'sched_users' ORDER BY name;
BEGIN;
SELECT reverse_etl.enable_mapping('sched interval');
SELECT next_run_at = now() AS due_now FROM reverse_etl.mappings WHERE name = 'sched interval';
COMMIT;
-- Changing the schedule or the time zone recomputes the next run.
BEGIN;
SELECT reverse_etl.alter_mapping('sched manual', schedule => '1 hour');
SELECT schedule, next_run_at = now() AS due_now FROM reverse_etl.mappings WHERE name = 'sched manual';
SELECT reverse_etl.alter_mapping('sched manual', schedule => 'manual');
SELECT schedule, next_run_at FROM reverse_etl.mappings WHERE name = 'sched manual';
SELECT reverse_etl.alter_mapping('sched daily', timezone => 'Asia/Kolkata');
SELECT timezone,
       next_run_at = (SELECT t FROM reverse_etl.next_run_times('daily 06:30,18:00', 'Asia/Kolkata', now(), 1) AS t)
           AS next_fire
  FROM reverse_etl.mappings WHERE name = 'sched daily';
SELECT reverse_etl.alter_mapping('sched cron', schedule => '0 9 * * mon', timezone => 'Europe/Paris');
SELECT schedule, timezone,
       next_run_at = (SELECT t FROM reverse_etl.next_run_times('0 9 * * mon', 'Europe/Paris', now(), 1) AS t)
           AS next_fire,
       to_char(next_run_at AT TIME ZONE 'Europe/Paris', 'Dy HH24:MI') AS paris_time
  FROM reverse_etl.mappings WHERE name = 'sched cron';
COMMIT;
-- Created enabled on an enabled destination: due at once.
BEGIN;
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => '1 hour', name => 'sched enabled', enabled => true);
SELECT enabled, next_run_at = now() AS due_now FROM reverse_etl.mappings WHERE name = 'sched enabled';
COMMIT;
-- A copy starts disabled: no next run.
SELECT reverse_etl.duplicate_mapping('sched enabled');
SELECT name, schedule, enabled, next_run_at IS NULL AS no_next_run FROM reverse_etl.mappings
 WHERE name LIKE 'sched enabled%' ORDER BY name;

-- create_mapping and alter_mapping reject a bad schedule or time zone.
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => 'every day', name => 'sched bad');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => '30 seconds', name => 'sched bad');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => '0 25 * * *', name => 'sched bad');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => '@daily', timezone => 'Mars/Olympus', name => 'sched bad');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  schedule => NULL, name => 'sched bad');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.create_mapping('sched_users', 'sched_hook', 'send', '{"id": "id"}',
                                  timezone => NULL, name => 'sched bad');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM reverse_etl.mappings WHERE name = 'sched bad';
SELECT reverse_etl.alter_mapping('sched daily', schedule => 'mon,wed,fri 9');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('sched daily', schedule => '0 0 31 2 *');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.alter_mapping('sched daily', timezone => 'Europe/Pariss');
\echo :LAST_ERROR_SQLSTATE
-- ... and leave the mapping as it was.
SELECT schedule, timezone, next_run_at IS NOT NULL AS has_next_run
  FROM reverse_etl.mappings WHERE name = 'sched daily';

-- Clean up.
SELECT reverse_etl.disable_destination('sched_hook');
SELECT reverse_etl.drop_model('sched_users', cascade => true);
SELECT reverse_etl.drop_destination('sched_hook');
SELECT count(*) FROM reverse_etl.mappings WHERE model = 'sched_users';
