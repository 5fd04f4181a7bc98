#!/usr/bin/python3
"""B1: the sync job a data engineer would write by hand (psycopg2 + requests).

A state table remembers, for each record id, a hash of the row last delivered.
PostgreSQL finds the rows that are new or whose hash changed (one query, a
hash join with the state, streamed through a server-side cursor), renders each
as JSON (row_to_json), and the job POSTs them as JSON arrays of --batch-size
records, one request at a time over a kept-alive connection, retrying
connection errors, 429 and 5xx with exponential backoff. After each
acknowledged request the batch's ids and hashes are upserted into the state
and committed, so a crash resends at most one batch (at least once, as the
engine). Deletions are not sent (as the engine's added_or_updated mode).

    baseline_sync.py --dsn DSN --model 'SELECT ...' --url URL
                     [--state-table public.baseline_state] [--batch-size 500]

Prints one JSON line: elapsed seconds, records sent, requests.
"""

import argparse
import json
import time

import psycopg2
import psycopg2.extras
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--model", required=True, help="the model's query; its rows have a unique id column")
    parser.add_argument("--url", required=True)
    parser.add_argument("--state-table", default="public.baseline_state")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    started = time.monotonic()

    reader = psycopg2.connect(args.dsn)
    writer = psycopg2.connect(args.dsn)
    with writer.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {args.state_table} (id bigint PRIMARY KEY, hash bigint NOT NULL)")
    writer.commit()

    session = requests.Session()
    retries = Retry(total=5, backoff_factor=1, status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None)
    session.mount("http://", HTTPAdapter(max_retries=retries))
    session.mount("https://", HTTPAdapter(max_retries=retries))

    changed = reader.cursor(name="changed_rows")  # server-side cursor: rows stream in, memory stays flat
    changed.itersize = 5000
    changed.execute(f"""
        SELECT m.id, hashtextextended(m::text, 0) AS hash, row_to_json(m)::text AS record
          FROM ({args.model}) m
          LEFT JOIN {args.state_table} s ON s.id = m.id
         WHERE s.hash IS DISTINCT FROM hashtextextended(m::text, 0)""")

    sent = 0
    requests_sent = 0
    upsert = (f"INSERT INTO {args.state_table} (id, hash) VALUES %s "
              "ON CONFLICT (id) DO UPDATE SET hash = EXCLUDED.hash")

    def deliver(batch):
        nonlocal sent, requests_sent
        body = "[" + ",".join(record for _, _, record in batch) + "]"
        response = session.post(args.url, data=body.encode(), headers={"Content-Type": "application/json"},
                                timeout=30)
        requests_sent += 1
        response.raise_for_status()
        with writer.cursor() as cur:
            psycopg2.extras.execute_values(cur, upsert, [(id_, hash_) for id_, hash_, _ in batch],
                                           page_size=len(batch))
        writer.commit()
        sent += len(batch)

    batch = []
    for row in changed:
        batch.append(row)
        if len(batch) == args.batch_size:
            deliver(batch)
            batch = []
    if batch:
        deliver(batch)
    changed.close()
    reader.commit()
    reader.close()
    writer.close()
    print(json.dumps({"elapsed": time.monotonic() - started, "sent": sent, "requests": requests_sent}))


if __name__ == "__main__":
    main()
