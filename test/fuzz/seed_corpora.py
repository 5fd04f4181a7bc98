#!/usr/bin/env python3
"""Seed inputs for the fuzz targets, taken from the pg_regress tests.

Writes OUTDIR/<target>/<n> files: every string literal of sql/*.sql (quoted
'...' or dollar-quoted), sorted by what it looks like (JSON objects for field
specs and settings, URLs, short texts for schedules, host patterns and
names), plus a few inputs written here for the targets whose input the tests
do not spell out (column values, responses). Most candidates teach a target
nothing; `test/fuzz/run.sh --merge DIR` keeps those that add coverage.

usage: test/fuzz/seed_corpora.py OUTDIR
"""

import json
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

LITERAL = re.compile(r"'((?:[^']|'')*)'|\$([A-Za-z_]*)\$(.*?)\$\2\$", re.S)


def literals(sql):
    for match in LITERAL.finditer(sql):
        if match.group(1) is not None:
            yield match.group(1).replace("''", "'")
        else:
            yield match.group(3)


def json_strings(value):
    """Every string inside a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for element in value:
            yield from json_strings(element)
    elif isinstance(value, dict):
        for key, member in value.items():
            yield key
            yield from json_strings(member)


def payload_rows():
    """Rows of fuzz_support.cpp's model, joined by 0x1E as payload_fuzz reads them."""
    rows = [
        ['1', '"ann@example.com"', '"Ann"', '"Archer"', '"pro"', '49.00', '"2026-01-05T10:00:00+00:00"', 'true',
         '{"company": "Acme", "seats": 5}', '"o-1"', '1', '120.00',
         '[{"sku": "A1", "qty": 2}, {"sku": "B7", "qty": 1}]', '"2026-04-01T12:00:00+00:00"', '["a","b"]',
         '{"x": [1, {"y": "z"}], "flag": "true"}', '7', '1.5', '"1990-02-28"', '"AP8="',
         '"2026-01-05T10:00:00"', '"+33 1 23"', '"{\\"a\\": 1, \\"b\\": [true]}"'],
        ['2', '', '', '', '"free"', '', '"2026-01-06T00:00:00+00:00"', 'false', '', '"o-2"', '3', '15.50',
         '[{"sku": "C3", "qty": 1}]', '"2026-04-02T09:15:00+00:00"', '[]', ' {"x" : [ 2 ] } ', '0',
         '"NaN"', '"infinity"', '""', '"2026-03-29T02:30:00"', '""', '"[1, 2]"'],
        ['-9223372036854775808', '"\\u00e9\\"\\\\\\n"', '"42"', '"true"', '"x"', '-0.50', '"-infinity"',
         'true', '[1]', '"o-\\u0001"', '0', '1e-400', '{}', '"2026-10-25T01:30:00.5+01:00"', '[null]',
         '"just a string"', '2147483647', '1e+20', '"0001-01-01"', '"AAAA"', '"9999-12-31T23:59:59"',
         '"4.2e1"', '"not json {"'],
    ]
    return ['\x1e'.join(row) for row in rows]


def responses():
    return [
        'tok\n120\n{"error": "bad token s3cr3t-T0ken"}',
        '\nWed, 21 Oct 2015 07:28:00 GMT\nauth=p%40ss+word%2F%2B&x=1',
        'k\\ey\n"\\u00e9\\u20ac\\ud83d\\ude00 k\\\\ey"',
        '\n0\n{"echo": {"Authorization": "Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ=="}}',
        'secret\nSun, 06 Nov 1994 08:49:37 GMT\n<html>s%65cret</html>',
        '\n  30  \n[{"token": "s3cr3t-T0ken"}, 12345]',
    ]


def main():
    out = sys.argv[1]
    seeds = {target: set() for target in (
        'json_text', 'field_mapping', 'payload', 'schedule', 'cron', 'settings', 'url_template',
        'host_patterns', 'response', 'names')}
    for name in sorted(os.listdir(os.path.join(REPO, 'sql'))):
        if not name.endswith('.sql'):
            continue
        with open(os.path.join(REPO, 'sql', name), encoding='utf-8') as file:
            sql = file.read()
        for text in literals(sql):
            try:
                value = json.loads(text)
            except ValueError:
                value = None
            if isinstance(value, (dict, list)):
                seeds['json_text'].add(text)
                if isinstance(value, dict):
                    seeds['field_mapping'].add(text)
                    seeds['settings'].add(text)
                for inner in json_strings(value):
                    if '://' in inner or '{{' in inner:
                        seeds['url_template'].add(inner)
                continue
            if '://' in text or '{{' in text:
                seeds['url_template'].add(text)
                seeds['host_patterns'].add(text)
            if len(text) <= 80 and '\n' not in text:
                for target in ('schedule', 'cron', 'names', 'host_patterns'):
                    seeds[target].add(text)
    for line in re.findall(r"(?:allowed_hosts|blocked_networks)\s*(?:=|TO)\s*'([^']*)'",
                            open(os.path.join(REPO, 'sql', 'security_ssrf.sql'), encoding='utf-8').read()):
        seeds['host_patterns'].add(line)
    seeds['host_patterns'].add('127.0.0.0/8, ::1/128, 0.0.0.0/8, ::/128, 169.254.0.0/16, fe80::/10, '
                               'fd00:ec2::254/128, 100.100.100.200/32')
    seeds['payload'].update(payload_rows())
    seeds['response'].update(responses())
    for target, texts in seeds.items():
        directory = os.path.join(out, target)
        os.makedirs(directory, exist_ok=True)
        for number, text in enumerate(sorted(texts)):
            with open(os.path.join(directory, str(number)), 'w', encoding='utf-8') as file:
                file.write(text)
        print(f'{target}: {len(texts)} candidates')


if __name__ == '__main__':
    main()
