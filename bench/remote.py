#!/usr/bin/python3
"""The remote source group (issue 16): bench/run.sh --remote starts the
cluster and the sink, then runs this.

The same users table (1,000,000 rows by default) is synced twice to the
sink, as a webhook with batch 500: once by a local model reading it, once
by a model on a source that reaches the same table over libpq (a loopback
connection to this cluster's database: the query runs in another backend,
its rows stream back through a cursor, fetch_rows at a time, into the run's
temporary table). The issue asks that the remote model sync within 1.5x of
the local one with the worker's memory flat; the worker's peak private
memory is sampled during each sync, and the remote model's also at half
the rows, to show it does not grow with the model. Writes
bench/results-remote.md.
"""

import argparse
import json
import os
import statistics
import sys
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH_DIR)
import bench  # noqa: E402  bench/bench.py: data, timing, memory sampling

LIMIT = 1.5
# Memory flat: the model at twice the rows may take at most this much more
# (issue 18 asks the same of the local model from 1M to 10M rows). Half the
# rows, not a tenth: at 100,000 rows temp_buffers and the first run's key
# sort are not full yet, and any model's worker grows until they are.
MEMORY_LIMIT = 1.10
# The model without its jsonb column: what parsing jsonb costs the remote
# model (the remote sends jsonb as text; storing it parses it again).
NARROW = [c for c in bench.COLUMNS if c != "properties"]
WORKER = "reverse_etl sync worker"


class RemoteBench(bench.Bench):

    def run(self):
        a = self.args
        admin = self.connect("postgres")
        with admin.cursor() as cur:
            cur.execute("CREATE DATABASE bench")
        admin.close()
        self.conn = self.connect("bench")
        self.q("CREATE EXTENSION reverse_etl")
        postmaster_pid = int(open(os.path.join(a.work, "data", "postmaster.pid")).readline())
        self.sampler = bench.RssSampler(postmaster_pid)
        self.sampler.named[self.conn.get_backend_pid()] = "client backend (the driver's, idle)"
        self.sampler.start()
        self.results["machine"] = self.machine()
        self.results["args"] = {"rows": a.rows, "reps": a.reps, "command": a.command, "fetch_rows": a.fetch_rows}
        self.results["load_before"] = os.getloadavg()

        n = a.rows
        small = max(1000, n // 2)
        self.generate("users", n)
        self.q("SELECT reverse_etl.create_source('loopback', %s, %s)",
               (f"host={a.host} port={a.port} dbname=bench user=postgres",
                json.dumps({"fetch_rows": a.fetch_rows})))
        self.q("SELECT reverse_etl.create_destination('sink', 'webhook', %s, enabled => true)",
               (json.dumps({"url": a.sink_url + "/users", "batch_size": 500}),))
        narrow = f"SELECT {', '.join(NARROW)} FROM public.users"
        models = (("local", bench.model_sql("users"), "local", n),
                  ("remote", bench.model_sql("users"), "loopback", n),
                  ("remote small", bench.model_sql("users", f"id <= {small}"), "loopback", small),
                  ("local, no jsonb", narrow, "local", n),
                  ("remote, no jsonb", narrow, "loopback", n))
        for name, query, source, _ in models:
            fields = {c: c for c in (NARROW if "no jsonb" in name else bench.COLUMNS)}
            self.q("SELECT reverse_etl.create_model(%s, %s, primary_key => 'id', source => %s)", (name, query, source))
            self.q("SELECT reverse_etl.create_mapping(%s, 'sink', 'send', fields => %s, name => %s, enabled => true)",
                   (name, json.dumps(fields), name))
        self.q(bench.f2_sql(bench.model_sql("users")))  # warm the cache

        steps = {name: [] for name, _, _, _ in models}
        for r in range(a.reps):
            # Local then remote in each repetition: a change in the machine's
            # load hits both alike.
            for name, _, _, rows in models:
                self.q("SELECT reverse_etl.reset_mapping(%s)", (name,))
                self.checkpoint()
                step = self.sync(name, f"{name} rep {r + 1}", name, expect_sent=rows, rows=rows)
                step["worker_peak_kb"] = self.sampler.peaks.get(step["label"], {}).get(WORKER)
                step.pop("notices", None)
                steps[name].append(step)
        self.results["remote_steps"] = steps
        self.results["finished_at"] = time.time()
        self.results["load_after"] = os.getloadavg()
        self.results["memory"] = self.sampler.peaks
        self.sampler.stopping.set()
        with open(os.path.join(a.work, "results-remote.json"), "w") as f:
            json.dump(self.results, f, indent=1, default=str)
        write(self.results, a.output)
        self.log(f"wrote {a.output}")


def write(results, path):
    import datetime
    args, machine = results["args"], results["machine"]
    steps = results["remote_steps"]
    when = datetime.datetime.fromtimestamp(results["finished_at"], datetime.timezone.utc)

    def median(name, key):
        values = [s[key] for s in steps[name] if s.get(key) is not None]
        return statistics.median(values) if values else None

    local_s, remote_s = median("local", "elapsed"), median("remote", "elapsed")
    narrow_local_s, narrow_remote_s = median("local, no jsonb", "elapsed"), median("remote, no jsonb", "elapsed")
    ratio = remote_s / local_s
    local_kb, remote_kb, small_kb = (median(m, "worker_peak_kb") for m in ("local", "remote", "remote small"))
    rows = args["rows"]
    small_rows = steps["remote small"][0]["rows"]
    lines = [
        "# reverse_etl remote source throughput and memory (issue 16)", "",
        f"Written by `{args['command']}` (as root) on {when:%Y-%m-%d %H:%M} UTC; "
        "[bench/README.md](README.md) says what is measured.", "",
        f"- **Commit**: `{machine['commit']}`" + (" (with uncommitted changes)" if machine["dirty"] else ""),
        f"- **Machine**: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']:.0f} GiB memory, "
        f"Debian {machine['debian']}, Linux {machine['kernel']}; shared: other builds and tests may run at the "
        "same time",
        f"- **PostgreSQL**: {machine['postgres']}",
        f"- **Model**: {rows:,} rows of bench's `users` table (every column), synced to the sink as a webhook "
        f"with batch 500, {args['reps']} repetition(s) (medians below); the source reaches the same table over "
        f"libpq (a loopback connection to this cluster, `fetch_rows` {args['fetch_rows']:,})",
        f"- **Load average** (1 min) at the start: {results['load_before'][0]:.2f}; at the end: "
        f"{results['load_after'][0]:.2f}", "",
        "## Targets", "",
        "| target | measured | verdict |",
        "|---|---|---|",
        f"| a first sync of the remote model within {LIMIT}x of the local model's | {remote_s:.2f} s / "
        f"{local_s:.2f} s = **{ratio:.2f}x** | **{'pass' if ratio <= LIMIT else 'fail'}** |",
        f"| the sync worker's memory flat whatever the model's size | peak private memory (RssAnon) of the sync "
        f"worker: remote {remote_kb / 1024:.0f} MB at {rows:,} rows, {small_kb / 1024:.0f} MB at "
        f"{small_rows:,}; local {local_kb / 1024:.0f} MB | "
        f"**{'pass' if remote_kb <= MEMORY_LIMIT * small_kb + 8192 else 'fail'}** (within 10% + 8 MB of the model "
        "at half the rows) |",
        f"| (not a target: the same without the jsonb column) | {narrow_remote_s:.2f} s / {narrow_local_s:.2f} s = "
        f"{narrow_remote_s / narrow_local_s:.2f}x | |",
        "", "## Syncs", "",
        "| model | source | rows | time (s) | records/s | run's own time (s) | worker peak MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in steps:
        source = "local" if name.startswith("local") else "loopback"
        times = "/".join(f"{s['elapsed']:.2f}" for s in steps[name])
        n = steps[name][0]["rows"]
        lines.append(f"| {name} | {source} | {n:,} | {times} | {n / median(name, 'elapsed'):,.0f} | "
                     f"{statistics.median(s['run']['run_seconds'] for s in steps[name]):.2f} | "
                     f"{median(name, 'worker_peak_kb') / 1024:.0f} |")
    lines += ["", "The remote model's time includes the remote query (another backend of the same cluster, on the "
              "same 2 cores), the rows' transfer over the Unix socket and their insertion into the run's "
              "temporary table; the rest (diff, payloads, delivery) is the local model's work. The worker's "
              "`temp_buffers` (32 MB) bounds the temporary table's memory; past it, the table spills to "
              "temporary files like the run's other work tables."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sink-url", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--command", default="bench/run.sh --remote")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--fetch-rows", type=int, default=10_000)
    args = parser.parse_args()
    if args.rows < 1000 or args.reps < 1:
        parser.error("--rows must be at least 1000 and --reps at least 1")
    args.profile = False
    RemoteBench(args).run()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1].endswith(".json"):   # remote.py RESULTS_JSON OUT_MD re-renders
        with open(sys.argv[1]) as f:
            write(json.load(f), sys.argv[2])
    else:
        main()
