SET timezone = 'UTC';
SELECT to_char(d, 'Dy YYYY-MM-DD') FROM unnest(ARRAY['2026-01-01','2026-03-08','2026-11-01','2026-03-29','2026-10-25','2026-10-04','2026-04-05','2096-02-29','2100-03-01']::date[]) d;
SELECT utc_offset, is_dst FROM pg_timezone_names WHERE name = 'Australia/Lord_Howe';
SELECT t, t AT TIME ZONE 'Australia/Lord_Howe' FROM generate_series('2026-04-04 14:00+00'::timestamptz, '2026-04-04 16:30+00', '30 minutes') t;
SELECT t, t AT TIME ZONE 'Australia/Lord_Howe' FROM generate_series('2026-10-03 14:00+00'::timestamptz, '2026-10-03 16:30+00', '30 minutes') t;
SELECT reverse_etl.next_run_times('1 day', 'UTC', 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('@daily', 'UTC', 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('@daily', 'UTC', '-infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('1 day', 'UTC', '294276-12-29 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('@daily', 'UTC', '294276-12-29 00:00+00');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('@daily', '', '2026-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('@daily', 'europe/paris', '2026-01-01', 1);
SELECT reverse_etl.next_run_times('@daily', 'UTC+3', '2026-01-01', 1);
SELECT reverse_etl.next_run_times('@daily', 'EST', '2026-01-01', 1);
SELECT reverse_etl.next_run_times('@daily', 'PST', '2026-01-01', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('every tuesday', 'UTC', '2026-01-01', 1);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('1 month', 'UTC', '2026-01-01', 2);
SELECT reverse_etl.next_run_times('-5 minutes', 'UTC', '2026-01-01', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT reverse_etl.next_run_times('0 0 29 2 *', 'UTC', '2096-01-01', 2);
