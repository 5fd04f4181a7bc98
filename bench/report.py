#!/usr/bin/python3
"""Writes bench/results.md from the driver's results (bench/work/results.json).

    report.py RESULTS_JSON OUTPUT_MD     re-renders a finished run
"""

import datetime
import json
import statistics
import sys


def median(values):
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt_s(seconds):
    return "–" if seconds is None else f"{seconds:.2f}"


def fmt_n(n):
    return "–" if n is None else f"{n:,.0f}"


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}"


def mb(kb):
    return None if kb is None else kb / 1024


def verdict(ok):
    return "–" if ok is None else ("**met**" if ok else "**missed**")


def pg_net_ratios(group, s1, rows):
    """(B2/S1 per row, B2b/S1), or (None, None) when they were not run."""
    b2, b2b = group("B2", "pg_net"), group("B2b", "pg_net")
    if not b2 or not b2b or not s1:
        return None, None
    per_row_s1 = s1 / rows
    return (b2[0]["elapsed"] / b2[0]["rows"]) / per_row_s1, b2b[0]["elapsed"] / s1


def write_pg_net(w, results, group, s1, rows):
    info = results.get("pg_net", {})
    settings = ", ".join(f"`{k} = {v}`" for k, v in info.get("settings", {}).items())
    w("## Do-it-yourself with pg_net (B2, B2b)")
    w("")
    w(f"pg_net {info.get('version', '?')}, built from its release's source as the bench ran, preloaded in the "
      f"same cluster, its worker in the benchmark's database, with its defaults ({settings}, 5 s a request). "
      "The time runs from just before the statement that queues the requests until every part (row, batch) "
      "has an answer 200 in `net._http_response`: pg_net records a timeout or an error and moves on, so the "
      "driver sends the failed parts again, as its user would have to (\"resent\" below). Use the v0.20.5 "
      "release or later (its `extversion` still says 0.20.4): before it, pg_net's epoll loop waited only "
      "for reads when libcurl wanted to read and write, and a request body larger than the socket's buffer "
      "(B2b's 145 kB) stalled until its timeout. B2 is `SELECT net.http_post(url, to_jsonb(m)) FROM (model) m`, one "
      "request a row, on the first rows only (compared per row); B2b sends the whole model as `jsonb_agg` "
      "arrays of 500 rows, one request each.")
    w("")
    w("Neither is a sync: no diff (every run sends every row again, changed or not, and never a deletion), "
      "no checkpoint (a crash loses track of what was sent), no retries of its own (a 429, 5xx or timeout is "
      "only recorded in `net._http_response`, dropped after `pg_net.ttl`: the bench's driver does the "
      "resending), no batching by the destination's limits, no pacing. They measure only the cost of getting "
      "the rows out.")
    w("")
    w("| step | rows | requests | resent | time (s) | rows/s | S1 time for as many rows (s) | ratio to S1 |")
    w("|---|---|---|---|---|---|---|---|")
    for step in group("B2", "pg_net") + group("B2b", "pg_net"):
        s1_same = s1 * step["rows"] / rows if s1 else None
        w(f"| {step['label']} | {step['rows']:,} | {step['requests']:,} | {step.get('resent', 0):,} | "
          f"{fmt_s(step['elapsed'])} | "
          f"{fmt_n(step['rows'] / step['elapsed'])} | {fmt_s(s1_same)} | "
          f"{fmt_ratio(ratio(step['elapsed'], s1_same))}× |")
    w("")


def write_s5_adaptive(w, steps):
    w("## S5 adaptive: a destination that takes 50 to 200 ms per request")
    w("")
    w(f"{steps[0]['rows']:,} rows, batch 100; each answer held for a time drawn uniformly from 50-200 ms. "
      "\"fixed 8\" is `reverse_etl.adaptive_concurrency = off` with `max_concurrent_requests = 8` (earlier "
      "releases); \"adaptive\" the defaults (start at 8, at most `max_concurrent_requests` = 64); the last "
      "variant's destination answers 429 at once to a request that arrives while it holds 24.")
    w("")
    w("| variant | time (s) | rows/s | requests | 429s | most in flight at the sink |")
    w("|---|---|---|---|---|---|")
    for s in steps:
        sink = s["sink"]
        w(f"| {s['variant']} | {fmt_s(s['elapsed'])} | {fmt_n(s['rows'] / s['elapsed'])} | {sink['requests']:,} | "
          f"{sink['refused']:,} | {sink['max_held']} |")
    w("")
    w("The curve: requests in flight at the sink (the most it held in each half second, sampled every "
      "100 ms; in parentheses the 429s of that half second).")
    w("")
    w("| seconds | " + " | ".join(s["variant"] for s in steps) + " |")
    w("|---|" + "---|" * len(steps))
    buckets = [curve_buckets(s.get("curve", []), 0.5) for s in steps]
    for i in range(max(len(b) for b in buckets)):
        cells = []
        for b in buckets:
            if i >= len(b):
                cells.append("")
                continue
            held, refused = b[i]
            cells.append(f"{held}" + (f" ({refused})" if refused else ""))
        w(f"| {(i + 1) * 0.5:.1f} | " + " | ".join(cells) + " |")
    w("")


def curve_buckets(points, width):
    """[(most held, 429s)] per `width` seconds from [t, held, refused so far, requests] samples."""
    buckets = []
    last_refused = 0
    for t, held, refused, _requests in points:
        index = int(t / width - 1e-9)
        while len(buckets) <= index:
            buckets.append([0, 0])
        buckets[index][0] = max(buckets[index][0], held)
        buckets[index][1] += refused - last_refused
        last_refused = refused
    return [tuple(b) for b in buckets]


def write(results, path):
    steps = results["steps"]
    args = results["args"]
    machine = results["machine"]
    reps = args["reps"]

    def group(name, kind=None):
        return [s for s in steps if s["group"] == name and (kind is None or s["kind"] == kind)]

    def med(name, kind):
        return median([s["elapsed"] for s in group(name, kind)])

    rows = args["rows"]
    s1, f1 = med("1", "sync"), med("1", "F1")
    s2, f2 = med("2", "sync"), med("2", "F2")
    s3, f2_3 = med("3", "sync"), med("3", "F2")
    b1_s1, b1_s2 = med("B1-S1", "baseline"), med("B1-S2", "baseline")
    s5 = {s["concurrency"]: s for s in group("5", "sync")}
    s5a = group("5a", "sync")
    s5a_speedup = None
    if len(s5a) >= 2:
        s5a_speedup = s5a[0]["elapsed"] / s5a[1]["elapsed"]
    big = args["with_10m"]
    s1_10, f1_10 = med("4-1", "sync"), med("4-1", "F1")
    s2_10, f2_10 = med("4-2", "sync"), med("4-2", "F2")

    memory = results.get("memory", {})

    def peak(labels, kind=None):
        values = []
        for label in labels:
            kinds = memory.get(label, {})
            if kind is None:
                values += [v for k, v in kinds.items() if k != "all server processes (sum)"]
            elif kind in kinds:
                values.append(kinds[kind])
        return max(values) if values else None

    labels_1m = [s["label"] for s in steps if s["group"] in ("1", "2") and s["kind"] == "sync"]
    labels_10m = [s["label"] for s in steps if s["group"] in ("4-1", "4-2") and s["kind"] == "sync"]
    peak_1m = peak(labels_1m)
    peak_10m = peak(labels_10m) if big else None

    s5_speedup = None
    if 1 in s5 and 8 in s5:
        s5_speedup = s5[1]["elapsed"] / s5[8]["elapsed"]

    out = []
    w = out.append
    w("# reverse_etl benchmarks")
    w("")
    when = datetime.datetime.fromtimestamp(results.get("finished_at", 0) or
                                           max(s.get("t1") or 0 for s in steps) or 0,
                                           tz=datetime.timezone.utc)
    w(f"Written by `{args['command']}` (as root) on {when:%Y-%m-%d %H:%M} UTC; "
      "[bench/README.md](README.md) says what each step measures.")
    w("")
    commit = machine["commit"] + (" plus uncommitted changes" if machine.get("dirty") else "")
    w(f"- **Commit**: `{commit}`")
    w(f"- **Machine**: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gib']:.0f} GiB memory, "
      f"Debian {machine['debian']}, Linux {machine['kernel']}")
    w(f"- **PostgreSQL**: {machine['postgres']}")
    settings = machine["settings"]
    w("- **Server settings**: " + ", ".join(f"`{k} = {v}`" for k, v in settings.items()) +
      " (the rest are defaults); " + machine.get("libcurl", "libcurl ?"))
    w(f"- **Command**: `sudo {args['command']}`; main model {rows:,} rows, "
      f"{reps} repetition{'s' if reps != 1 else ''} of each timed step (medians below)"
      + ("; S4 at 10,000,000 rows, one repetition" if big else "; S4 (10M rows) not run: add `--with-10m`"))
    if "load_before" in results:
        lb, la = results["load_before"], results.get("load_after", [None])
        w(f"- **Load average** (1 min) when the scenarios started: {lb[0]:.2f}; at the end: "
          f"{la[0]:.2f} (other work on the machine skews the figures)")
    if args.get("profile"):
        w("- **Profiled run**: pg_stat_statements was loaded with `track = all`, which adds a little to every "
          "statement; compare ratios with an unprofiled run")
    w("")

    w("## Targets")
    w("")
    w("The goals of the second performance round (issue 18); the first round's were S1/F1 ≤ 3, S2/F2 ≤ 2, "
      "S3/F2 ≤ 2.5, 10M/1M memory ≤ 1.2× and < 256 MB.")
    w("")
    w("| target | measured | goal | |")
    w("|---|---|---|---|")
    r1, r2, r3 = ratio(s1, f1), ratio(s2, f2), ratio(s3, f2_3)

    def spread(name, floor_kind):
        """The ratio's range over the repetitions (each sync against the floor run just before it)."""
        pairs = [ratio(s["elapsed"], f["elapsed"]) for s, f in zip(group(name, "sync"), group(name, floor_kind))]
        pairs = [p for p in pairs if p is not None]
        return f" ({fmt_ratio(min(pairs))}-{fmt_ratio(max(pairs))} over {len(pairs)} reps)" if len(pairs) > 1 else ""

    w(f"| S1/F1: first sync of {rows:,} rows vs COPY of their JSON to /dev/null | {fmt_ratio(r1)}"
      f"{spread('1', 'F1')} | ≤ 1.5 | {verdict(None if r1 is None else r1 <= 1.5)} |")
    w(f"| S2/F2: resync, nothing changed, vs hashing every row | {fmt_ratio(r2)}{spread('2', 'F2')} | ≤ 1.2 | "
      f"{verdict(None if r2 is None else r2 <= 1.2)} |")
    w(f"| S3/F2: resync after 1% changed | {fmt_ratio(r3)}{spread('3', 'F2')} | ≤ 1.5 | "
      f"{verdict(None if r3 is None else r3 <= 1.5)} |")
    if big:
        r41, r42 = ratio(s1_10, f1_10), ratio(s2_10, f2_10)
        w(f"| S4: S1/F1 at 10M rows | {fmt_ratio(r41)} | ≤ 1.6 | {verdict(None if r41 is None else r41 <= 1.6)} |")
        w(f"| S4: S2/F2 at 10M rows | {fmt_ratio(r42)} | ≤ 1.2 | {verdict(None if r42 is None else r42 <= 1.2)} |")
        mr = ratio(peak_10m, peak_1m)
        ok = None if mr is None else (mr <= 1.1 and peak_10m / 1024 <= 96)
        w(f"| S4: peak RssAnon of the largest server process during S1+S2, 10M vs 1M | "
          f"{mb(peak_10m):.0f} MB vs {mb(peak_1m):.0f} MB at {rows:,} = {fmt_ratio(mr)}× | ≤ 1.1× and ≤ 96 MB | "
          f"{verdict(ok)} |")
    else:
        w(f"| S4: peak memory at 10M vs 1M | not run ({mb(peak_1m):.0f} MB at {rows:,}, largest process) | "
          "≤ 1.1× and ≤ 96 MB | – |")
    w(f"| S5: 50 ms a request, concurrency 8 vs 1 | {fmt_ratio(s5_speedup)}× faster | ≥ 6× | "
      f"{verdict(None if s5_speedup is None else s5_speedup >= 6)} |")
    if s5a_speedup is not None:
        w(f"| S5 adaptive: 50-200 ms a request, adaptive concurrency (8 up to 64) vs a fixed 8 | "
          f"{fmt_ratio(s5a_speedup)}× faster | ≥ 3× | {verdict(s5a_speedup >= 3)} |")
    sp1, sp2 = ratio(b1_s1, s1), ratio(b1_s2, s2)
    b2, b2b = pg_net_ratios(group, s1, rows)
    if b2 is None:
        w("| B2/S1: per-row pg_net (one `net.http_post` a row) vs the first sync, per row | not run (add "
          "`--pg-net-source DIR`) | ≥ 100× | – |")
        w("| B2b/S1: pg_net with 500 rows a request vs the first sync | not run | ≥ 2× | – |")
    else:
        w(f"| B2/S1: per-row pg_net (one `net.http_post` a row) vs the first sync, per row | {fmt_ratio(b2)}× | "
          f"≥ 100× | {verdict(b2 >= 100)} |")
        w(f"| B2b/S1: pg_net with 500 rows a request vs the first sync | {fmt_ratio(b2b)}× | ≥ 2× | "
          f"{verdict(b2b >= 2)} |")
    w(f"| B1 on S1: hand-written job time / engine time | {fmt_ratio(sp1)}× | ≥ 5× | "
      f"{verdict(None if sp1 is None else sp1 >= 5)} |")
    w(f"| B1 on S2: hand-written job time / engine time | {fmt_ratio(sp2)}× | ≥ 5× | "
      f"{verdict(None if sp2 is None else sp2 >= 5)} |")
    w("")

    w("## Scenarios and floors")
    w("")
    w("Time is the wall time of the statement, from `clock_timestamp()` just before to just after it in the "
      "same psql session (for `sync()`: starting the worker, extracting, delivering, waiting for it). "
      "The floors run in the same session type, right before their scenario.")
    w("")
    w("| scenario | rows | sent | time (s) | rows/s | floor | floor time (s) | floor rows/s | ratio |")
    w("|---|---|---|---|---|---|---|---|---|")

    def sent_of(name, kind="sync"):
        g = group(name, kind)
        return g[0]["sink"]["records"] if g else None

    def line(title, n, sent, t, floor_name, ft):
        w(f"| {title} | {fmt_n(n)} | {fmt_n(sent)} | {fmt_s(t)} | {fmt_n(n / t if t else None)} | {floor_name} | "
          f"{fmt_s(ft)} | {fmt_n(n / ft if ft else None)} | {fmt_ratio(ratio(t, ft))} |")

    line("S1 first sync (webhook, batch 500)", rows, sent_of("1"), s1, "F1 COPY row_to_json", f1)
    line("S2 resync, no change", rows, sent_of("2"), s2, "F2 sum(hashtextextended)", f2)
    f2_serial = med("2", "F2 serial")
    if f2_serial is not None:
        line("S2 (informational: F2 on one core)", rows, sent_of("2"), s2,
             "F2, `max_parallel_workers_per_gather = 0`", f2_serial)
    line("S3 resync, 1% changed", rows, sent_of("3"), s3, "F2 sum(hashtextextended)", f2_3)
    if big:
        line("S4 S1 at 10M", 10_000_000, sent_of("4-1"), s1_10, "F1", f1_10)
        line("S4 S2 at 10M", 10_000_000, sent_of("4-2"), s2_10, "F2", f2_10)
    w(f"| B1 hand-written job, first sync | {fmt_n(rows)} | {fmt_n(sent_of('B1-S1', 'baseline'))} | "
      f"{fmt_s(b1_s1)} | {fmt_n(rows / b1_s1 if b1_s1 else None)} | S1 | {fmt_s(s1)} | – | "
      f"B1/S1 = {fmt_ratio(ratio(b1_s1, s1))} |")
    w(f"| B1 hand-written job, no change | {fmt_n(rows)} | {fmt_n(sent_of('B1-S2', 'baseline'))} | "
      f"{fmt_s(b1_s2)} | {fmt_n(rows / b1_s2 if b1_s2 else None)} | S2 | {fmt_s(s2)} | – | "
      f"B1/S2 = {fmt_ratio(ratio(b1_s2, s2))} |")
    w("")

    if s5:
        w("## S5: a destination that takes 50 ms per request")
        w("")
        any5 = next(iter(s5.values()))
        w(f"{any5['rows']:,} rows, batch 100, `SET reverse_etl.adaptive_concurrency = off` and "
          "`SET reverse_etl.max_concurrent_requests = N` before `sync()`. "
          "The ideal time is requests × 50 ms / concurrency; \"in flight\" is the most requests the sink held at "
          "once.")
        w("")
        w("| concurrency | requests | time (s) | rows/s | ideal (s) | speedup vs 1 | in flight at the sink |")
        w("|---|---|---|---|---|---|---|")
        for c in sorted(s5):
            s = s5[c]
            reqs = s["sink"]["requests"]
            ideal = reqs * 0.05 / c
            w(f"| {c} | {reqs:,} | {fmt_s(s['elapsed'])} | {fmt_n(s['rows'] / s['elapsed'])} | {ideal:.2f} | "
              f"{fmt_ratio(s5[1]['elapsed'] / s['elapsed']) if 1 in s5 else '–'}× | {s['sink']['max_in_flight']} |")
        w("")

    if s5a:
        write_s5_adaptive(w, s5a)
    if group("B2", "pg_net"):
        write_pg_net(w, results, group, s1, rows)

    w("## Memory")
    w("")
    w("Peak RssAnon (private memory: heap, not shared buffers) of each server process while the syncs ran, "
      "sampled every 20 ms from `/proc/<pid>/status`; for a kind with several processes, the largest one. "
      f"In MB; S1, S2 and S3 at {rows:,} rows.")
    w("")
    cols = [("S1", [s["label"] for s in group("1", "sync")]), ("S2", [s["label"] for s in group("2", "sync")]),
            ("S3", [s["label"] for s in group("3", "sync")])]
    if big:
        cols += [("S1 at 10M", [s["label"] for s in group("4-1", "sync")]),
                 ("S2 at 10M", [s["label"] for s in group("4-2", "sync")])]
    cols += [("S5", [s["label"] for s in group("5", "sync")]),
             ("B1 (S1)", [s["label"] for s in group("B1-S1", "baseline")])]
    kinds = sorted({k for label_list in (c[1] for c in cols) for label in label_list for k in memory.get(label, {})},
                   key=lambda k: (k == "all server processes (sum)", k != "reverse_etl sync worker", k))
    header = "| process | " + " | ".join(c[0] for c in cols) + (f" | S1+S2 10M / {rows:,} |" if big else " |")
    w(header)
    w("|---|" + "---|" * len(cols) + ("---|" if big else ""))
    for kind in kinds:
        cells = []
        for _, labels in cols:
            v = peak(labels, kind)
            cells.append("–" if v is None else f"{v / 1024:.1f}")
        extra = ""
        if big:
            a, b = peak(labels_1m, kind), peak(labels_10m, kind)
            extra = f" {fmt_ratio(ratio(b, a))} |"
        w(f"| {kind} | " + " | ".join(cells) + " |" + extra)
    w("")

    ceiling = results.get("sink_ceiling")
    if ceiling:
        w("## The sink")
        w("")
        w("`bench/sink.c`: one thread, epoll, HTTP/1.1 keep-alive; reads every body, counts requests, bytes and "
          "records, answers 200. Its ceiling, measured with `wrk` (2 threads, on the same 2 cores) POSTing a "
          f"{ceiling['plain']['body_bytes']:,}-byte body of 500 real records:")
        w("")
        w("| sink | connections | requests/s | records/s | MB/s | wrk mean latency |")
        w("|---|---|---|---|---|---|")
        for name, c in ceiling.items():
            w(f"| {name} | {c['connections']} | {fmt_n(c['requests_per_s'])} | {fmt_n(c['records_per_s'])} | "
              f"{c['mb_per_s']:.0f} | {c['wrk_latency']} |")
        if s1:
            w("")
            w(f"The plain sink takes {ceiling['plain']['records_per_s'] / (rows / s1):.0f}× the records per second "
              f"S1 sends ({fmt_n(rows / s1)}/s).")
        w("")

    data = results.get("data", [])
    if data:
        w("## Data")
        w("")
        w("A `users` table: `id bigint` (primary key), `email text`, `name text`, `plan text`, "
          "`mrr numeric(12,2)`, `created_at timestamptz`, `properties jsonb` (company, country, seats, signup "
          "source, opt-in, features array). Values are hashes of the id: the same data every run. The model is "
          "`SELECT id, email, name, plan, mrr, created_at, properties FROM public.users`; the mapping sends every "
          "column under its own name (`added_or_updated`). S3 changes `properties.seats` and `mrr` of 1% of the "
          "rows (a different 1% each repetition).")
        w("")
        w("| table | rows | generated in (s) | heap MB | with index MB | bytes a row (stored) | bytes a row (JSON) |")
        w("|---|---|---|---|---|---|---|")
        for d in data:
            w(f"| {d['table']} | {d['rows']:,} | {d['seconds']:.0f} | {d['heap_bytes'] / 1e6:.0f} | "
              f"{d['total_bytes'] / 1e6:.0f} | {d['avg_row_bytes']:.0f} | {d['avg_json_bytes']:.0f} |")
        g1 = group("1", "sync")
        if g1 and g1[0]["sink"]["records"]:
            sk = g1[0]["sink"]
            w("")
            w(f"S1's requests carried {sk['body_bytes'] / sk['records']:.0f} bytes a record "
              f"({sk['body_bytes'] / 1e6:.0f} MB in {sk['requests']:,} requests).")
        w("")

    w("## Where the time goes")
    w("")
    w("The first repetition of each sync: NOTICEs as psql received them (seconds since the call), then from the "
      "sink's clock the time to the first request and the span from the first request to the last answer, and "
      "the run's own `finished_at - started_at`.")
    w("")
    for name in ("1", "2", "3", "4-1", "4-2"):
        g = group(name, "sync")
        if not g:
            continue
        s = g[0]
        w(f"**{s['label']}** ({s['elapsed']:.2f} s; run {s['run']['run_seconds']:.2f} s"
          + (f"; first request at {s['to_first_request']:.2f} s, delivery {s['delivery_window']:.2f} s"
             if "to_first_request" in s else "") + ")")
        w("")
        w("```")
        for t, text in s["notices"]:
            w(f"{t:7.2f}  {text}")
        w("```")
        w("")
        if s.get("statements"):
            w("Statements by total time (pg_stat_statements, every level):")
            w("")
            w("| calls | total (s) | rows | statement |")
            w("|---|---|---|---|")
            for calls, total, nrows, query in s["statements"]:
                query = query.replace("|", "\\|")
                w(f"| {calls:,} | {total:.2f} | {nrows:,} | `{query}` |")
            w("")

    w("## Every repetition")
    w("")
    w("| step | time (s) | notes |")
    w("|---|---|---|")
    for s in steps:
        notes = ""
        if s["kind"] == "sync":
            r = s["run"]
            notes = (f"run {r['run_id']}: {r['extracted']:,} extracted, {r['added']:,} added, {r['updated']:,} "
                     f"updated, {r['succeeded']:,} delivered in {r['requests']:,} requests; run "
                     f"{r['run_seconds']:.2f} s")
            if "update_seconds" in s:
                notes += f"; the 1% UPDATE took {s['update_seconds']:.2f} s"
        elif s["kind"] == "baseline":
            notes = (f"{s['summary']['sent']:,} sent in {s['summary']['requests']:,} requests; "
                     f"process wall time {s['process_wall']:.2f} s")
        w(f"| {s['label']} | {s['elapsed']:.2f} | {notes} |")
    w("")

    w("## Method")
    w("")
    preload = "reverse_etl,pg_net" if args.get("pg_net") else "reverse_etl"
    w(f"- One throwaway cluster (bench/work/, Unix socket only), `shared_preload_libraries = '{preload}'`, the "
      "launcher pointed at the `postgres` database where it idles; everything runs in the `bench` database as "
      "the superuser `postgres`.")
    w("- Before the timed steps: the floors run once untimed (cache warm). A `CHECKPOINT` before each sync and "
      "each B1 run. S1 starts from `reset_mapping` each repetition. Before S2 (and B1's S2) a database-wide "
      "`VACUUM (ANALYZE)`, the state autovacuum reaches between two scheduled runs. Before each S3, the 1% "
      "UPDATE and a `count(*)` of the table (the new rows' hint bits, as any reader would set them).")
    w("- F1 = `COPY (SELECT row_to_json(m) FROM (model) m) TO '/dev/null'`; "
      "F2 = `SELECT sum(hashtextextended(m::text, 0)) FROM (model) m`"
      + (f", which PostgreSQL plans with {results['f2_workers']} parallel workers (as specified, F2 keeps them; "
         "the one-core figure is informational only)" if results.get("f2_workers") else "") + ".")
    w("- B1 (`bench/baseline_sync.py`): psycopg2 + requests from Debian; a state table id -> "
      "`hashtextextended(row::text, 0)`; one query finds new and changed rows (hash join with the state, "
      "server-side cursor) and renders them with `row_to_json`; JSON arrays of 500 records POSTed one at a time "
      "on a kept-alive session with retries; the state upserted and committed after each acknowledged batch. "
      "Its time is measured inside the script (from connecting to the end, without the interpreter's start).")
    w("- Every run is checked: status `succeeded`, the counts expected, and the sink's record count equal to "
      "what was to be sent.")
    w("")
    with open(path, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        write(json.load(f), sys.argv[2])
