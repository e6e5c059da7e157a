"""HTTP load helpers shared by the benchmarks that drive a running Odoo
(tracking site, a year of prospects' events, Odoo servers, posting clients)."""

import hashlib
import http.client
import json
import os
import random
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone

from harness import psql

SECRET = "prm_sk_bench_" + "x" * 40
PUBLIC = "prm_pk_bench"
BATCH = 1000


def install_site(db):
    """The benchmarks' tracking site (no rate limits), its secret key SECRET;
    only PRM's scheduled jobs stay active (others, e.g. lead enrichment, call
    the internet)."""
    secret_hash = hashlib.sha256(SECRET.encode()).hexdigest()
    psql(
        db,
        "INSERT INTO prm_tracking_site (name, active, company_id, public_key, "
        "secret_key_hash, rate_limit, public_rate_limit, visitor_rate_limit, "
        "ip_rate_limit, require_consent, rejected_count, pixel_dropped_count, "
        "identity_verification) VALUES "
        f"('bench', true, 1, '{PUBLIC}', '{secret_hash}', 0, 0, 0, 0, false, 0, "
        "0, 'signature');"
        "UPDATE ir_cron SET active = false WHERE cron_name NOT LIKE 'PRM:%'",
    )


def make_events(prospects, seed=42, tag="", domain="bench.example.com"):
    """A year of `prospects` prospects: each registers once (from its browser)
    and then visits pages, opens and clicks emails and downloads; shuffled.
    `tag` prefixes ids and visitors, so runs with different tags never share
    an event or a person."""
    rnd = random.Random(seed)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    pages = ["/", "/pricing", "/features", "/blog/a", "/blog/b", "/contact"]
    events = []
    for person in range(prospects):
        email = f"{tag}person{person}@{domain}"
        visitor = f"{tag}v{person}"
        start = now - timedelta(minutes=rnd.randint(60 * 24 * 2, 60 * 24 * 365))
        events.append(
            {
                "id": f"{tag}r{person}",
                "type": "registration",
                "occurred_at": start.isoformat() + "Z",
                "visitor": visitor,
                "email": email,
                "profile": {"country": rnd.choice(["BE", "FR", "ES", "IT"])},
                "utm": {"source": rnd.choice(["google", "newsletter", "linkedin"])},
            }
        )
        for n in range(rnd.randint(4, 28)):
            moment = start + (now - start) * rnd.random()
            kind = rnd.choices(
                ["page_view", "email_open", "email_click", "download"],
                [70, 18, 8, 4],
            )[0]
            event = {
                "id": f"{tag}e{person}-{n}",
                "type": kind,
                "occurred_at": moment.isoformat() + "Z",
            }
            if kind in ("page_view", "download"):
                event.update(
                    visitor=visitor,
                    url="https://www.example.com" + rnd.choice(pages),
                )
            else:
                event["email"] = email
            events.append(event)
    rnd.shuffle(events)
    return events


def bodies_per_client(events, clients, shared=0, tag=""):
    """JSON bodies of BATCH events, dealt round-robin to `clients` clients (a
    person's events land in every client's batches). With `shared`, each
    client first sends a batch identifying the same `shared` new addresses
    (from its own browsers)."""
    batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
    per_client = []
    for client in range(clients):
        first = [
            {
                "id": f"{tag}shared-{client}-{i}",
                "type": "identify",
                "visitor": f"{tag}s{client}-{i}",
                "email": f"{tag}shared{i}@bench.example.com",
            }
            for i in range(shared)
        ]
        per_client.append(([first] if shared else []) + batches[client::clients])
    return [[json.dumps({"events": batch}) for batch in own] for own in per_client]


def post_all(port, bodies, errors, counts):
    """POST each body to the events API; HTTP errors and accepted counts are
    appended to `errors` and `counts`."""
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


def post_concurrently(ports, bodies):
    """Each client's `bodies` POSTed from a thread of its own, client i to
    ``ports[i % len(ports)]``; (seconds, HTTP errors, accepted counts)."""
    errors, counts = [], []
    threads = [
        threading.Thread(
            target=post_all, args=(ports[i % len(ports)], own, errors, counts)
        )
        for i, own in enumerate(bodies)
    ]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, errors, counts


def wait_up(port, proc, timeout=120):
    """Wait until the Odoo server `proc` answers /web/health on `port`."""
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


def start_odoo(tool, cfg, db, port, cron_workers, workers=2, extra=(), logfile=None):
    """An Odoo server on `db` (multi-process, `workers` HTTP workers)."""
    logfile = logfile or os.environ.get("PRM_BENCH_ODOO_LOG")
    return subprocess.Popen(
        tool.odoo_cmd(
            cfg,
            "-d",
            db,
            f"--db-filter=^{db}$",
            f"--http-port={port}",
            f"--workers={workers}",
            f"--max-cron-threads={cron_workers}",
            "--limit-time-real=900",
            "--limit-time-cpu=900",
            *extra,
            # a log file keeps the server's log (info level)
            f"--logfile={logfile}" if logfile else "--log-level=warn",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_odoo(server):
    """Stop the server (gracefully, then for good after a minute: a cron
    worker finishes its job batch first)."""
    server.terminate()
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=60)


def wait_for_queue(db, timeout=600, run_sql=psql):
    """Seconds until the person queue is empty (the job has applied all);
    `run_sql(db, sql)` reaches the server (the machine's own by default)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if int(run_sql(db, "SELECT count(*) FROM prm_person_queue")) == 0:
            return time.perf_counter() - start
        time.sleep(0.2)
    return float("nan")
