#!/usr/bin/python3
"""The benchmark driver: bench/run.sh starts the cluster and the sinks, then
runs this to generate the data, run every scenario next to its floor, and
write bench/results.md. See bench/README.md (or the "Benchmarks" section of
the top-level README) for what each scenario measures.

Every timed step is one psql session: clock_timestamp() just before and just
after the statement (server clock), NOTICEs timestamped as they arrive. A
thread samples RssAnon of every server process (/proc/<pid>/status) every
20 ms while a step runs and keeps each process's peak.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import psycopg2

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
COLUMNS = ["id", "email", "name", "plan", "mrr", "created_at", "properties"]
FIELDS = {c: c for c in COLUMNS}  # every column, under its own name


def model_sql(table, where=""):
    return f"SELECT {', '.join(COLUMNS)} FROM public.{table}" + (f" WHERE {where}" if where else "")


def f1_sql(model):
    return f"COPY (SELECT row_to_json(m) FROM ({model}) m) TO '/dev/null'"


def f2_sql(model):
    return f"SELECT sum(hashtextextended(m::text, 0)) FROM ({model}) m"


# --------------------------------------------------------------------------
# The data: a users table as a product would have it, deterministic (every
# value is a hash of the id), about 250 bytes a row.
# --------------------------------------------------------------------------

CREATE_USERS = """
CREATE TABLE public.{t} (
    id          bigint NOT NULL,
    email       text NOT NULL,
    name        text NOT NULL,
    plan        text NOT NULL,
    mrr         numeric(12,2) NOT NULL,
    created_at  timestamptz NOT NULL,
    properties  jsonb NOT NULL
)"""

INSERT_USERS = """
INSERT INTO public.{t} (id, email, name, plan, mrr, created_at, properties)
SELECT g,
       lower(f.first_name) || '.' || lower(f.last_name) || g || '@' || f.domain,
       f.first_name || ' ' || f.last_name,
       p.plan,
       CASE p.plan WHEN 'free' THEN 0
                   ELSE round(f.price * f.seats * (1 - (h.h5 % 21) / 100.0), 2) END,
       timestamptz '2017-01-01 00:00:00+00' + make_interval(secs => h.h6 % (7 * 365 * 86400)),
       jsonb_build_object(
           'company', f.company,
           'country', f.country,
           'seats', f.seats,
           'signup_source', f.source,
           'marketing_opt_in', h.h7 % 3 = 0,
           'features', to_jsonb((ARRAY['api', 'sso', 'exports', 'audit_log', 'sandbox', 'webhooks'])[1:f.features]))
  FROM generate_series({lo}::bigint, {hi}::bigint) AS g
 CROSS JOIN LATERAL (SELECT hashint8extended(g, 1) & 2147483647 AS h1, hashint8extended(g, 2) & 2147483647 AS h2,
                            hashint8extended(g, 3) & 2147483647 AS h3, hashint8extended(g, 4) & 2147483647 AS h4,
                            hashint8extended(g, 5) & 2147483647 AS h5, hashint8extended(g, 6) & 2147483647 AS h6,
                            hashint8extended(g, 7) & 2147483647 AS h7, hashint8extended(g, 8) & 2147483647 AS h8,
                            hashint8extended(g, 9) & 2147483647 AS h9) AS h
 CROSS JOIN LATERAL (SELECT CASE WHEN h.h4 % 100 < 60 THEN 'free' WHEN h.h4 % 100 < 82 THEN 'starter'
                                 WHEN h.h4 % 100 < 96 THEN 'pro' ELSE 'enterprise' END AS plan) AS p
 CROSS JOIN LATERAL (SELECT
        (ARRAY['James', 'Mary', 'Robert', 'Patricia', 'John', 'Jennifer', 'Michael', 'Linda', 'David', 'Elizabeth',
               'Wei', 'Aisha', 'Carlos', 'Yuki', 'Olga', 'Fatima', 'Lars', 'Chloe', 'Mateo', 'Priya'])[1 + h.h1 % 20]
            AS first_name,
        (ARRAY['Smith', 'Johnson', 'Williams', 'Brown', 'Garcia', 'Miller', 'Davis', 'Martinez', 'Nguyen', 'Kim',
               'Müller', 'Dubois', 'Rossi', 'Tanaka', 'Kowalski', 'Silva', 'Andersson', 'Patel', 'Cohen', 'Okafor'])
            [1 + h.h2 % 20] AS last_name,
        (ARRAY['gmail.com', 'yahoo.com', 'outlook.com', 'icloud.com', 'proton.me', 'acme.io', 'example.org',
               'fastmail.com'])[1 + h.h3 % 8] AS domain,
        CASE p.plan WHEN 'free' THEN 1 WHEN 'starter' THEN 1 + h.h9 % 5 WHEN 'pro' THEN 2 + h.h9 % 48
                    ELSE 50 + h.h9 % 950 END AS seats,
        CASE p.plan WHEN 'starter' THEN 29 WHEN 'pro' THEN 99 ELSE 499 END AS price,
        CASE p.plan WHEN 'free' THEN 0 WHEN 'starter' THEN 1 + h.h9 % 2 WHEN 'pro' THEN 2 + h.h9 % 3 ELSE 6 END
            AS features,
        (ARRAY['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli', 'Vandelay', 'Stark', 'Wayne', 'Wonka', 'Tyrell',
               'Cyberdyne', 'Soylent', 'Aperture', 'Pied Piper', 'Dunder Mifflin', 'Gringotts'])[1 + h.h5 % 16]
            || ' ' || (ARRAY['Labs', 'Inc', 'GmbH', 'SAS', 'Ltd', 'Group', 'Systems', 'Analytics'])[1 + h.h6 % 8]
            AS company,
        (ARRAY['US', 'GB', 'DE', 'FR', 'CA', 'AU', 'NL', 'ES', 'IT', 'BR', 'IN', 'JP', 'SE', 'PL', 'MX'])
            [1 + h.h7 % 15] AS country,
        (ARRAY['organic', 'google_ads', 'linkedin', 'referral', 'partner', 'newsletter', 'product_hunt'])
            [1 + h.h8 % 7] AS source) AS f
"""

# S3's change: 1% of the users (a different 1% each repetition) get a seat
# more and the price of it, as an upgrade would.
CHANGE_USERS = """
UPDATE public.{t}
   SET properties = jsonb_set(properties, '{{seats}}', to_jsonb((properties->>'seats')::int + 1)),
       mrr = CASE plan WHEN 'free' THEN mrr ELSE mrr + 29 END
 WHERE id % 100 = {k}"""


# --------------------------------------------------------------------------
# Memory: RssAnon of every server process.
# --------------------------------------------------------------------------

# B2 sends a request per row: at pg_net's pace (a few hundred a second) a
# million would take an hour; its rate is measured on this many rows and
# compared per row.
B2_ROWS = 10_000

# S5's adaptive variants: (name, the slow sink's /config, settings before sync()).
S5_ADAPTIVE = (
    ("fixed 8", "latency_ms=50&latency_max_ms=200&capacity=0",
     "SET reverse_etl.adaptive_concurrency = off;\nSET reverse_etl.max_concurrent_requests = 8;\n"),
    ("adaptive, up to 64", "latency_ms=50&latency_max_ms=200&capacity=0", ""),
    ("adaptive, up to 64, 429 beyond 24 at once", "latency_ms=50&latency_max_ms=200&capacity=24", ""),
)


class SinkSampler(threading.Thread):
    """Samples a sink's /stats every 100 ms while a sync runs: the answers it
    holds (requests in flight at the destination) and its 429s over time."""

    def __init__(self, bench, base, interval=0.1):
        super().__init__(daemon=True)
        self.bench, self.base, self.interval = bench, base, interval
        self.points = []
        self.stopping = threading.Event()
        self.start()

    def run(self):
        t0 = time.time()
        while not self.stopping.wait(self.interval):
            stats = self.bench.sink(self.base, "/stats")
            self.points.append([round(time.time() - t0, 2), stats["held"], stats["refused"], stats["requests"]])

    def stop(self):
        self.stopping.set()
        self.join()
        return self.points


def process_kind(pid, postmaster_pid):
    if pid == postmaster_pid:
        return "postmaster"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    if not cmd.startswith("postgres: "):
        return "(a process starting)"
    rest = cmd[len("postgres: "):]
    if rest.startswith("reverse_etl sync"):
        return "reverse_etl sync worker"
    if rest.startswith("reverse_etl model reader"):
        return "reverse_etl model reader"
    for known in ("reverse_etl launcher", "checkpointer", "background writer", "walwriter", "autovacuum launcher",
                  "autovacuum worker", "logical replication launcher", "parallel worker"):
        if rest.startswith(known):
            return known
    return "client backend (other)"


def rss_anon_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class RssSampler(threading.Thread):
    """While a label is set, samples every server process every `interval`
    seconds and keeps, per label, the peak RssAnon of each process kind (the
    largest process of that kind) and of all of them together."""

    def __init__(self, postmaster_pid, interval=0.02):
        super().__init__(daemon=True)
        self.postmaster_pid = postmaster_pid
        self.interval = interval
        self.label = None
        self.peaks = {}  # label -> {kind: kB}
        self.samples = {}  # label -> count
        self.stopping = threading.Event()
        self.named = {}  # pid -> kind, for the backends the driver knows

    def server_pids(self):
        pids = [self.postmaster_pid]
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces and parentheses
            fields = stat[stat.rfind(")") + 2:].split()
            if int(fields[1]) == self.postmaster_pid:
                pids.append(int(entry))
        return pids

    def sample(self, label):
        peaks = self.peaks.setdefault(label, {})
        total = 0
        for pid in self.server_pids():
            kb = rss_anon_kb(pid)
            if kb is None:
                continue
            kind = self.named.get(pid) or process_kind(pid, self.postmaster_pid)
            if kind is None:
                continue
            total += kb
            peaks[kind] = max(peaks.get(kind, 0), kb)
        peaks["all server processes (sum)"] = max(peaks.get("all server processes (sum)", 0), total)
        self.samples[label] = self.samples.get(label, 0) + 1

    def run(self):
        while not self.stopping.wait(self.interval):
            label = self.label
            if label is not None:
                self.sample(label)


# --------------------------------------------------------------------------
# The bench
# --------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.bindir = subprocess.check_output(["pg_config", "--bindir"], text=True).strip()
        self.results = {"steps": [], "notes": []}
        self.t_start = time.time()
        self.conn = None
        self.sampler = None
        self.log_file = open(os.path.join(args.work, "bench.log"), "a")

    # ---- plumbing ----

    def log(self, message):
        line = f"[{time.time() - self.t_start:7.1f}s] {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    def connect(self, dbname):
        conn = psycopg2.connect(host=self.args.host, port=self.args.port, user="postgres", dbname=dbname)
        conn.autocommit = True
        return conn

    def q(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else None

    def q1(self, sql, params=None):
        rows = self.q(sql, params)
        return rows[0][0] if rows else None

    def sink(self, base, path):
        with urllib.request.urlopen(base + path, timeout=30) as response:
            return json.loads(response.read())

    def psql_timed(self, statement, label, settings="", expect_run=False):
        """Runs `statement` in a fresh psql session and times it with the
        server's clock; returns a dict with elapsed seconds, the NOTICE
        timeline and, for sync(), the run row."""
        script = "\\set ON_ERROR_STOP 1\n" + settings + (
            "SELECT pg_backend_pid() AS bench_pid \\gset\n"
            "\\warn BENCH_PID :bench_pid\n"
            "\\warn BENCH_START\n"
            "SELECT 'BENCH_T0 ' || extract(epoch FROM clock_timestamp());\n"
            f"{statement};\n"
            "SELECT 'BENCH_T1 ' || extract(epoch FROM clock_timestamp());\n")
        cmd = [os.path.join(self.bindir, "psql"), "-X", "-q", "-At", "-h", self.args.host, "-p", str(self.args.port),
               "-U", "postgres", "-d", "bench", "-f", "-"]
        notices = []
        started = [None]
        backend = [None]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

        def read_stderr():
            for line in proc.stderr:
                now = time.time()
                line = line.rstrip("\n")
                if line == "BENCH_START":
                    started[0] = now
                    continue
                if line.startswith("BENCH_PID "):
                    backend[0] = int(line.split()[1])
                    if self.sampler:  # sample from here on, knowing which backend is ours
                        self.sampler.named[backend[0]] = "client backend (the timed psql session)"
                        self.sampler.label = label
                    continue
                notices.append((now, re.sub(r"^psql:[^:]*:[0-9]+: ", "", line)))

        reader = threading.Thread(target=read_stderr, daemon=True)
        reader.start()
        try:
            proc.stdin.write(script)
            proc.stdin.close()
            out = proc.stdout.read()
            proc.wait()
        finally:
            if self.sampler:
                self.sampler.label = None
        reader.join()
        if self.sampler and backend[0]:
            self.sampler.named.pop(backend[0], None)
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed for {label}: " + "\n".join(n for _, n in notices))
        t0 = t1 = None
        run = None
        for line in out.splitlines():
            if line.startswith("BENCH_T0 "):
                t0 = float(line.split()[1])
            elif line.startswith("BENCH_T1 "):
                t1 = float(line.split()[1])
            elif line.startswith("BENCH_RUN "):
                run = json.loads(line[len("BENCH_RUN "):])
        base = t0 if t0 is not None else (started[0] or self.t_start)
        timeline = [(round(t - base, 3), text) for t, text in notices]
        result = {"label": label, "elapsed": t1 - t0, "t0": t0, "t1": t1, "notices": timeline}
        if expect_run:
            if run is None:
                raise RuntimeError(f"{label}: sync() returned no row")
            result["run"] = run
        return result

    def checkpoint(self):
        self.q("CHECKPOINT")

    def record(self, step):
        self.results["steps"].append(step)
        extra = ""
        if "rows" in step and step.get("elapsed"):
            extra = f", {step['rows'] / step['elapsed']:,.0f} rows/s"
        self.log(f"{step['label']}: {step['elapsed']:.3f} s{extra}")

    # ---- timed steps ----

    def floor(self, name, label, sql, rows, group, settings=""):
        step = self.psql_timed(sql, label, settings=settings)
        step.update(kind=name, rows=rows, group=group)
        step.pop("notices", None)
        self.record(step)
        return step

    def sync(self, mapping, label, group, expect_sent, rows, sink_base=None, settings="", reps_key=None,
             curve=False):
        sink_base = sink_base or self.args.sink_url
        self.sink(sink_base, "/reset")
        sampler = SinkSampler(self, sink_base) if curve else None
        if self.args.profile:
            self.q("SELECT pg_stat_statements_reset()")
        statement = ("SELECT 'BENCH_RUN ' || json_build_object('run_id', r.run_id, 'status', r.status, "
                     "'extracted', r.records_extracted, 'added', r.records_added, 'updated', r.records_updated, "
                     "'unchanged', r.records_unchanged, 'selected', r.records_selected, "
                     "'succeeded', r.records_succeeded, 'failed', r.records_failed, 'requests', r.requests_sent, "
                     "'run_seconds', extract(epoch FROM r.finished_at - r.started_at), "
                     "'started_at', extract(epoch FROM r.started_at), 'error', r.error) "
                     f"FROM reverse_etl.sync('{mapping}') r")
        try:
            step = self.psql_timed(statement, label, settings=settings, expect_run=True)
        finally:
            if sampler:
                step_curve = sampler.stop()
        sink = self.sink(sink_base, "/stats")
        if sampler:
            step["curve"] = step_curve
        if self.args.profile:
            step["statements"] = [list(r) for r in self.q(
                "SELECT calls, total_exec_time / 1000, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 150) "
                "FROM pg_stat_statements WHERE query NOT LIKE '%reverse_etl.sync(%' "
                "ORDER BY total_exec_time DESC LIMIT 10")]
        step.update(kind="sync", group=group, rows=rows, sink=sink)
        run = step["run"]
        problems = []
        if run["status"] != "succeeded":
            problems.append(f"status {run['status']} ({run['error']})")
        if run["selected"] != expect_sent or run["succeeded"] != expect_sent:
            problems.append(f"selected {run['selected']}, succeeded {run['succeeded']}, expected {expect_sent}")
        if sink["records"] != expect_sent:
            problems.append(f"the sink received {sink['records']} records, expected {expect_sent}")
        if problems:
            raise RuntimeError(f"{label}: " + "; ".join(problems))
        if sink["requests"]:
            step["to_first_request"] = sink["first_request_at"] - step["t0"]
            step["delivery_window"] = sink["last_answer_at"] - sink["first_request_at"]
        self.record(step)
        return step

    def pg_net_baseline(self, label, group, queue_sql, rows, expect_requests):
        """B2/B2b: a do-it-yourself sync with pg_net. `queue_sql(keys)` is a
        SELECT of (k, id): the request ids net.http_post gave for the parts
        (rows, batches) `k`, all of them when `keys` is None, else those in
        the SQL array `keys`. The time runs from just before the first
        statement until every part has an answer 200: parts whose request
        failed (pg_net records a timeout or an error and moves on) are sent
        again, as a user of pg_net has to, and counted."""
        self.sink(self.args.sink_url, "/reset")
        self.q("TRUNCATE net._http_response")
        self.q("DROP TABLE IF EXISTS pg_temp.diy_requests")
        self.q("CREATE TEMP TABLE diy_requests (k bigint PRIMARY KEY, id bigint NOT NULL)")
        if self.sampler:
            self.sampler.label = label
        resent = rounds = 0
        t0 = time.time()
        try:
            queued = self.q1(f"WITH q AS (INSERT INTO diy_requests {queue_sql(None)} RETURNING 1) SELECT count(*) FROM q")
            deadline = t0 + 3600
            while time.time() < deadline:
                pending, failed = self.q(
                    "SELECT count(*) FILTER (WHERE r.id IS NULL), "
                    "array_agg(d.k) FILTER (WHERE r.id IS NOT NULL AND r.status_code IS DISTINCT FROM 200) "
                    "FROM diy_requests d LEFT JOIN net._http_response r ON r.id = d.id")[0]
                if pending == 0 and not failed:
                    break
                if pending == 0:
                    rounds += 1
                    resent += len(failed)
                    keys = "ARRAY[" + ",".join(str(k) for k in failed) + "]::bigint[]"
                    self.q(f"DELETE FROM diy_requests WHERE k = ANY ({keys})")
                    self.q(f"INSERT INTO diy_requests {queue_sql(keys)}")
                time.sleep(0.05)
            elapsed = time.time() - t0
        finally:
            if self.sampler:
                self.sampler.label = None
        sink = self.sink(self.args.sink_url, "/stats")
        answered_ok = self.q1("SELECT count(*) FROM diy_requests d JOIN net._http_response r ON r.id = d.id "
                              "WHERE r.status_code = 200")
        problems = []
        if queued != expect_requests:
            problems.append(f"queued {queued} requests, expected {expect_requests}")
        if answered_ok != expect_requests:
            problems.append(f"{answered_ok} of {expect_requests} parts answered 200 within an hour")
        if sink["records"] < rows:
            problems.append(f"the sink received {sink['records']} records, expected {rows}")
        if problems:
            raise RuntimeError(f"{label}: " + "; ".join(problems))
        step = {"label": label, "kind": "pg_net", "group": group, "rows": rows, "elapsed": elapsed,
                "requests": expect_requests, "resent": resent, "rounds": rounds, "sink": sink}
        self.record(step)
        return step

    def pg_net_scenarios(self, n):
        """B2 (one net.http_post per row) on the first B2_ROWS rows, B2b (500
        rows a request) on the whole model: the DIY patterns pg_net users
        write, against the same sink. Neither diffs or checkpoints."""
        self.q("CREATE EXTENSION IF NOT EXISTS pg_net")
        self.results["pg_net"] = {
            "version": self.q1("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_net'"),
            "settings": {name: self.q1(f"SHOW {name}") for name in ("pg_net.batch_size", "pg_net.ttl")}}
        url = self.args.sink_url + "/diy"
        b2_rows = min(n, B2_ROWS)

        def per_row(keys):
            where = f"id <= {b2_rows}" + (f" AND id = ANY ({keys})" if keys else "")
            return (f"SELECT m.id, net.http_post(url := '{url}', body := to_jsonb(m)) "
                    f"FROM ({model_sql('users', where)}) AS m")

        def batched(keys):
            return (f"SELECT b.g, net.http_post(url := '{url}', body := b.batch) FROM (SELECT r.g, jsonb_agg(r.j) AS batch "
                    f"FROM (SELECT (row_number() OVER (ORDER BY m.id) - 1) / 500 AS g, to_jsonb(m) AS j "
                    f"FROM ({model_sql('users')}) AS m) AS r GROUP BY r.g) AS b"
                    + (f" WHERE b.g = ANY ({keys})" if keys else ""))

        self.checkpoint()
        self.pg_net_baseline(f"B2 per-row pg_net ({b2_rows:,} rows)", "B2", per_row, b2_rows, b2_rows)
        self.checkpoint()
        self.pg_net_baseline("B2b pg_net, 500 rows a request", "B2b", batched, n, -(-n // 500))

    def baseline(self, label, group, table, expect_sent, rows):
        self.sink(self.args.sink_url, "/reset")
        dsn = f"host={self.args.host} port={self.args.port} user=postgres dbname=bench"
        cmd = ["/usr/bin/python3", os.path.join(BENCH_DIR, "baseline_sync.py"), "--dsn", dsn,
               "--model", model_sql(table), "--url", self.args.sink_url + "/baseline", "--batch-size", "500",
               "--state-table", "public.baseline_state"]
        if self.sampler:
            self.sampler.label = label
        wall0 = time.time()
        try:
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        finally:
            if self.sampler:
                self.sampler.label = None
        wall = time.time() - wall0
        summary = json.loads(out.strip().splitlines()[-1])
        sink = self.sink(self.args.sink_url, "/stats")
        if summary["sent"] != expect_sent or sink["records"] != expect_sent:
            raise RuntimeError(f"{label}: sent {summary['sent']}, sink got {sink['records']}, expected {expect_sent}")
        step = {"label": label, "kind": "baseline", "group": group, "rows": rows, "elapsed": summary["elapsed"],
                "process_wall": wall, "summary": summary, "sink": sink}
        self.record(step)
        return step

    # ---- setup ----

    def generate(self, table, rows):
        """Creates and fills `table` with `rows` users, two sessions in
        parallel, then the primary key, VACUUM ANALYZE and a checkpoint."""
        t0 = time.time()
        self.q(f"DROP TABLE IF EXISTS public.{table}")
        self.q(CREATE_USERS.format(t=table))
        chunk = 500_000
        ranges = [(lo, min(lo + chunk - 1, rows)) for lo in range(1, rows + 1, chunk)]
        errors = []

        def worker(my_ranges):
            try:
                conn = self.connect("bench")
                with conn.cursor() as cur:
                    for lo, hi in my_ranges:
                        cur.execute(INSERT_USERS.format(t=table, lo=lo, hi=hi))
                conn.close()
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(ranges[i::2],)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        self.q(f"ALTER TABLE public.{table} ADD PRIMARY KEY (id)")
        self.q(f"VACUUM (ANALYZE) public.{table}")
        self.checkpoint()
        elapsed = time.time() - t0
        size = self.q(f"""SELECT pg_total_relation_size('public.{table}'), pg_relation_size('public.{table}'),
                                 (SELECT avg(pg_column_size(u.*)) FROM (SELECT * FROM public.{table} LIMIT 100000) u),
                                 (SELECT avg(octet_length(row_to_json(u)::text))
                                    FROM (SELECT * FROM public.{table} LIMIT 100000) u),
                                 (SELECT avg(octet_length(properties::text))
                                    FROM (SELECT * FROM public.{table} LIMIT 100000) u)""")[0]
        info = {"table": table, "rows": rows, "seconds": elapsed, "total_bytes": size[0], "heap_bytes": size[1],
                "avg_row_bytes": float(size[2]), "avg_json_bytes": float(size[3]),
                "avg_properties_json_bytes": float(size[4])}
        self.results.setdefault("data", []).append(info)
        self.log(f"generated {rows:,} rows in {table} in {elapsed:.1f} s: {size[1] / 1e6:.0f} MB heap, "
                 f"{float(size[2]):.0f} bytes a row stored, {float(size[3]):.0f} bytes as JSON")
        return info

    def create_mapping(self, name, model_name, table, where, dest_name, url, batch_size):
        self.q("SELECT reverse_etl.create_model(%s, %s, primary_key => 'id')", (model_name, model_sql(table, where)))
        self.q("SELECT reverse_etl.create_destination(%s, 'webhook', %s, enabled => true)",
               (dest_name, json.dumps({"url": url, "batch_size": batch_size})))
        self.q("SELECT reverse_etl.create_mapping(%s, %s, 'send', fields => %s, name => %s, enabled => true)",
               (model_name, dest_name, json.dumps(FIELDS), name))

    def machine(self):
        info = {}
        info["cores"] = os.cpu_count()
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    info["memory_gib"] = int(line.split()[1]) / 1024 / 1024
        model = ""
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        info["cpu"] = model
        info["kernel"] = platform.release()
        try:
            with open("/etc/debian_version") as f:
                info["debian"] = f.read().strip()
        except OSError:
            info["debian"] = "?"
        info["postgres"] = self.q1("SELECT version()")
        info["settings"] = {name: self.q1(f"SHOW {name}") for name in
                            ("shared_buffers", "max_wal_size", "checkpoint_timeout", "work_mem",
                             "reverse_etl.max_concurrent_requests", "autovacuum")}
        try:
            info["libcurl"] = subprocess.check_output(["curl-config", "--version"], text=True).strip()
        except (OSError, subprocess.CalledProcessError):
            info["libcurl"] = "?"
        repo = self.args.repo
        info["commit"] = subprocess.check_output(["git", "-C", repo, "rev-parse", "HEAD"], text=True).strip()
        dirty = subprocess.check_output(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no", "--",
                                         ".", ":!bench/results.md"], text=True).strip()
        info["dirty"] = bool(dirty)
        return info

    def f2_workers(self, model):
        plan = "\n".join(r[0] for r in self.q("EXPLAIN " + f2_sql(model)))
        m = re.search(r"Workers Planned: (\d+)", plan)
        return int(m.group(1)) if m else 0

    # ---- sink ceiling ----

    def sink_ceiling(self, body_rows):
        body_path = os.path.join(self.args.work, "body500.json")
        body = self.q1(f"SELECT json_agg(row_to_json(m))::text FROM ({model_sql('users')} ORDER BY id LIMIT 500) m")
        with open(body_path, "w") as f:
            f.write(body)
        lua = os.path.join(self.args.work, "post.lua")
        with open(lua, "w") as f:
            f.write(f'local f = io.open("{body_path}", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
                    'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
        out = {}
        for name, base, connections, seconds in (("plain", self.args.sink_url, 8, 10),
                                                 ("50 ms", self.args.slow_sink_url, 16, 5)):
            self.sink(base, "/reset")
            text = subprocess.check_output(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", lua,
                                            base + "/ceiling"], text=True)
            stats = self.sink(base, "/stats")
            window = stats["last_answer_at"] - stats["first_request_at"]
            latency = re.search(r"Latency\s+(\S+)", text).group(1)
            out[name] = {"connections": connections, "seconds": window, "requests": stats["requests"],
                         "records": stats["records"], "bytes": stats["body_bytes"],
                         "requests_per_s": stats["requests"] / window, "records_per_s": stats["records"] / window,
                         "mb_per_s": stats["body_bytes"] / window / 1e6, "wrk_latency": latency,
                         "body_bytes": len(body.encode())}
            self.log(f"sink ceiling ({name}, {connections} connections): {out[name]['requests_per_s']:,.0f} req/s, "
                     f"{out[name]['records_per_s']:,.0f} records/s, {out[name]['mb_per_s']:,.0f} MB/s, "
                     f"mean latency {latency}")
        self.results["sink_ceiling"] = out

    # ---- the run ----

    def run(self):
        a = self.args
        admin = self.connect("postgres")
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE bench")
        admin.close()
        self.conn = self.connect("bench")
        self.q("CREATE EXTENSION reverse_etl")
        if a.profile:
            self.q("CREATE EXTENSION pg_stat_statements")
        postmaster_pid = int(open(os.path.join(a.work, "data", "postmaster.pid")).readline())
        self.sampler = RssSampler(postmaster_pid)
        self.sampler.named[self.conn.get_backend_pid()] = "client backend (the driver's, idle)"
        self.sampler.start()
        self.results["machine"] = self.machine()
        self.results["args"] = {"rows": a.rows, "reps": a.reps, "with_10m": a.with_10m, "command": a.command,
                                "profile": a.profile, "pg_net": a.pg_net}
        self.results["load_before"] = os.getloadavg()

        n = a.rows
        self.generate("users", n)
        self.create_mapping("m", "users", "users", "", "sink", a.sink_url + "/users", 500)
        s5_rows = min(n, 100_000)
        self.create_mapping("s5", "users_100k", "users", f"id <= {s5_rows}", "slow sink",
                            a.slow_sink_url + "/users", 100)
        self.sink_ceiling(500)

        model = model_sql("users")
        # warm the cache: both floors once, untimed
        self.q(f2_sql(model))
        self.q(f1_sql(model))

        # S1 vs F1
        for r in range(a.reps):
            self.floor("F1", f"F1 rep {r + 1}", f1_sql(model), n, "1")
            self.q("SELECT reverse_etl.reset_mapping('m')")
            self.checkpoint()
            self.sync("m", f"S1 rep {r + 1}", "1", expect_sent=n, rows=n)
        # Between scheduled runs autovacuum would have visited the new checkpoint.
        self.q("VACUUM (ANALYZE)")
        self.checkpoint()
        # S2 vs F2
        for r in range(a.reps):
            self.floor("F2", f"F2 rep {r + 1}", f2_sql(model), n, "2")
            # informational: F2 is planned with parallel workers; the same
            # statement on one core (not used for any ratio)
            self.floor("F2 serial", f"F2 one core rep {r + 1}", f2_sql(model), n, "2",
                       settings="SET max_parallel_workers_per_gather = 0;\n")
            self.checkpoint()
            self.sync("m", f"S2 rep {r + 1}", "2", expect_sent=0, rows=n)
        # S3: 1% changed, vs F2 on the changed table
        for r in range(a.reps):
            changed = self.q1(f"SELECT count(*) FROM public.users WHERE id % 100 = {r}")
            t0 = time.time()
            self.q(CHANGE_USERS.format(t="users", k=r))
            update_s = time.time() - t0
            self.q("SELECT count(*) FROM public.users")  # as any reader would: hint bits of the new rows
            self.checkpoint()
            self.floor("F2", f"F2 (S3) rep {r + 1}", f2_sql(model), n, "3")
            step = self.sync("m", f"S3 rep {r + 1}", "3", expect_sent=changed, rows=n)
            step["update_seconds"] = update_s
            if step["run"]["updated"] != changed:
                raise RuntimeError(f"S3: {step['run']['updated']} updated, expected {changed}")

        # B1: the hand-written job on S1 and S2
        self.q("CREATE TABLE public.baseline_state (id bigint PRIMARY KEY, hash bigint NOT NULL)")
        for r in range(a.reps):
            self.q("TRUNCATE public.baseline_state")
            self.checkpoint()
            self.baseline(f"B1 (S1) rep {r + 1}", "B1-S1", "users", expect_sent=n, rows=n)
        self.q("VACUUM (ANALYZE)")
        self.checkpoint()
        for r in range(a.reps):
            self.checkpoint()
            self.baseline(f"B1 (S2) rep {r + 1}", "B1-S2", "users", expect_sent=0, rows=n)

        # B2, B2b: do-it-yourself syncs with pg_net (bench/run.sh --pg-net-source)
        if a.pg_net:
            self.pg_net_scenarios(n)

        # S5: 50 ms a request, batch 100, fixed concurrency 1, 4, 8, 16
        self.sink(a.slow_sink_url, "/config?latency_ms=50&latency_max_ms=0&capacity=0")
        for c in (1, 4, 8, 16):
            self.q("SELECT reverse_etl.reset_mapping('s5')")
            self.checkpoint()
            step = self.sync("s5", f"S5 concurrency {c}", "5", expect_sent=s5_rows, rows=s5_rows,
                             sink_base=a.slow_sink_url,
                             settings=f"SET reverse_etl.adaptive_concurrency = off;\n"
                                      f"SET reverse_etl.max_concurrent_requests = {c};\n")
            step["concurrency"] = c
        # S5 adaptive: 50 to 200 ms a request; the fixed 8 of earlier
        # releases, then adaptive concurrency (the defaults: from 8 up to 64),
        # then the same against a destination that answers 429 to requests
        # beyond 24 at once.
        for name, sink_config, settings in S5_ADAPTIVE:
            self.sink(a.slow_sink_url, "/config?" + sink_config)
            self.q("SELECT reverse_etl.reset_mapping('s5')")
            self.checkpoint()
            step = self.sync("s5", f"S5 adaptive: {name}", "5a", expect_sent=s5_rows, rows=s5_rows,
                             sink_base=a.slow_sink_url, settings=settings, curve=True)
            step["variant"] = name
            step["sink_config"] = sink_config
        self.sink(a.slow_sink_url, "/config?latency_ms=50&latency_max_ms=0&capacity=0")

        # S4: S1 and S2 at 10M
        if a.with_10m:
            big = 10_000_000
            self.generate("users_10m", big)
            self.create_mapping("m10m", "users_10m", "users_10m", "", "sink 10m", a.sink_url + "/users10m", 500)
            model10 = model_sql("users_10m")
            self.q(f2_sql(model10))  # warm, as at 1M
            self.floor("F1", "F1 10M", f1_sql(model10), big, "4-1")
            self.checkpoint()
            self.sync("m10m", "S1 10M", "4-1", expect_sent=big, rows=big)
            self.q("VACUUM (ANALYZE)")
            self.checkpoint()
            self.floor("F2", "F2 10M", f2_sql(model10), big, "4-2")
            self.checkpoint()
            self.sync("m10m", "S2 10M", "4-2", expect_sent=0, rows=big)

        self.results["finished_at"] = time.time()
        self.results["load_after"] = os.getloadavg()
        self.results["f2_workers"] = self.f2_workers(model)
        self.results["memory"] = self.sampler.peaks
        self.results["memory_samples"] = self.sampler.samples
        self.sampler.stopping.set()
        with open(os.path.join(a.work, "results.json"), "w") as f:
            json.dump(self.results, f, indent=1, default=str)
        import report  # bench/report.py
        report.write(self.results, a.output)
        self.log(f"wrote {a.output}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sink-url", required=True)
    parser.add_argument("--slow-sink-url", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--command", default="bench/run.sh")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--with-10m", action="store_true")
    parser.add_argument("--pg-net", action="store_true", help="also B2 and B2b (pg_net is preloaded)")
    parser.add_argument("--profile", action="store_true",
                        help="pg_stat_statements is loaded (track = all): list each sync's costliest statements")
    args = parser.parse_args()
    if args.rows < 1000 or args.reps < 1:
        parser.error("--rows must be at least 1000 and --reps at least 1")
    sys.path.insert(0, BENCH_DIR)
    Bench(args).run()


if __name__ == "__main__":
    main()
