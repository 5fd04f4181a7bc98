#!/usr/bin/python3
"""The live sync group (issue 19): bench/run.sh --live starts the cluster
(its launcher serving database "bench") and the sink (recording request
bodies), then runs this. Three measurements, each with its target:

1. Latency: a live mapping on a users table of --rows rows (1,000,000), its
   first run done; writers then change 1,000 rows a second for --duration
   seconds (300), each change stamping `updated_at = clock_timestamp()`. The
   sink records every request's arrival time and body; a change's latency is
   the arrival of the first record carrying its id and its exact updated_at,
   minus that updated_at. p50 <= 1 s, p99 <= 3 s, no change lost.
2. A 10-row change on a table of --big-rows rows (10,000,000): the live run
   that follows an UPDATE of 10 rows in one transaction, its own duration and
   the server CPU it cost, median of --reps (5); next to it a full resync of
   the same model without changes (a 'manual' mapping). <= 50 ms.
3. Write overhead: an UPDATE of 10,000 rows of a --rows table with the live
   mapping's capture trigger against the same UPDATE of an identical table
   without one, alternated over many pairs. Ratio of medians <= 1.15.

Writes bench/results-live.md (`live.py RESULTS_JSON OUT_MD` re-renders it
from bench/work/results-live.json).
"""

import argparse
import collections
import datetime
import json
import math
import os
import random
import statistics
import sys
import threading
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
import bench  # noqa: E402  bench/bench.py: connections, psql timing, machine facts
from vendors import cpu_seconds  # noqa: E402  CPU time of a process or of its reaped children

# The targets of issue 19.
LATENCY_P50_S = 1.0
LATENCY_P99_S = 3.0
SMALL_CHANGE_S = 0.050
WRITE_OVERHEAD = 1.15

ROWS_PER_STATEMENT = 10          # part 1: each writer statement changes this many random rows
SMALL_CHANGE_ROWS = 10           # part 2: rows changed by the one transaction
OVERHEAD_ROWS = 10_000           # part 3: rows of each timed UPDATE
BATCH_SIZE = 500                 # the webhook's records per request
COLUMNS = ["id", "email", "plan", "mrr", "updated_at"]

CREATE_TABLE = """
CREATE TABLE public.{t} (
    id         bigint NOT NULL,
    email      text NOT NULL,
    plan       text NOT NULL,
    mrr        numeric(12,2) NOT NULL,
    updated_at timestamptz NOT NULL
)"""

# Deterministic rows, one statement (the primary key is added afterwards:
# building it once is faster than maintaining it row by row).
FILL_TABLE = """
INSERT INTO public.{t} (id, email, plan, mrr, updated_at)
SELECT g, 'user' || g || '@example.com',
       (ARRAY['free', 'starter', 'pro', 'enterprise'])[1 + g % 4],
       (g % 1000) * 1.5,
       timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => g % 31536000)
  FROM generate_series(1, {rows}::bigint) AS g"""

# What a change is in parts 1 and 2: a new price, stamped. The stamp,
# returned in exact microseconds, is what the destination must receive.
CHANGE_ROWS = """
UPDATE public.{t} SET mrr = mrr + 1, updated_at = clock_timestamp()
 WHERE id = ANY (%s)
RETURNING id, (extract(epoch FROM updated_at) * 1000000)::bigint"""

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def model_sql(table):
    return f"SELECT {', '.join(COLUMNS)} FROM public.{table}"


def iso_to_us(text):
    """A JSON timestamp as the payload renders it, in epoch microseconds (exact:
    no float on the way)."""
    return (datetime.datetime.fromisoformat(text) - EPOCH) // datetime.timedelta(microseconds=1)


def percentile(sorted_values, q):
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def read_recorded_requests(path, offset, url_path):
    """The requests the sink recorded (sink --record) from byte `offset` on
    whose path is `url_path`: a list of (arrival epoch microseconds, body)."""
    with open(path, "rb") as f:
        f.seek(offset)
        data = f.read()
    requests, pos = [], 0
    while pos < len(data):
        end = data.index(b"\n", pos)
        arrival, length, request_path = data[pos:end].decode().split(" ", 2)
        body = data[end + 1:end + 1 + int(length)]
        pos = end + 1 + int(length) + 1   # the body and its closing "\n"
        if request_path == url_path:
            requests.append((int(arrival), body))
    return requests


def first_arrivals(requests):
    """(id, updated_at in us) -> the arrival of the first request carrying that
    version of the record; and how many records the requests carried."""
    first, records = {}, 0
    for arrival, body in requests:
        doc = json.loads(body)
        for record in doc if isinstance(doc, list) else [doc]:
            records += 1
            key = (int(record["id"]), iso_to_us(record["updated_at"]))
            if key not in first or arrival < first[key]:
                first[key] = arrival
    return first, records


def classify_changes(changes, first):
    """Each change delivered (its latency, s), superseded (its exact version
    never arrived but the row changed again later: the destination got the
    later one) or lost (neither)."""
    versions = collections.defaultdict(list)
    for row_id, stamp in changes:
        versions[row_id].append(stamp)
    latencies, superseded, lost = [], 0, []
    for row_id, stamps in versions.items():
        stamps.sort()
        for stamp in stamps:
            arrival = first.get((row_id, stamp))
            if arrival is not None:
                latencies.append((arrival - stamp) / 1e6)
            elif stamp != stamps[-1]:
                superseded += 1
            else:
                lost.append((row_id, stamp))
    latencies.sort()
    return latencies, superseded, lost


class Writer(threading.Thread):
    """One of the writers of part 1. The changes are a schedule of ticks, one
    statement of ROWS_PER_STATEMENT rows every `interval` seconds overall;
    writer i of W takes ticks i, i + W, ... Each tick is due at a wall-clock
    time: a writer that falls behind runs its late ticks at once, so the
    count of changes is exact and the rate falls short only while the server
    is slower than the schedule. Each writer changes ids of its own residue class (id - 1) % W = i, so
    two writers never wait on each other's row locks (or deadlock)."""

    def __init__(self, live_bench, table, index, writers, rows, interval, start, end):
        super().__init__(daemon=True)
        self.live_bench, self.table = live_bench, table
        self.index, self.writers, self.rows = index, writers, rows
        self.interval, self.start_at, self.end_at = interval, start, end
        self.changes = []          # (id, updated_at in epoch us)
        self.statements = 0
        self.max_late = 0.0        # seconds a tick ran after it was due, at most
        self.last_commit = None    # wall clock after the last statement returned (committed)
        self.error = None

    def random_ids(self, rng):
        count = (self.rows - 1 - self.index) // self.writers + 1
        return [1 + self.index + self.writers * k for k in rng.sample(range(count), ROWS_PER_STATEMENT)]

    def run(self):
        try:
            conn = self.live_bench.connect("bench")
            rng = random.Random(self.index)
            sql = CHANGE_ROWS.format(t=self.table)
            with conn.cursor() as cur:
                tick = self.index
                while True:
                    due = self.start_at + tick * self.interval
                    if due >= self.end_at:
                        break
                    now = time.time()
                    if now < due:
                        time.sleep(due - now)
                    else:
                        self.max_late = max(self.max_late, now - due)
                    cur.execute(sql, (self.random_ids(rng),))
                    self.changes.extend((int(i), int(us)) for i, us in cur.fetchall())
                    self.last_commit = time.time()
                    self.statements += 1
                    tick += self.writers
            conn.close()
        except Exception as e:  # reported by the main thread
            self.error = e


class LiveBench(bench.Bench):

    # ---- setup ----

    def create_database(self):
        """Database "bench", where the launcher (reverse_etl.database =
        'bench', set by run.sh) runs the live mappings: it failed to connect
        at the server's start, before the database existed, and is started
        again every 10 s, so it is there within seconds."""
        admin = self.connect("postgres")
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE bench")
        admin.close()
        self.conn = self.connect("bench")
        self.q("CREATE EXTENSION reverse_etl")
        deadline = time.time() + 60
        while True:
            pid = self.q1("SELECT pid FROM pg_stat_activity WHERE backend_type = 'reverse_etl launcher' "
                          "AND datname = 'bench'")
            if pid:
                self.launcher_pid = pid
                return
            if time.time() > deadline:
                raise RuntimeError("the reverse_etl launcher did not connect to database bench within 60 s "
                                   "(is reverse_etl.database = 'bench'?)")
            time.sleep(0.5)

    def make_table(self, table, rows):
        t0 = time.time()
        self.q(CREATE_TABLE.format(t=table))
        self.q(FILL_TABLE.format(t=table, rows=rows))
        self.q(f"ALTER TABLE public.{table} ADD PRIMARY KEY (id)")
        self.q(f"VACUUM (ANALYZE) public.{table}")
        self.checkpoint()
        size = self.q1(f"SELECT pg_relation_size('public.{table}')")
        self.log(f"generated {rows:,} rows in {table} in {time.time() - t0:.1f} s ({size / 1e6:.0f} MB heap)")

    def create_mapping(self, name, table, url_path, schedule):
        """A model over `table` (unless it exists), a webhook destination to the
        sink at `url_path` and an enabled mapping sending every column."""
        if not self.q1("SELECT count(*) FROM reverse_etl.models WHERE name = %s", (table,)):
            self.q("SELECT reverse_etl.create_model(%s, %s, primary_key => 'id')", (table, model_sql(table)))
        self.q("SELECT reverse_etl.create_destination(%s, 'webhook', %s, enabled => true)",
               (name, json.dumps({"url": self.args.sink_url + url_path, "batch_size": BATCH_SIZE})))
        self.q("SELECT reverse_etl.create_mapping(%s, %s, 'send', fields => %s, sync_mode => 'all', "
               "schedule => %s, name => %s, enabled => true)",
               (table, name, json.dumps({c: c for c in COLUMNS}), schedule, name))

    def set_autovacuum(self, on):
        """Off while CPU time is read from reaped server processes (an
        autovacuum worker exiting would count) and while writes are timed."""
        self.q(f"ALTER SYSTEM SET autovacuum = {'on' if on else 'off'}")
        self.q("SELECT pg_reload_conf()")

    def recording(self, on):
        self.sink(self.args.sink_url, f"/config?record={1 if on else 0}")

    # ---- the state of a mapping ----

    def runs_after(self, mapping, run_id):
        rows = self.q("SELECT run_id, trigger, status, extract(epoch FROM started_at)::float8, "
                      "extract(epoch FROM finished_at)::float8, records_added, records_updated, records_selected, "
                      "records_succeeded, error FROM reverse_etl.sync_runs WHERE mapping = %s AND run_id > %s "
                      "ORDER BY run_id", (mapping, run_id))
        keys = ("run_id", "trigger", "status", "started_at", "finished_at", "added", "updated", "selected",
                "succeeded", "error")
        runs = [dict(zip(keys, r)) for r in rows]
        for r in runs:
            r["seconds"] = r["finished_at"] - r["started_at"] if r["finished_at"] and r["started_at"] else None
        return runs

    def last_run_id(self, mapping):
        return self.q1("SELECT COALESCE(max(run_id), 0) FROM reverse_etl.sync_runs WHERE mapping = %s", (mapping,))

    def status(self, mapping):
        return self.q1("SELECT to_jsonb(s) FROM reverse_etl.mapping_status s WHERE mapping = %s", (mapping,))

    def mapping_row(self, mapping):
        return self.q1("SELECT to_jsonb(m) FROM reverse_etl.mappings m WHERE name = %s", (mapping,))

    @staticmethod
    def changes_waiting(status):
        """Whether mapping_status says changes wait (live_changes_since set, or
        a positive live_backlog where the incremental version has one)."""
        backlog = status.get("live_backlog")
        return status.get("live_changes_since") is not None or (
            isinstance(backlog, (int, float)) and backlog > 0)

    def wait_caught_up(self, mapping, committed_at, timeout, poll=0.02, grace=2.0):
        """Waits until every change committed before `committed_at` (wall
        clock) is delivered: no run is queued or running, no change waits (a
        failed run leaves its changes waiting, and the launcher retries), and
        a run that started after the commit has ended, or, with `grace`, that
        many seconds have passed since it (the launcher, woken by the commit,
        marks the changes waiting within milliseconds; a run that started
        just before the commit may have read it). Returns whether it was
        within `timeout` seconds."""
        deadline = time.time() + timeout
        while True:
            last_start, busy = self.q(
                "SELECT max(extract(epoch FROM started_at)::float8) FILTER (WHERE status NOT IN ('queued', 'running')), "
                "count(*) FILTER (WHERE status IN ('queued', 'running')) > 0 "
                "FROM reverse_etl.sync_runs WHERE mapping = %s", (mapping,))[0]
            ran_since = last_start is not None and last_start > committed_at
            settled = grace is not None and time.time() - committed_at > grace
            if (ran_since or settled) and not busy and not self.changes_waiting(self.status(mapping)):
                return True
            if time.time() > deadline:
                return False
            time.sleep(poll)

    def first_run(self, mapping, rows):
        """Waits for the first run of a new live mapping (the launcher starts it
        when the mapping is created) and checks it sent every row."""
        t0 = time.time()
        created = self.q1("SELECT extract(epoch FROM created_at)::float8 FROM reverse_etl.mappings WHERE name = %s",
                          (mapping,))
        # Not done before a run of its own has ended (no grace: nothing is waiting before the launcher looks).
        if not self.wait_caught_up(mapping, created, timeout=300 + rows / 5000, poll=0.2, grace=None):
            raise RuntimeError(f"{mapping}: the first run did not finish: {self.runs_after(mapping, 0)}")
        runs = self.runs_after(mapping, 0)
        added = sum(r["added"] for r in runs if r["status"] == "succeeded")
        if added != rows:
            raise RuntimeError(f"{mapping}: the first runs added {added} records, expected {rows}: {runs}")
        self.log(f"{mapping}: first run(s) sent {rows:,} rows in {time.time() - t0:.1f} s "
                 f"({', '.join(r['trigger'] for r in runs)})")
        return runs

    @staticmethod
    def run_seconds(runs):
        return sum(r["seconds"] or 0 for r in runs)

    def capture_triggers(self, table):
        return [r[0] for r in self.q("SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass "
                                     "AND NOT tgisinternal ORDER BY tgname", (f"public.{table}",))]

    def server_cpu(self):
        """CPU seconds of the server's exited processes (the sync workers and
        the backends of finished sessions, reaped by the postmaster) and of
        the launcher, which collects the changes and starts the runs."""
        return cpu_seconds(self.postmaster_pid, children=True) + cpu_seconds(self.launcher_pid)

    # ---- 1. latency ----

    def latency(self):
        a = self.args
        table, mapping, url_path = "live_users", "live users", "/live_users"
        self.make_table(table, a.rows)
        self.create_mapping(mapping, table, url_path, "live")
        first = self.first_run(mapping, a.rows)
        first_id = max(r["run_id"] for r in first)
        self.checkpoint()

        offset = os.path.getsize(a.record_file)
        self.recording(True)
        interval = ROWS_PER_STATEMENT / a.rate
        start = time.time() + 0.5
        end = start + a.duration
        writers = [Writer(self, table, i, a.writers, a.rows, interval, start, end) for i in range(a.writers)]
        self.log(f"latency: {a.writers} writers, {a.rate:,} changed rows/s for {a.duration} s")
        for w in writers:
            w.start()
        for w in writers:
            w.join()
        errors = [w.error for w in writers if w.error]
        if errors:
            raise errors[0]
        last_commit = max(w.last_commit for w in writers if w.last_commit)
        drained = self.wait_caught_up(mapping, last_commit, timeout=a.drain_timeout, poll=0.1)
        drained_at = time.time()
        self.recording(False)

        changes = [c for w in writers for c in w.changes]
        requests = read_recorded_requests(a.record_file, offset, url_path)
        first_seen, records = first_arrivals(requests)
        latencies, superseded, lost = classify_changes(changes, first_seen)
        runs = [r for r in self.runs_after(mapping, first_id) if r["trigger"] == "live"]
        result = {
            "rows": a.rows, "duration": a.duration, "rate": a.rate, "writers": a.writers,
            "first_run_s": self.run_seconds(first),
            "statements": sum(w.statements for w in writers), "changes": len(changes),
            "achieved_rate": len(changes) / (last_commit - start),
            "writer_max_late": max(w.max_late for w in writers),
            "drained": drained, "drain_seconds": drained_at - last_commit,
            "requests": len(requests), "records": records,
            "delivered": len(latencies), "superseded": superseded, "lost": len(lost), "lost_sample": lost[:10],
            "p50": percentile(latencies, 0.50), "p90": percentile(latencies, 0.90),
            "p99": percentile(latencies, 0.99), "max": latencies[-1] if latencies else None,
            "runs": len(runs), "runs_failed": sum(r["status"] != "succeeded" for r in runs),
            "run_median_s": median_or_none(r["seconds"] for r in runs),
            "run_max_s": max((r["seconds"] for r in runs if r["seconds"] is not None), default=None),
            "run_median_selected": median_or_none(r["selected"] for r in runs),
            "mapping": self.mapping_row(mapping),
        }
        self.log(f"latency: {result['changes']:,} changes ({result['achieved_rate']:,.0f}/s), "
                 f"{result['delivered']:,} delivered, {superseded:,} superseded, {len(lost)} lost; "
                 f"p50 {sec(result['p50'], 3)}, p99 {sec(result['p99'], 3)}, max {sec(result['max'], 3)}; "
                 f"{len(runs)} live runs, median {sec(result['run_median_s'], 3)}")
        self.results["latency"] = result

    # ---- 2. a 10-row change on a large table ----

    def small_change(self):
        a = self.args
        table, live, manual = "big_users", "big live", "big manual"
        self.make_table(table, a.big_rows)
        self.create_mapping(live, table, "/big_live", "live")
        first = self.first_run(live, a.big_rows)
        self.create_mapping(manual, table, "/big_manual", "manual")
        status = self.q1("SELECT status FROM reverse_etl.sync(%s)", (manual,))
        if status != "succeeded":
            raise RuntimeError(f"{manual}: the first sync ended {status}")
        self.q(f"VACUUM (ANALYZE) public.{table}")
        self.checkpoint()
        self.set_autovacuum(False)
        try:
            resyncs = [self.full_resync(manual, table, r) for r in range(a.reps)]
            changes = [self.one_small_change(live, table, r) for r in range(a.reps)]
        finally:
            self.set_autovacuum(True)
        self.results["small_change"] = {
            "rows": a.big_rows, "reps": a.reps, "changes": changes, "resyncs": resyncs,
            "first_run_s": self.run_seconds(first),
            "run_median_s": median_or_none(c["run_seconds"] for c in changes),
            "cpu_median_s": median_or_none(c["cpu_seconds"] for c in changes),
            "to_delivered_median_s": median_or_none(c["commit_to_delivered"] for c in changes),
            "resync_median_s": median_or_none(r["run_seconds"] for r in resyncs),
            "resync_cpu_median_s": median_or_none(r["cpu_seconds"] for r in resyncs),
            "mapping": self.mapping_row(live)}

    def full_resync(self, mapping, table, rep):
        """sync() of the manual copy with nothing changed: what a live run
        costs when it diffs the whole model."""
        self.checkpoint()
        cpu0 = self.server_cpu()
        step = self.sync(mapping, f"full resync rep {rep + 1}", "resync", expect_sent=0, rows=self.args.big_rows)
        time.sleep(0.5)   # the worker and the psql backend exit and are reaped
        return {"elapsed": step["elapsed"], "run_seconds": step["run"]["run_seconds"],
                "cpu_seconds": self.server_cpu() - cpu0}

    def one_small_change(self, mapping, table, rep):
        """One transaction changing SMALL_CHANGE_ROWS rows, and the live run(s)
        it starts: their own time, the server CPU from the commit until they
        ended, and the time from the commit to the sink's last answer."""
        self.checkpoint()
        before = self.last_run_id(mapping)
        ids = random.Random(1000 + rep).sample(range(1, self.args.big_rows + 1), SMALL_CHANGE_ROWS)
        self.sink(self.args.sink_url, "/reset")
        cpu0 = self.server_cpu()
        changed = len(self.q(CHANGE_ROWS.format(t=table), (ids,)))
        committed = time.time()
        caught_up = self.wait_caught_up(mapping, committed, timeout=120 + self.args.big_rows / 100_000)
        ended = time.time()
        time.sleep(0.5)   # the sync worker exits and is reaped
        cpu = self.server_cpu() - cpu0
        sink = self.sink(self.args.sink_url, "/stats")
        runs = self.runs_after(mapping, before)
        result = {"changed": changed, "caught_up": caught_up, "runs": runs,
                  "run_seconds": self.run_seconds(runs), "cpu_seconds": cpu,
                  "commit_to_runs_ended": ended - committed,
                  "commit_to_delivered": sink["last_answer_at"] - committed if sink["requests"] else None,
                  "sink_records": sink["records"]}
        problems = []
        if not caught_up:
            problems.append("not delivered in time")
        if sum(r["selected"] for r in runs) != changed or sink["records"] != changed:
            problems.append(f"{sum(r['selected'] for r in runs)} records selected and {sink['records']} received, "
                            f"expected {changed}")
        result["problems"] = problems
        self.log(f"10-row change rep {rep + 1}: {len(runs)} run(s), {result['run_seconds'] * 1000:.0f} ms, "
                 f"CPU {cpu * 1000:.0f} ms, commit to delivered "
                 f"{(result['commit_to_delivered'] or 0) * 1000:.0f} ms" + (f"; {problems}" if problems else ""))
        return result

    # ---- 3. write overhead ----

    def write_overhead(self):
        a = self.args
        plain, live, mapping = "wo_plain", "wo_live", "wo live"
        self.make_table(plain, a.rows)
        self.make_table(live, a.rows)
        self.create_mapping(mapping, live, "/wo_live", "live")
        self.first_run(mapping, a.rows)
        triggers = {plain: self.capture_triggers(plain), live: self.capture_triggers(live)}
        self.set_autovacuum(False)
        try:
            timings = {plain: [], live: []}
            rng = random.Random(19)
            last_commit = time.time()   # of wo_live: its run must end before anything else is timed
            for pair in range(a.pairs + 1):   # pair 0 warms up, untimed
                first_id = rng.randrange(1, a.rows - OVERHEAD_ROWS + 2)
                self.wait_caught_up(mapping, last_commit, timeout=300)
                self.q(f"VACUUM public.{plain}, public.{live}")
                self.checkpoint()   # both tables' pages start the pair clean, each first touch a full-page write
                for table in ((plain, live) if pair % 2 else (live, plain)):
                    self.wait_caught_up(mapping, last_commit, timeout=300)
                    seconds = self.timed_update(table, first_id)
                    if table == live:
                        last_commit = time.time()
                    if pair:
                        timings[table].append(seconds)
            self.wait_caught_up(mapping, last_commit, timeout=300)
        finally:
            self.set_autovacuum(True)
        without, with_capture = statistics.median(timings[plain]), statistics.median(timings[live])
        self.results["write_overhead"] = {
            "rows": a.rows, "pairs": a.pairs, "triggers": triggers, "timings": timings,
            "without_s": without, "with_s": with_capture, "ratio": with_capture / without,
            "pair_ratio_median": statistics.median(w / p for w, p in zip(timings[live], timings[plain])),
            "mapping": self.mapping_row(mapping)}
        self.log(f"write overhead: {without * 1000:.1f} ms without capture, {with_capture * 1000:.1f} ms with: "
                 f"{with_capture / without:.3f}x")

    def timed_update(self, table, first_id):
        """UPDATE of OVERHEAD_ROWS rows in its own transaction (autocommit): the
        wall time of the statement and its commit, as the writer sees it."""
        with self.conn.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(f"UPDATE public.{table} SET mrr = mrr + 1 WHERE id BETWEEN %s AND %s",
                        (first_id, first_id + OVERHEAD_ROWS - 1))
            seconds = time.perf_counter() - t0
            if cur.rowcount != OVERHEAD_ROWS:
                raise RuntimeError(f"UPDATE of {table} changed {cur.rowcount} rows, expected {OVERHEAD_ROWS}")
        return seconds

    # ---- the run ----

    def run(self):
        a = self.args
        self.create_database()
        self.recording(False)   # only the latency window is recorded
        self.postmaster_pid = int(open(os.path.join(a.work, "data", "postmaster.pid")).readline())
        self.results["machine"] = self.machine()
        self.results["args"] = {k: getattr(a, k) for k in ("rows", "big_rows", "skip_big", "duration", "rate",
                                                          "writers", "reps", "pairs", "command")}
        self.results["launcher_settings"] = {name: self.q1(f"SHOW {name}") for name in
                                             ("reverse_etl.database", "reverse_etl.naptime",
                                              "reverse_etl.max_parallel_syncs", "synchronous_commit")}
        self.results["load_before"] = os.getloadavg()
        self.latency()
        self.write_overhead()
        if not a.skip_big:
            self.small_change()
        self.results["status_at_end"] = [r[0] for r in self.q(
            "SELECT to_jsonb(s) FROM reverse_etl.mapping_status s ORDER BY mapping")]
        self.results["finished_at"] = time.time()
        self.results["load_after"] = os.getloadavg()
        with open(os.path.join(a.work, "results-live.json"), "w") as f:
            json.dump(self.results, f, indent=1, default=str)
        write(self.results, a.output)
        self.log(f"wrote {a.output}")


# --------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------

def verdict(ok):
    return "**pass**" if ok else "**fail**"


def ms(seconds, digits=0):
    return "–" if seconds is None else f"{seconds * 1000:,.{digits}f} ms"


def sec(seconds, digits=2):
    return "–" if seconds is None else f"{seconds:.{digits}f} s"


def live_mode(mapping_row):
    """The mappings view's live_mode, or a note that this version has none."""
    if not mapping_row or "live_mode" not in mapping_row:
        return "no `live_mode` column in this version"
    return f"`live_mode`: `{mapping_row['live_mode']}`"


def write(results, path):
    args, machine = results["args"], results["machine"]
    lat, small, over = results["latency"], results.get("small_change"), results["write_overhead"]
    when = datetime.datetime.fromtimestamp(results["finished_at"], datetime.timezone.utc)
    lines = [
        "# reverse_etl live syncs: latency, a small change on a large table, write overhead (issue 19)", "",
        f"Written by `{args['command']}` (as root) on {when:%Y-%m-%d %H:%M} UTC; "
        "[bench/README.md](README.md#live-syncs---live) says what is measured.", "",
        f"- **Commit**: `{machine['commit']}`" + (" (with uncommitted changes)" if machine["dirty"] else ""),
        f"- **Machine**: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']:.0f} GiB memory, "
        f"Debian {machine['debian']}, Linux {machine['kernel']}; shared: other builds and tests may run at the "
        "same time",
        f"- **PostgreSQL**: {machine['postgres']}",
        "- **Settings**: " + ", ".join(f"`{k} = {v}`" for k, v in results["launcher_settings"].items()),
        f"- **Load average** (1 min) at the start: {results['load_before'][0]:.2f}; at the end: "
        f"{results['load_after'][0]:.2f}", "",
        "## Targets", "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| latency p50 <= {LATENCY_P50_S:g} s ({lat['rows']:,} rows, {lat['rate']:,} changes/s) | "
        f"{sec(lat['p50'], 3)} | {verdict(lat['p50'] is not None and lat['p50'] <= LATENCY_P50_S)} |",
        f"| latency p99 <= {LATENCY_P99_S:g} s | {sec(lat['p99'], 3)} | "
        f"{verdict(lat['p99'] is not None and lat['p99'] <= LATENCY_P99_S)} |",
        f"| no change lost | {lat['lost']} lost of {lat['changes']:,} | {verdict(lat['lost'] == 0)} |",
    ]
    if small:
        lines.append(f"| the live run after a {SMALL_CHANGE_ROWS}-row change on {small['rows']:,} rows <= "
                     f"{SMALL_CHANGE_S * 1000:.0f} ms | {ms(small['run_median_s'])} (median of {small['reps']}) | "
                     f"{verdict(small['run_median_s'] <= SMALL_CHANGE_S and not any(c['problems'] for c in small['changes']))} |")
    else:
        lines.append(f"| the live run after a {SMALL_CHANGE_ROWS}-row change on a large table <= "
                     f"{SMALL_CHANGE_S * 1000:.0f} ms | not run (`--skip-big`) | |")
    lines += [
        f"| write overhead of the capture <= {WRITE_OVERHEAD:.2f}x | {over['ratio']:.3f}x | "
        f"{verdict(over['ratio'] <= WRITE_OVERHEAD)} |", ""]
    lines += latency_section(lat)
    lines += small_change_section(small)
    lines += overhead_section(over)
    lines += status_section(results["status_at_end"])
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def latency_section(lat):
    return [
        "## 1. Latency", "",
        f"Table `live_users`, {lat['rows']:,} rows; model `{model_sql('live_users')}`; webhook, batch "
        f"{BATCH_SIZE}, `sync_mode` `all`, `schedule` `live` ({live_mode(lat['mapping'])}). After its "
        f"first run ({lat['rows']:,} records in {sec(lat['first_run_s'])}), {lat['writers']} writers (autocommit) changed {ROWS_PER_STATEMENT} random rows a statement "
        f"at {lat['rate']:,} rows/s for {lat['duration']} s, each row stamped `updated_at = clock_timestamp()`. "
        "A change's latency: the arrival at the sink of the first request carrying its id with that exact "
        "`updated_at`, minus that `updated_at` (the commit follows within a millisecond).", "",
        "| | |", "|---|---|",
        f"| changes made | {lat['changes']:,} ({lat['statements']:,} statements; {lat['achieved_rate']:,.0f} rows/s "
        f"achieved; a writer's tick ran at most {lat['writer_max_late'] * 1000:,.0f} ms late) |",
        f"| delivered with their own version | {lat['delivered']:,} |",
        f"| superseded (not sent, the row changed again before a run read it) | {lat['superseded']:,} |",
        f"| lost (never delivered, not changed again) | **{lat['lost']}**"
        + (f" e.g. {lat['lost_sample']}" if lat["lost"] else "") + " |",
        f"| latency p50 / p90 / p99 / max | {sec(lat['p50'], 3)} / {sec(lat['p90'], 3)} / {sec(lat['p99'], 3)} / "
        f"{sec(lat['max'], 3)} |",
        f"| live runs during the window and the drain | {lat['runs']:,} ({lat['runs_failed']} not succeeded); "
        f"duration median {sec(lat['run_median_s'])}, max {sec(lat['run_max_s'])}; records a run, median "
        + ("–" if lat["run_median_selected"] is None else f"{lat['run_median_selected']:,.0f}") + " |",
        f"| requests / records received | {lat['requests']:,} / {lat['records']:,} |",
        f"| after the last change, caught up in | {sec(lat['drain_seconds'])}"
        + ("" if lat["drained"] else " (**timed out**)") + " |", ""]


def small_change_section(small):
    if not small:
        return ["## 2. A 10-row change on a large table", "", "Not run (`--skip-big`).", ""]
    rows = small["rows"]
    out = [
        f"## 2. A {SMALL_CHANGE_ROWS}-row change on {rows:,} rows", "",
        f"Table `big_users`, {rows:,} rows, the same columns; a live mapping ({live_mode(small['mapping'])}) "
        f"after its first run ({rows:,} records in {sec(small['first_run_s'])}). Each repetition: one transaction updating "
        f"{SMALL_CHANGE_ROWS} random rows, then the live run(s) it starts. Run: `finished_at - started_at` of "
        "the run(s) in `sync_runs`. CPU: user + system time of the server's processes that exited in the "
        "meantime (the sync worker, any parallel workers) and of the launcher, autovacuum off. For comparison, "
        "`sync()` of a `manual` mapping of the same model with nothing changed (a full diff: what a live run "
        "costs without incremental evaluation; its CPU also counts the psql session's backend).", "",
        "| | run | CPU (server) | commit to delivered | runs | records received |",
        "|---|---|---|---|---|---|"]
    for i, c in enumerate(small["changes"]):
        out.append(f"| {SMALL_CHANGE_ROWS}-row change, rep {i + 1} | {ms(c['run_seconds'])} | {ms(c['cpu_seconds'])} | "
                   f"{ms(c['commit_to_delivered'])} | {len(c['runs'])} | {c['sink_records']}"
                   + (f" ({'; '.join(c['problems'])})" if c["problems"] else "") + " |")
    out.append(f"| **median** | **{ms(small['run_median_s'])}** | **{ms(small['cpu_median_s'])}** | "
               f"**{ms(small['to_delivered_median_s'])}** | | |")
    for i, r in enumerate(small["resyncs"]):
        out.append(f"| full resync for comparison, rep {i + 1} | {ms(r['run_seconds'])} | {ms(r['cpu_seconds'])} | "
                   f"(sync() call {sec(r['elapsed'])}) | 1 | 0 |")
    out.append(f"| **full resync, median** | **{ms(small['resync_median_s'])}** | "
               f"**{ms(small['resync_cpu_median_s'])}** | | | |")
    return out + [""]


def overhead_section(over):
    t = over["timings"]
    fmt = lambda values: ", ".join(f"{v * 1000:.1f}" for v in values)  # noqa: E731
    return [
        "## 3. Write overhead", "",
        f"Two identical tables of {over['rows']:,} rows: `wo_live`, read by a live mapping "
        f"({live_mode(over['mapping'])}; its triggers: {', '.join(over['triggers']['wo_live']) or 'none'}), "
        f"and `wo_plain`, read by none (triggers: {', '.join(over['triggers']['wo_plain']) or 'none'}). "
        f"{over['pairs']} pairs after one untimed: `UPDATE t SET mrr = mrr + 1 WHERE id BETWEEN x AND "
        f"x + {OVERHEAD_ROWS - 1}` in its own transaction on each table, the same x, the order alternating; "
        "before each pair both tables vacuumed and a checkpoint; before each UPDATE the live mapping caught "
        "up (its run does not compete with the next UPDATE); autovacuum off. Time: the client's, statement "
        "and commit.", "",
        "| | median | every pair (ms) |", "|---|---|---|",
        f"| without capture (`wo_plain`) | {ms(over['without_s'], 1)} | {fmt(t['wo_plain'])} |",
        f"| with capture (`wo_live`) | {ms(over['with_s'], 1)} | {fmt(t['wo_live'])} |",
        f"| ratio of the medians | **{over['ratio']:.3f}x** | median of the pairs' ratios "
        f"{over['pair_ratio_median']:.3f}x |", ""]


def status_section(statuses):
    keys = ("mapping", "schedule", "last_status", "live_changes_since", "live_backlog", "live_lag")
    out = ["## Mapping status at the end", "",
           "`to_jsonb(s)` of `reverse_etl.mapping_status`, the live keys where this version has them.", "",
           "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for s in statuses:
        out.append("| " + " | ".join("(absent)" if k not in s else ("NULL" if s[k] is None else f"`{s[k]}`")
                                     for k in keys) + " |")
    return out + [""]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sink-url", required=True)
    parser.add_argument("--record-file", required=True, help="the file the sink records request bodies in")
    parser.add_argument("--output", required=True)
    parser.add_argument("--command", default="bench/run.sh --live")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the latency and write tables")
    parser.add_argument("--big-rows", type=int, default=10_000_000, help="rows of the 10-row change's table")
    parser.add_argument("--skip-big", action="store_true", help="skip the 10-row change on the large table")
    parser.add_argument("--duration", type=int, default=300, help="seconds of changes in the latency part")
    parser.add_argument("--rate", type=int, default=1000, help="changed rows per second in the latency part")
    parser.add_argument("--writers", type=int, default=4, help="writer connections in the latency part")
    parser.add_argument("--reps", type=int, default=5, help="repetitions of the 10-row change and the resync")
    parser.add_argument("--pairs", type=int, default=15, help="timed pairs of UPDATEs in the write overhead")
    parser.add_argument("--drain-timeout", type=int, default=300,
                        help="seconds to wait, after the last change, for the live mapping to catch up")
    args = parser.parse_args()
    if args.rows < 20_000 or args.big_rows < 1000 or args.reps < 1 or args.pairs < 1 or args.duration < 1:
        parser.error("--rows must be at least 20000, --big-rows at least 1000, --reps, --pairs and --duration "
                     "at least 1")
    if args.rate < ROWS_PER_STATEMENT or args.writers < 1:
        parser.error(f"--rate must be at least {ROWS_PER_STATEMENT} and --writers at least 1")
    args.profile = False   # bench.Bench.sync reads it
    LiveBench(args).run()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1].endswith(".json"):   # live.py RESULTS_JSON OUT_MD re-renders
        with open(sys.argv[1]) as f:
            write(json.load(f), sys.argv[2])
    else:
        main()
