"""Tracking ingestion throughput (issue: prm_tracking performance).

1. 100,000 events through ``POST /prm/api/v1/events`` in batches of 1,000,
   two concurrent clients, against Odoo with 2 workers; metrics and identity
   stitching included (20,000 visitors, 5% of them identify as new people).
2. The same rows written with ORM ``create()`` in batches of 1,000, in the
   same run, on the same database: the ratio of the two.
3. ``GET /prm/p.gif`` against Odoo's own ``GET /web/health`` on the same
   server, interleaved rounds, 4 concurrent keep-alive clients; the pixel
   queues its hits, and the flush job that turns them into events is timed
   afterwards (every answered hit must be an event then).

Targets (reported, not asserted): >= 5,000 events/s; pixel >= 80% of health.
"""

import hashlib
import http.client
import json
import os
import random
import statistics
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from harness import dev_tool, drop_db, fresh_db, odoo_script, psql

TITLE = "Tracking ingestion (prm_tracking)"
EVENTS = int(os.environ.get("PRM_BENCH_EVENTS", "100000"))
BATCH = 1000
CLIENTS = 2
VISITORS = EVENTS // 5
PIXEL_ROUNDS = 8
PIXEL_SECONDS = 3.0
PIXEL_CLIENTS = 4
SECRET = "prm_sk_bench_" + "x" * 40
PUBLIC = "prm_pk_bench"

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
             "url": r["url"], "title": r["title"], "origin": "import",
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


def make_events(seed=42):
    """The benchmark's events: page views of 20k visitors, 5% identify."""
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    events = []
    pages = ["/", "/pricing", "/features", "/blog/a", "/blog/b", "/contact"]
    for i in range(EVENTS):
        visitor = i % VISITORS
        moment = now - timedelta(minutes=rnd.randint(1, 60 * 24 * 40))
        event = {
            "id": f"b{i}",
            "type": "page_view",
            "occurred_at": moment.isoformat() + "Z",
            "visitor": f"v{visitor}",
            "url": "https://www.example.com" + rnd.choice(pages),
            "title": "Example page",
            "utm": {"source": rnd.choice(["google", "newsletter", "linkedin"])},
        }
        if visitor % 20 == 0 and i // VISITORS == 1:
            event.update(
                type="identify",
                email=f"person{visitor}@bench.example.com",
                profile={"country": "BE", "company_size": "11-50"},
            )
        events.append(event)
    return events


def batches_per_client(events):
    """Each client gets the batches of its own visitors (no cross-client rows)."""
    per_client = [[] for _i in range(CLIENTS)]
    for event in events:
        per_client[int(event["visitor"][1:]) % CLIENTS].append(event)
    return [
        [json.dumps({"events": evs[i : i + BATCH]}) for i in range(0, len(evs), BATCH)]
        for evs in per_client
    ]


def post_all(port, bodies, errors, counts):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SECRET}"}
    for body in bodies:
        conn.request("POST", "/prm/api/v1/events", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            errors.append((response.status, data[:200]))
            continue
        counts.append(json.loads(data)["accepted"])
    conn.close()


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


def wait_up(port, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("Odoo exited early")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/web/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("Odoo did not start")


def run(ctx):
    tool = dev_tool()
    cfg = ctx["env"]
    db = "prm_bench_ingest"
    fresh_db(cfg, db, "prm_tracking")
    secret_hash = hashlib.sha256(SECRET.encode()).hexdigest()
    psql(
        db,
        "INSERT INTO prm_tracking_site (name, active, company_id, public_key, "
        "secret_key_hash, rate_limit, require_consent, rejected_count) VALUES "
        f"('bench', true, 1, '{PUBLIC}', '{secret_hash}', 0, false, 0)",
    )
    events = make_events()
    bodies = batches_per_client(events)
    port = tool.free_port()
    server = subprocess.Popen(
        tool.odoo_cmd(
            cfg,
            "-d",
            db,
            f"--db-filter=^{db}$",
            f"--http-port={port}",
            "--workers=2",
            "--max-cron-threads=0",
            "--limit-time-real=900",
            "--limit-time-cpu=900",
            "--log-level=warn",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(port, server)
        # warm both workers up (registry load) before timing
        hammer(port, "/web/health", 1.0, 4)
        warm_hits = hammer(port, f"/prm/p.gif?k={PUBLIC}&v=warm{{n}}", 1.0, 4)[2]
        errors, counts = [], []
        threads = [
            threading.Thread(target=post_all, args=(port, bodies[i], errors, counts))
            for i in range(CLIENTS)
        ]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        api_seconds = time.perf_counter() - start
        stored = int(psql(db, "SELECT count(*) FROM prm_event WHERE origin = 'api'"))
        leads = int(
            psql(
                db,
                "SELECT count(*) FROM crm_lead "
                "WHERE email_from LIKE '%@bench.example.com'",
            )
        )
        on_leads = int(
            psql(db, "SELECT count(*) FROM prm_event WHERE lead_id IS NOT NULL")
        )
        metric = int(psql(db, "SELECT coalesce(sum(prm_event_count), 0) FROM crm_lead"))
        replay_errors, replay_counts = [], []
        post_all(port, bodies[0][:5], replay_errors, replay_counts)

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
        server.terminate()
        server.wait(timeout=60)

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

    api_rate = EVENTS / api_seconds
    orm_rate = EVENTS / orm_seconds
    health_rate = sum(health) / len(health)
    pixel_rate = sum(pixel) / len(pixel)
    median_ratio = statistics.median(p / h for p, h in zip(pixel, health, strict=True))
    rows = [
        (
            f"events through `POST /prm/api/v1/events` ({CLIENTS} clients, "
            f"batches of {BATCH})",
            f"{EVENTS:,} in {api_seconds:.1f} s = **{api_rate:,.0f} events/s**",
            ">= 5,000 events/s",
        ),
        ("HTTP errors during ingestion", f"{len(errors)}", "0"),
        ("events stored / accepted", f"{stored:,} / {sum(counts):,}", f"{EVENTS:,}"),
        ("leads created by identify (stitching)", f"{leads:,}", f"{VISITORS // 20:,}"),
        (
            "events on leads after stitching / sum of leads' `prm_event_count`",
            f"{on_leads:,} / {metric:,}",
            "equal",
        ),
        ("replay of 5 batches: accepted", f"{sum(replay_counts)}", "0"),
        (
            f"same {EVENTS:,} rows with ORM `create()` (batches of 1,000, one process)",
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
        "Odoo 18 with `--workers=2` on this machine (2 cores, shared with the load\n"
        "clients), PostgreSQL on the same machine. One run of "
        "`./scripts/bench ingest`.\n\n"
        "| measure | value | target |\n|---|---|---|\n"
        f"{table}\n\n"
        f"Rounds (req/s), health: {', '.join(f'{r:.0f}' for r in health)}; "
        f"pixel: {', '.join(f'{r:.0f}' for r in pixel)}.\n"
    )
