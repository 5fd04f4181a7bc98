-- reverse_etl_state.render_values(VARIADIC "any"): for each argument exactly
-- the text of pg_catalog.to_json(argument)::text, the fields joined by the byte
-- 0x1F; a NULL argument gives an empty field. Checked against to_json itself
-- on a table of every kind of type and edge value, under several settings.
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';
SET lc_monetary = 'C';

CREATE SCHEMA render_values_test;
CREATE TYPE render_values_test.mood AS ENUM ('sad', 'ok', 'happy "quoted"');
-- An enum with a cast to json: to_json renders it by the cast.
CREATE TYPE render_values_test.answer AS ENUM ('yes', 'no');
CREATE FUNCTION render_values_test.answer_json(render_values_test.answer) RETURNS json
LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.json_build_object('answer', $1::text, 'yes', $1 = 'yes') $$;
CREATE CAST (render_values_test.answer AS json) WITH FUNCTION render_values_test.answer_json(render_values_test.answer);
CREATE TYPE render_values_test.pair AS (a int, b text, c jsonb, d timestamptz, e render_values_test.answer);
CREATE DOMAIN render_values_test.positive AS int CHECK (VALUE > 0);
CREATE DOMAIN render_values_test.small_positive AS render_values_test.positive CHECK (VALUE < 1000000);
CREATE DOMAIN render_values_test.code AS text;
CREATE DOMAIN render_values_test.amount AS numeric;
CREATE DOMAIN render_values_test.moment AS timestamptz;
CREATE DOMAIN render_values_test.day AS date;
CREATE DOMAIN render_values_test.doc AS jsonb;
CREATE DOMAIN render_values_test.raw_doc AS json;
CREATE DOMAIN render_values_test.flag AS bool;
CREATE DOMAIN render_values_test.int_list AS int[];
CREATE DOMAIN render_values_test.answer_domain AS render_values_test.answer;

CREATE TABLE render_values_test.cases (
    label text PRIMARY KEY,
    b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, n2 numeric(12, 2),
    t text, vc varchar(40), bp char(5), nm name, ch "char",
    d date, ts timestamp, tstz timestamptz, tm time, tmtz timetz, iv interval,
    u uuid, j json, jb jsonb,
    ia int[], ta text[], tsa timestamptz[], jba jsonb[], na numeric[],
    r render_values_test.pair, e render_values_test.mood, an render_values_test.answer,
    dp render_values_test.positive, dsp render_values_test.small_positive, dc render_values_test.code,
    dn render_values_test.amount, dts render_values_test.moment, dd render_values_test.day,
    djb render_values_test.doc, dj render_values_test.raw_doc, dfl render_values_test.flag,
    dia render_values_test.int_list, dan render_values_test.answer_domain,
    by bytea, ip inet, cid cidr, mac macaddr, bt bit(4), vb varbit, pt point, tv tsvector,
    rg int4range, o oid, rc regclass, lsn pg_lsn, mo money
);

INSERT INTO render_values_test.cases VALUES
('a typical', true, 1234, 42, 9007199254740993, 1.5, 0.1, 12345.678, 19.90,
 'Ada Lovelace', 'ada@example.com', 'ab', 'a name', 'x',
 '2024-02-29', '2024-02-29 13:45:56.789', '2024-06-30 23:59:59.5+00', '13:45:56.789', '13:45:56+05:30',
 '1 year 2 months 3 days 04:05:06.789',
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '  {"a" :  1,   "b":[ 1 , 2 ] }  ',
 '{"b": [1, 2.50, {"c": null}], "a": "x\"y", "n": 1e3, "tags": ["x", "y"]}',
 '{1,NULL,3}', '{"a\"b","c\\d",NULL,""}', '{"2024-01-01 00:00:00+00",infinity,NULL}',
 ARRAY['{"a": 1}'::jsonb, NULL, '[1, "x"]'], '{1.50,NaN,-Infinity,NULL}',
 ROW(1, 'x"y', '{"k": [1]}', '2024-01-01 12:00:00+00', 'yes'), 'happy "quoted"', 'yes',
 7, 8, 'ABC-"1"', 99.95, '2024-01-01 00:00:00+00', '2024-01-31', '{"nested": {"a": [true, false, null]}}',
 '{"raw" : true}', true, '{1,2}', 'no',
 '\x00ff', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', B'1010', B'10', '(1.5,-2)',
 'fat cat ''sat''', '[1,10)', 4294967295, 'pg_class', '16/B374D848', 12.34),
('c high edges', false, 32767, 2147483647, 9223372036854775807, 'NaN', 'Infinity', 'Infinity', 9999999999.99,
 E'tab\there "quoted" back\\slash / </script>', 'varchar with  two spaces', 'abcde', 'quote"name', '"',
 'infinity', 'infinity', 'infinity', '24:00:00', '00:00:00-12', '178000000 years',
 'ffffffff-ffff-ffff-ffff-ffffffffffff', E'{\n  "x": "y",\t"z" : [ ]\n}', '{"big": 123456789012345678901234567890.123456789}',
 '{{1,2},{3,4}}', '{"{}","[]",null,"NULL"}', '{infinity,-infinity}', ARRAY['null'::jsonb], '{1e-20}',
 ROW(NULL, NULL, NULL, NULL, NULL), 'sad', 'no',
 2147483647, 999999, '', 'NaN', 'infinity', 'infinity', '[]', '"just a string"', false, '{}', 'yes',
 '', '::1', '::/0', 'ff:ff:ff:ff:ff:ff', B'1111', B'', '(1e+300,-1e-300)',
 '', 'empty', 0, 'pg_catalog.pg_type', 'FFFFFFFF/FFFFFFFF', 92233720368547758.07),
('d low edges', true, -32768, -2147483648, -9223372036854775808, '-Infinity', '-Infinity', '-Infinity', -9999999999.99,
 E'\x01\x02\x1e\x1f\x7f ctrl', 'a\b', '', E'back\\slash', E'\\',
 '-infinity', '-infinity', '-infinity', '00:00:00', '23:59:59.999999+14:59', '-178000000 years',
 '00000000-0000-0000-0000-000000000000', '"\u0000 and \ud83d\ude00 and \\"', '"a\"b\\c\u0001"',
 '[0:1]={5,6}', '{}', '{}', '{}', '{}',
 ROW(-1, '', '"s"', '-infinity', 'no'), 'ok', 'yes',
 1, 1, E'\n', '-Infinity', '-infinity', '-infinity', 'null', 'null', true, '{-1,NULL}', 'no',
 'abc', '0.0.0.0', '0.0.0.0/0', '00:00:00:00:00:00', B'0000', B'0', '(0,0)',
 'a:1A b:2B,3C', '(,)', 1, 'pg_class', '0/0', -92233720368547758.08),
('e zero and precision', false, 0, 0, 0, '-0', '-0', '-0.000', 0.00,
 '', '', ' ', '', 'a',
 '4713-01-01 BC', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC', '00:00:00.000001', '00:00:00+00', '0',
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'null', '-0',
 '{}', '{""}', NULL, NULL, '{0,-0}',
 NULL, NULL, NULL,
 NULL, NULL, NULL, 0, NULL, NULL, '{}', NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, 0),
('f big numbers', true, 1, 1, 1, 3.4028235e38, 1.7976931348623157e308,
 ('1' || repeat('0', 1000))::numeric, 0.01,
 'héllo wörld ✓ 日本語 😀', 'ünïcödé', 'ñ', 'ß', 'z',
 '5874897-12-31', '294276-12-31 23:59:59.999999', '294276-12-31 23:59:59.999999+00', '23:59:59.999999', '23:59:59.999999-15:59', '-1 day +02:00:00.5',
 NULL, '123.4500', '1e-7',
 NULL, '{"héllo","😀"}', NULL, NULL, '{123456789012345678901234567890.000000000001}',
 ROW(2147483647, 'ünïcödé', '{"a": "é"}', '294276-12-31 23:59:59.999999+00', NULL), NULL, NULL,
 NULL, NULL, 'ß', 1e100, NULL, NULL, '{"é": "ü"}', NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL),
('g small numbers', false, -1, -1, -1, 1e-45, 5e-324,
 ('0.' || repeat('0', 999) || '1')::numeric, -0.01,
 E'\b\f\n\r\t\\"', NULL, 'x', NULL, NULL,
 '0001-01-01', '0044-03-15 12:00:00.123456 BC', '0044-03-15 12:00:00 BC', NULL, NULL, '-0.000001 seconds',
 NULL, '[]', '{}',
 NULL, NULL, NULL, NULL, '{{1,2}}',
 NULL, NULL, NULL,
 NULL, NULL, NULL, -1e-100, '1900-01-01 00:00:00+00', '0001-01-01 BC', '{}', '{}', NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL),
('h time zones', NULL, NULL, NULL, NULL, 1.1, 1.1, 1.1, NULL,
 NULL, NULL, NULL, NULL, NULL,
 NULL, '1900-01-01 00:00:00', '1900-01-01 00:00:00+00', NULL, NULL, NULL,
 NULL, NULL, NULL,
 NULL, NULL, '{"1900-01-01 00:00:00+00","2021-03-28 01:30:00+00","2021-10-31 00:30:00+00"}', NULL, NULL,
 ROW(NULL, NULL, NULL, '1900-01-01 00:00:00+00', NULL), NULL, NULL,
 NULL, NULL, NULL, NULL, '2021-03-28 01:30:00+00', NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO render_values_test.cases (label) VALUES ('b all null');

-- Each column alone (one argument per call), every row, against to_json; then
-- every column in one call per row, in table order and reversed (NULLs
-- and types in other positions). All mismatch counts must be 0.
CREATE FUNCTION render_values_test.check(OUT columns_checked int, OUT values_checked bigint,
                                         OUT single_mismatches bigint, OUT mismatched_columns text,
                                         OUT rows_checked bigint, OUT all_columns_mismatches bigint,
                                         OUT reversed_mismatches bigint)
LANGUAGE plpgsql AS $$
DECLARE
    col name;
    present bigint;
    wrong bigint;
    columns text[];
    expected text[];
BEGIN
    columns_checked := 0;
    values_checked := 0;
    single_mismatches := 0;
    mismatched_columns := '';
    FOR col IN SELECT attname FROM pg_catalog.pg_attribute
               WHERE attrelid = 'render_values_test.cases'::regclass AND attnum > 1 AND NOT attisdropped
               ORDER BY attnum LOOP
        EXECUTE format('SELECT count(%1$I), count(*) FILTER (WHERE reverse_etl_state.render_values(%1$I)'
                       ' IS DISTINCT FROM coalesce(pg_catalog.to_json(%1$I)::text, ''''))'
                       ' FROM render_values_test.cases', col) INTO present, wrong;
        columns_checked := columns_checked + 1;
        values_checked := values_checked + present;
        single_mismatches := single_mismatches + wrong;
        IF wrong > 0 THEN
            mismatched_columns := mismatched_columns || col || ' ';
        END IF;
        columns := columns || quote_ident(col);
        expected := expected || format('coalesce(pg_catalog.to_json(%I)::text, '''')', col);
    END LOOP;
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE reverse_etl_state.render_values(%s)'
                   ' IS DISTINCT FROM pg_catalog.concat_ws(E''\x1f'', %s)) FROM render_values_test.cases',
                   array_to_string(columns, ', '), array_to_string(expected, ', '))
        INTO rows_checked, all_columns_mismatches;
    EXECUTE format('SELECT count(*) FILTER (WHERE reverse_etl_state.render_values(%s)'
                   ' IS DISTINCT FROM pg_catalog.concat_ws(E''\x1f'', %s)) FROM render_values_test.cases',
                   (SELECT string_agg(c, ', ' ORDER BY o DESC) FROM unnest(columns) WITH ORDINALITY AS u(c, o)),
                   (SELECT string_agg(c, ', ' ORDER BY o DESC) FROM unnest(expected) WITH ORDINALITY AS u(c, o)))
        INTO reversed_mismatches;
END $$;

SELECT * FROM render_values_test.check();

-- The same under other formatting settings and time zones (a zone with a
-- 45-minute offset; one whose 1900 offset has seconds; DST changes in 2021).
SET TimeZone = 'Asia/Kathmandu';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = 0;
SET bytea_output = 'escape';
SELECT * FROM render_values_test.check();
SET TimeZone = 'Europe/Amsterdam';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'sql_standard';
SET extra_float_digits = 3;
SELECT * FROM render_values_test.check();
SET TimeZone = 'America/New_York';
SET DateStyle = 'German';
SET IntervalStyle = 'postgres_verbose';
SET extra_float_digits = -15;
SELECT * FROM render_values_test.check();
RESET DateStyle;
RESET IntervalStyle;
RESET extra_float_digits;
RESET bytea_output;
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';

-- One boolean per row: all columns in one call equal the to_json fields.
SELECT label,
       reverse_etl_state.render_values(b, i2, i4, i8, f4, f8, n, n2, t, vc, bp, nm, ch, d, ts, tstz, tm, tmtz, iv,
                                       u, j, jb, ia, ta, tsa, jba, na, r, e, an, dp, dsp, dc, dn, dts, dd, djb,
                                       dj, dfl, dia, dan, by, ip, cid, mac, bt, vb, pt, tv, rg, o, rc, lsn, mo)
       = concat_ws(E'\x1f', coalesce(to_json(b)::text, ''), coalesce(to_json(i2)::text, ''),
                   coalesce(to_json(i4)::text, ''), coalesce(to_json(i8)::text, ''),
                   coalesce(to_json(f4)::text, ''), coalesce(to_json(f8)::text, ''),
                   coalesce(to_json(n)::text, ''), coalesce(to_json(n2)::text, ''),
                   coalesce(to_json(t)::text, ''), coalesce(to_json(vc)::text, ''),
                   coalesce(to_json(bp)::text, ''), coalesce(to_json(nm)::text, ''),
                   coalesce(to_json(ch)::text, ''), coalesce(to_json(d)::text, ''),
                   coalesce(to_json(ts)::text, ''), coalesce(to_json(tstz)::text, ''),
                   coalesce(to_json(tm)::text, ''), coalesce(to_json(tmtz)::text, ''),
                   coalesce(to_json(iv)::text, ''), coalesce(to_json(u)::text, ''),
                   coalesce(to_json(j)::text, ''), coalesce(to_json(jb)::text, ''),
                   coalesce(to_json(ia)::text, ''), coalesce(to_json(ta)::text, ''),
                   coalesce(to_json(tsa)::text, ''), coalesce(to_json(jba)::text, ''),
                   coalesce(to_json(na)::text, ''), coalesce(to_json(r)::text, ''),
                   coalesce(to_json(e)::text, ''), coalesce(to_json(an)::text, ''),
                   coalesce(to_json(dp)::text, ''), coalesce(to_json(dsp)::text, ''),
                   coalesce(to_json(dc)::text, ''), coalesce(to_json(dn)::text, ''),
                   coalesce(to_json(dts)::text, ''), coalesce(to_json(dd)::text, ''),
                   coalesce(to_json(djb)::text, ''), coalesce(to_json(dj)::text, ''),
                   coalesce(to_json(dfl)::text, ''), coalesce(to_json(dia)::text, ''),
                   coalesce(to_json(dan)::text, ''), coalesce(to_json(by)::text, ''),
                   coalesce(to_json(ip)::text, ''), coalesce(to_json(cid)::text, ''),
                   coalesce(to_json(mac)::text, ''), coalesce(to_json(bt)::text, ''),
                   coalesce(to_json(vb)::text, ''), coalesce(to_json(pt)::text, ''),
                   coalesce(to_json(tv)::text, ''), coalesce(to_json(rg)::text, ''),
                   coalesce(to_json(o)::text, ''), coalesce(to_json(rc)::text, ''),
                   coalesce(to_json(lsn)::text, ''), coalesce(to_json(mo)::text, '')) AS same
FROM render_values_test.cases ORDER BY label;

-- The most arguments a function takes (100), of alternating types (the
-- expected text joined by array_to_string: concat_ws takes 100 at most).
SELECT format('SELECT count(*) AS rows, count(*) FILTER (WHERE reverse_etl_state.render_values(%s) IS DISTINCT FROM array_to_string(ARRAY[%s], E''\x1f'')) AS mismatches FROM render_values_test.cases',
              string_agg(c, ', ' ORDER BY i), string_agg(format('coalesce(to_json(%s)::text, '''')', c), ', ' ORDER BY i))
FROM (SELECT i, (ARRAY['tstz', 't', 'i8', 'n2', 'jb', 'r', 'ia', 'b', 'f8', 'dc'])[1 + i % 10] AS c
      FROM generate_series(1, 100) AS i) AS columns \gexec

-- What the fields look like (0x1F shown as |).
SELECT replace(reverse_etl_state.render_values(1, NULL, 'a'), E'\x1f', '|') AS fields;
SELECT reverse_etl_state.render_values(1, NULL, 'a') = '1' || E'\x1f' || '' || E'\x1f' || '"a"' AS same;
-- A NULL gives an empty field, never a NULL result.
SELECT replace(reverse_etl_state.render_values(NULL, NULL), E'\x1f', '|') AS fields,
       reverse_etl_state.render_values(NULL::int) = '' AS empty;
SELECT replace(reverse_etl_state.render_values(true, 2::int2, -3, 4::int8, 12.50::numeric(6, 2), 'NaN'::numeric,
                                               '-Infinity'::float8, '-0'::float8, 1e300::float8, 'Infinity'::float4),
               E'\x1f', '|') AS numbers;
SELECT replace(reverse_etl_state.render_values(E'a"b\\c\n\x01'::text, 'ab'::char(5), ''::text, 'x'::varchar,
                                               'ok'::render_values_test.mood, 'no'::render_values_test.answer,
                                               'yes'::render_values_test.answer_domain),
               E'\x1f', '|') AS strings;
SELECT replace(reverse_etl_state.render_values('2024-02-29 13:45:56.789+00'::timestamptz, 'infinity'::timestamptz,
                                               '2024-02-29 13:45:56'::timestamp, '0044-03-15 BC'::date,
                                               '1900-01-01 00:00:00+00'::render_values_test.moment),
               E'\x1f', '|') AS datetimes_utc;
SET TimeZone = 'Europe/Amsterdam';
SELECT replace(reverse_etl_state.render_values('2024-02-29 13:45:56.789+00'::timestamptz,
                                               '1900-01-01 00:00:00+00'::timestamptz,
                                               ARRAY['1900-01-01 00:00:00+00'::timestamptz]),
               E'\x1f', '|') AS datetimes_amsterdam;
SET TimeZone = 'UTC';
SELECT replace(reverse_etl_state.render_values('  {"a" :  1 }  '::json, '{"b": [1, 2.50], "a": null}'::jsonb,
                                               '"x"'::render_values_test.doc, 'null'::json),
               E'\x1f', '|') AS json_values;
SELECT replace(reverse_etl_state.render_values(ARRAY[1, NULL], ARRAY[['a', 'b']], ROW(1, 'x', NULL),
                                               '{1,2}'::render_values_test.int_list, '\x01ff'::bytea,
                                               '1 day 02:00'::interval, '::1'::inet),
               E'\x1f', '|') AS other_values;

-- An explicit VARIADIC array is refused: it would arrive as one argument, the
-- array, and be rendered as one field.
SELECT reverse_etl_state.render_values(VARIADIC ARRAY[1, 2]);
\echo :LAST_ERROR_SQLSTATE

SET client_min_messages = warning;
DROP SCHEMA render_values_test CASCADE;
RESET client_min_messages;
RESET TimeZone;
RESET DateStyle;
RESET lc_monetary;
