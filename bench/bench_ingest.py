"""Tracking ingestion throughput in the real configuration.

1. A year of events of 6,000 prospects (registrations, page views, email opens
   and clicks, downloads; about 100,000 events) through
   ``POST /prm/api/v1/events`` in batches of 1,000, by 4 concurrent clients,
   against Odoo with 2 HTTP workers and a cron worker, with prm_tracking,
   prm_scoring and prm_funnel installed and a rule set active.  Events are
   shuffled, so every person's events are spread over the batches of all
   clients, and the first batch of every client identifies the same 200 new
   addresses at the same time.  Measured: events/s, HTTP errors, events lost
   or stored twice, leads per new email, and the delay from a POST to the
   lead's score being visible (probes during the load), p50/p95.
2. The same rows written with ORM ``create()`` in batches of 1,000, in the
   same run, on the same database: the ratio of the two.
3. ``GET /prm/p.gif`` against Odoo's own ``GET /web/health`` on the same
   server (restarted without cron workers), interleaved rounds, 4 concurrent
   keep-alive clients; the pixel queues its hits, and the flush job that turns
   them into events is timed afterwards (every answered hit must be an event).

Targets (reported, not asserted): >= 5,000 events/s, 0 errors, 0 lost, 0
duplicated, one lead per new email; pixel >= 80% of health.
"""

import http.client
import json
import os
import statistics
import threading
import time
from pathlib import Path

import psycopg2
from harness import (
    dev_tool,
    drop_db,
    fresh_db,
    install_bench_ruleset,
    odoo_script,
    psql,
)
from load import (
    BATCH,
    PUBLIC,
    SECRET,
    bodies_per_client,
    install_site,
    make_events,
    post_all,
    start_odoo,
    stop_odoo,
    wait_for_queue,
    wait_up,
)

TITLE = "Tracking ingestion (prm_tracking)"
PROSPECTS = int(os.environ.get("PRM_BENCH_PROSPECTS", "6000"))
SHARED_NEW = 200  # new addresses every client identifies in its first batch
CLIENTS = 4
PROBES = 30
PIXEL_ROUNDS = 8
PIXEL_SECONDS = 3.0
PIXEL_CLIENTS = 4

ORM_SCRIPT = r"""
import json, sys, time
import odoo
from odoo import api, SUPERUSER_ID
from odoo.tools import config
config.parse_config(sys.argv[1:])
registry = odoo.modules.registry.Registry(config["db_name"])
rows = json.load(open(__import__("os").environ["PRM_BENCH_ROWS"]))
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    types = {t.code: t.id for t in env["prm.event.type"].search([])}
    start = time.perf_counter()
    for i in range(0, len(rows), 1000):
        env["prm.event"].create([
            {"event_type_id": types[r["type"]],
             "occurred_at": r["occurred_at"][:19].replace("T", " "),
             "url": r.get("url"), "title": r.get("title"), "origin": "import",
             "external_id": "orm-" + r["id"]}
            for r in rows[i:i + 1000]
        ])
        cr.commit()
    elapsed = time.perf_counter() - start
print("ORM_SECONDS", elapsed)
"""

FLUSH_SCRIPT = r"""
import sys, time
import odoo
from odoo import api, SUPERUSER_ID
from odoo.tools import config
config.parse_config(sys.argv[1:])
registry = odoo.modules.registry.Registry(config["db_name"])
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {})
    start = time.perf_counter()
    done = env["prm.pixel.hit"]._cron_flush()
    cr.commit()
    elapsed = time.perf_counter() - start
print("FLUSH", done, elapsed)
"""


def hammer(port, path, seconds, clients):
    """Requests/s of GET `path` with `clients` keep-alive connections."""
    done = [0] * clients
    failures = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(index):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while time.perf_counter() < stop:
            # like the ingestion load: 5 page views per visitor
            url = path.replace("{n}", f"{index}-{n // 5}").replace("{i}", f"{n}")
            conn.request("GET", url, headers={"User-Agent": "Mozilla/5.0 bench"})
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                done[index] += 1
            else:
                failures[index] += 1
            n += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - start), sum(failures), sum(done)


def probe_delays(port, db, stop, delays, failures):
    """While the load runs: POST one email click for a fresh probe lead, then
    poll the database until the lead's score is no longer 0."""
    conn = psycopg2.connect(dbname=db)
    conn.autocommit = True
    cur = conn.cursor()
    web = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    for i in range(PROBES):
        if stop.is_set():
            break
        email = f"probe{i}@probe.example.com"
        body = json.dumps(
            {"events": [{"id": f"probe-{i}", "type": "email_click", "email": email}]}
        )
        start = time.perf_counter()
        web.request("POST", "/prm/api/v1/events", body=body, headers=headers)
        response = web.getresponse()
        response.read()
        if response.status != 200:
            failures.append(response.status)
            continue
        while time.perf_counter() - start < 120:
            cur.execute(
                "SELECT prm_score FROM crm_lead WHERE email_normalized = %s", (email,)
            )
            if (cur.fetchone() or [0])[0]:
                delays.append(time.perf_counter() - start)
                break
            time.sleep(0.02)
        time.sleep(0.5)
    web.close()
    conn.close()


SETUP_SCRIPT = (
    r"""
import sys
import odoo
from odoo import api, SUPERUSER_ID
from odoo.tools import config
config.parse_config(sys.argv[1:])
registry = odoo.modules.registry.Registry(config["db_name"])
with registry.cursor() as cr:
    env = api.Environment(cr, SUPERUSER_ID, {"tracking_disable": True})
    env["crm.lead"].create([
        {"name": f"probe {i}", "email_from": f"probe{i}@probe.example.com"}
        for i in range(%d)
    ])
print("SETUP OK")
"""
    % PROBES
)


def run(ctx):
    tool = dev_tool()
    cfg = ctx["env"]
    db = "prm_bench_ingest"
    fresh_db(cfg, db, "prm_funnel")  # with prm_tracking and prm_scoring
    install_bench_ruleset(db)
    install_site(db)
    if "SETUP OK" not in odoo_script(cfg, db, SETUP_SCRIPT).stdout:
        raise RuntimeError("creating the probe leads failed")
    events = make_events(PROSPECTS)
    bodies = bodies_per_client(events, CLIENTS, shared=SHARED_NEW)
    sent = len(events) + CLIENTS * SHARED_NEW
    port = tool.free_port()

    # 1. the API under load, with the cron worker applying the person queue
    server = start_odoo(tool, cfg, db, port, cron_workers=1)
    try:
        wait_up(port, server)
        hammer(port, "/web/health", 1.0, 4)  # warm both workers up
        errors, counts, delays, probe_failures = [], [], [], []
        stop = threading.Event()
        threads = [
            threading.Thread(target=post_all, args=(port, bodies[i], errors, counts))
            for i in range(CLIENTS)
        ]
        prober = threading.Thread(
            target=probe_delays, args=(port, db, stop, delays, probe_failures)
        )
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        prober.start()
        for thread in threads:
            thread.join()
        api_seconds = time.perf_counter() - start
        drain_seconds = wait_for_queue(db)
        stop.set()
        prober.join()
        replay_errors, replay_counts = [], []
        post_all(port, bodies[0][1:6], replay_errors, replay_counts)
    finally:
        stop_odoo(server)
    stored, distinct = map(
        int,
        psql(
            db,
            "SELECT count(*), count(DISTINCT external_id) FROM prm_event "
            "WHERE origin = 'api' AND external_id NOT LIKE 'probe-%'",
        ).split("|"),
    )
    emails = int(
        psql(
            db,
            "SELECT count(DISTINCT email_normalized) FROM crm_lead "
            "WHERE email_normalized LIKE '%@bench.example.com'",
        )
    )
    leads = int(
        psql(
            db,
            "SELECT count(*) FROM crm_lead "
            "WHERE email_normalized LIKE '%@bench.example.com'",
        )
    )
    on_leads = int(
        psql(
            db,
            "SELECT count(*) FROM prm_event WHERE lead_id IS NOT NULL "
            "AND is_bot IS NOT TRUE",
        )
    )
    metric = int(psql(db, "SELECT coalesce(sum(prm_event_count), 0) FROM crm_lead"))
    scored = int(psql(db, "SELECT count(*) FROM crm_lead WHERE prm_score > 0"))

    # 2. the pixel against /web/health, no cron worker (as before)
    server = start_odoo(tool, cfg, db, port, cron_workers=0)
    try:
        wait_up(port, server)
        hammer(port, "/web/health", 1.0, 4)
        warm_hits = hammer(port, f"/prm/p.gif?k={PUBLIC}&v=warm{{n}}", 1.0, 4)[2]
        health, pixel, health_fail, pixel_fail, pixel_ok = [], [], 0, 0, 0
        for _round in range(PIXEL_ROUNDS):
            rate, fail, _n = hammer(port, "/web/health", PIXEL_SECONDS, PIXEL_CLIENTS)
            health.append(rate)
            health_fail += fail
            rate, fail, answered = hammer(
                port,
                f"/prm/p.gif?k={PUBLIC}&v=px{{n}}&u=https://www.example.com/p{{i}}",
                PIXEL_SECONDS,
                PIXEL_CLIENTS,
            )
            pixel.append(rate)
            pixel_fail += fail
            pixel_ok += answered
    finally:
        stop_odoo(server)

    queued = int(psql(db, "SELECT count(*) FROM prm_pixel_hit"))
    flush = odoo_script(cfg, db, FLUSH_SCRIPT)
    flushed, flush_seconds = next(
        (int(line.split()[1]), float(line.split()[2]))
        for line in flush.stdout.splitlines() + ["FLUSH 0 nan"]
        if line.startswith("FLUSH")
    )
    pixel_events = int(
        psql(db, "SELECT count(*) FROM prm_event WHERE origin = 'pixel'")
    )
    waiting = int(psql(db, "SELECT count(*) FROM prm_pixel_hit"))

    rows_file = Path("/tmp") / "prm-bench-rows.json"
    rows_file.write_text(json.dumps(events))
    orm = odoo_script(
        cfg, db, ORM_SCRIPT, env=dict(os.environ, PRM_BENCH_ROWS=str(rows_file))
    )
    orm_seconds = (
        float(
            next(
                line.split()[1]
                for line in orm.stdout.splitlines()
                if line.startswith("ORM_SECONDS")
            )
        )
        if "ORM_SECONDS" in orm.stdout
        else float("nan")
    )
    rows_file.unlink()
    drop_db(cfg, db)
    if errors:
        print("ingestion errors:", errors[:3], flush=True)
    if "ORM_SECONDS" not in orm.stdout:
        print("ORM baseline failed:", orm.stderr[-2000:], flush=True)

    api_rate = sent / api_seconds
    orm_rate = len(events) / orm_seconds
    health_rate = sum(health) / len(health)
    pixel_rate = sum(pixel) / len(pixel)
    median_ratio = statistics.median(p / h for p, h in zip(pixel, health, strict=True))
    delays.sort()
    p50 = statistics.median(delays) if delays else float("nan")
    p95 = (
        delays[min(len(delays) - 1, int(len(delays) * 0.95))]
        if delays
        else float("nan")
    )
    rows = [
        (
            f"events through `POST /prm/api/v1/events` ({CLIENTS} clients, "
            f"batches of {BATCH}, {PROSPECTS:,} prospects shared by all clients)",
            f"{sent:,} in {api_seconds:.1f} s = **{api_rate:,.0f} events/s**",
            ">= 5,000 events/s",
        ),
        ("HTTP errors during ingestion", f"{len(errors)}", "0"),
        (
            "events stored / distinct ids stored / sent (lost, duplicated)",
            f"{stored:,} / {distinct:,} / {sent:,} "
            f"({sent - distinct:,} lost, {stored - distinct:,} duplicated)",
            "0 lost, 0 duplicated",
        ),
        (
            f"leads of new emails / distinct emails ({PROSPECTS:,} prospects + "
            f"{SHARED_NEW} identified by all {CLIENTS} clients at once)",
            f"{leads:,} / {emails:,}",
            f"{PROSPECTS + SHARED_NEW:,} / {PROSPECTS + SHARED_NEW:,}",
        ),
        (
            "events on leads (humans) / sum of leads' `prm_event_count`",
            f"{on_leads:,} / {metric:,}",
            "equal",
        ),
        ("leads with a score > 0", f"{scored:,}", ""),
        (
            f"delay POST -> score visible, {len(delays)} probes during the load",
            f"p50 **{p50:.2f} s**, p95 **{p95:.2f} s** "
            f"({len(probe_failures)} probe errors)",
            "seconds",
        ),
        (
            "person queue drained after the last POST",
            f"{drain_seconds:.1f} s",
            "",
        ),
        ("replay of 5 batches: accepted", f"{sum(replay_counts)}", "0"),
        (
            f"same {len(events):,} rows with ORM `create()` (batches of 1,000, "
            "one process)",
            f"{orm_seconds:.1f} s = {orm_rate:,.0f} events/s",
            "",
        ),
        (
            "**ratio API ingestion / ORM create()**",
            f"**{api_rate / orm_rate:.2f}x**",
            "",
        ),
        (
            f"`GET /web/health`, {PIXEL_CLIENTS} clients, mean of {PIXEL_ROUNDS} "
            f"rounds of {PIXEL_SECONDS:.0f} s",
            f"{health_rate:,.0f} req/s ({health_fail} failed)",
            "",
        ),
        (
            "`GET /prm/p.gif` (queues a hit each, 5 per visitor), same rounds "
            "interleaved",
            f"{pixel_rate:,.0f} req/s ({pixel_fail} failed)",
            "",
        ),
        (
            "**pixel / health**: ratio of the means; median of the per-round ratios",
            f"**{pixel_rate / health_rate:.0%}**; {median_ratio:.0%}",
            ">= 80%",
        ),
        (
            "pixel hits answered (warm-up and rounds) / queued / events after "
            "the flush job",
            f"{warm_hits + pixel_ok:,} / {queued:,} / {pixel_events:,} "
            f"({waiting} left in the queue)",
            "equal, 0 left",
        ),
        (
            "flush job (queued hits -> events, batches of 5,000, one process)",
            f"{flushed:,} in {flush_seconds:.1f} s = "
            f"**{flushed / flush_seconds:,.0f} hits/s**",
            "> pixel req/s",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return (
        "Odoo 18 with `--workers=2` (and one cron worker for the API part) on\n"
        "this machine (2 cores, shared with the load clients), PostgreSQL on the\n"
        "same machine; prm_tracking, prm_scoring and prm_funnel installed, a rule\n"
        "set active. One run of `./scripts/bench ingest`.\n\n"
        "| measure | value | target |\n|---|---|---|\n"
        f"{table}\n\n"
        f"Probe delays (s): {', '.join(f'{d:.2f}' for d in delays)}.\n"
        f"Rounds (req/s), health: {', '.join(f'{r:.0f}' for r in health)}; "
        f"pixel: {', '.join(f'{r:.0f}' for r in pixel)}.\n"
    )
