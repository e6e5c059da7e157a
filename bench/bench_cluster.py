"""Several Odoo nodes on one database, and a read replica, on loopback.

The script starts its own PostgreSQL primary (``initdb`` in a temporary
folder, a port of its own, Debian's PostgreSQL tools, run as the
``postgres`` system user) holding a copy of a PRM database (prm_tracking,
prm_scoring, prm_funnel; ``PRM_BENCH_CLUSTER_LEADS`` leads, default 20,000,
ten events each, a rule set, 4 teams, 20 salespeople and a manager), then:

1. **One node, then two.** Node A (Odoo, 2 HTTP workers and 1 cron worker)
   alone, then nodes A and B (the same, on another port), both on the primary;
   4 API clients (batches of 1,000; 2 clients per node in the second phase)
   send a year of events of ``PRM_BENCH_CLUSTER_PROSPECTS`` prospects (default
   3,000), each client first identifying the same 200 new addresses.
   Measured: events/s, HTTP errors, events stored once, one lead per new
   email, and from both nodes' logs that no PRM job (the person queue, the
   pixel flush, ...) ran on both nodes at once (Odoo's cron locking); the
   primary logs lock waits and statements over a second
   (``log_lock_waits``, ``log_min_duration_statement``), and a sampler notes
   what the transactions open for over 2 s do, reported per phase.
2. **A read replica.** ``pg_basebackup`` makes a streaming replica on the
   next port; both nodes restart with ``--db_replica_host`` and
   ``--db_replica_port``. A sales manager opens every PRM report (the pivot's
   ``read_group`` calls over JSON-RPC, as the web client sends them) on node
   A: first idle, then while 4 clients ingest events through node B. Both
   PostgreSQL servers log every statement meanwhile: the report queries must
   all be on the replica and none on the primary.

Run: ``./scripts/bench cluster`` (the sections land in docs/benchmarks.md).
"""

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

from bench_scale import _populate
from harness import dev_tool, drop_db, fresh_db
from load import (
    bodies_per_client,
    make_events,
    post_concurrently,
    start_odoo,
    stop_odoo,
    wait_for_queue,
    wait_up,
)
from pgserver import PG_BIN, Postgres, own_root
from pgwatch import (
    lag_sampler,
    lock_waits,
    open_line,
    open_sampler,
    slow_line,
    slow_statements,
    statements,
    waits_line,
)

TITLE = "Several Odoo nodes and a read replica"
LEADS = int(os.environ.get("PRM_BENCH_CLUSTER_LEADS", "20000"))
PROSPECTS = int(os.environ.get("PRM_BENCH_CLUSTER_PROSPECTS", "3000"))
CLIENTS = 4
SHARED_NEW = 200
DB = "prm_bench_cluster"
# the models of the PRM report menus, and the grouping and measures of the
# pivot each menu opens (None: a list); each is also opened as a list
REPORTS = {
    "prm.funnel.report": (["stage_id"], ["entered:sum", "advance_rate:avg"]),
    "prm.value.report": (["source_id"], ["leads:sum", "value_added:sum"]),
    "prm.source.report": (["source_id"], ["leads:sum", "won_rate:avg"]),
    "prm.velocity.report": (["month:month", "team_id"], ["velocity:sum"]),
    "prm.qualification.report": (["to_state"], ["decisions:sum"]),
    "prm.engagement.report": (["date:month", "event_type_id"], ["events:sum"]),
    "prm.event": None,
    "prm.stage.history": None,
    "prm.stage.win.rate": None,
    "prm.qualification.entry": None,
    "prm.score.entry": None,
}
NODE_A = "prm-bench-node-a"  # node A's PostgreSQL application name
JOB_LINE = re.compile(
    r"^(\S+ \S+) (\d+) (?:INFO|ERROR) \S+ odoo\.addons\.base\.models\.ir_cron: "
    r"Job (['\"])(.+?)\3 \((\d+)\) (starting|done in|server action #\d+ failed)"
)


def _copy_db(primary):
    """The benchmark database, from the machine's PostgreSQL to `primary`."""
    primary.psql(f"CREATE DATABASE {DB}")
    dump = subprocess.Popen(["pg_dump", "-d", DB], stdout=subprocess.PIPE)
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
         "-p", str(primary.port), "-d", DB],
        stdin=dump.stdout, stdout=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    dump.stdout.close()
    if dump.wait():
        raise RuntimeError("pg_dump failed")


def _load(ports, tag):
    """4 clients spread over the nodes on `ports`, each first identifying
    the same new addresses; (events/s, errors, sent events, seconds)."""
    events = make_events(PROSPECTS, seed=len(tag) + 7, tag=tag)
    bodies = bodies_per_client(events, CLIENTS, shared=SHARED_NEW, tag=tag)
    seconds, errors, _counts = post_concurrently(ports, bodies)
    sent = len(events) + CLIENTS * SHARED_NEW
    return sent / seconds, errors, sent, seconds


def _checks(primary, tag):
    """(stored, distinct ids, leads of the tag's emails, distinct emails):
    to compare with the events sent and the PROSPECTS + SHARED_NEW emails."""
    stored, distinct = map(
        int,
        primary.psql(
            "SELECT count(*), count(DISTINCT external_id) FROM prm_event "
            f"WHERE external_id LIKE '{tag}%'",
            DB,
        ).split("|"),
    )
    leads, emails = map(
        int,
        primary.psql(
            "SELECT count(*), count(DISTINCT email_normalized) FROM crm_lead "
            f"WHERE email_normalized LIKE '{tag}%'",
            DB,
        ).split("|"),
    )
    return stored, distinct, leads, emails


def _job_runs(logs):
    """[(job, node, start, end)] of the scheduled jobs in the nodes' logs; a
    run that failed ends at its error, one never ended (its node stopped)
    lasts until the end of its log."""
    runs = []
    for node, path in logs.items():
        open_runs, moment = {}, None
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            match = JOB_LINE.match(line)
            if not match:
                continue
            moment = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f")
            key = (match[2], match[5])  # process, job id
            if match[6] == "starting":
                open_runs[key] = (match[4], moment)
            elif key in open_runs:
                job, start = open_runs.pop(key)
                runs.append((job, node, start, moment))
        runs += [(job, node, start, moment) for job, start in open_runs.values()]
    return runs


def _overlaps(runs):
    """Runs of one job that overlap a run of the same job on another node."""
    found = 0
    for i, (job, node, start, end) in enumerate(runs):
        for job2, node2, start2, end2 in runs[i + 1 :]:
            if job == job2 and node != node2 and start < end2 and start2 < end:
                found += 1
    return found


class Client:
    """A signed-in web client (JSON-RPC, as the browser calls Odoo)."""

    def __init__(self, port, login, password):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookie = ""
        self.call("/web/session/authenticate", db=DB, login=login, password=password)

    def call(self, path, **params):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": params})
        headers = {"Content-Type": "application/json"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        self.conn.request("POST", path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = json.loads(response.read())
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";")[0]
        if "error" in data:
            raise RuntimeError(data["error"]["data"]["message"])
        return data["result"]

    def open(self, model, pivot):
        """The calls of the report's pivot (the total, by its first row
        grouping, by all of them), and of its list (80 rows and the count)."""
        context = {"lang": "en_US"}
        if pivot:
            groupby, measures = pivot
            for groups in ([], groupby[:1], groupby):
                self.call(
                    f"/web/dataset/call_kw/{model}/read_group",
                    model=model,
                    method="read_group",
                    args=[[], measures, groups],
                    kwargs={"lazy": False, "context": context},
                )
        self.call(
            f"/web/dataset/call_kw/{model}/web_search_read",
            model=model,
            method="web_search_read",
            args=[[], {"display_name": {}}],
            kwargs={"limit": 80, "count_limit": 10001, "context": context},
        )


def _reports(port, rounds=5):
    """{model: [seconds]} of each report's pivot, `rounds` times."""
    client = Client(port, "scale.manager", "scale.manager")
    timings = {model: [] for model in REPORTS}
    for _round in range(rounds):
        for model, pivot in REPORTS.items():
            start = time.perf_counter()
            client.open(model, pivot)
            timings[model].append(time.perf_counter() - start)
    return timings


# a statement reading a PRM table or report (not merely a PRM column of an
# Odoo table, e.g. the signed-in user's partner)
PRM_TABLE = re.compile(r'(?:FROM|JOIN)\s+"?prm_|AS "prm_|prm_velocity_rows\(')


def _from_node_a(statements):
    """Node A's statements on a PRM table or report (in that phase node A
    has no cron worker and serves only the manager reading reports)."""
    return [s for s in statements if f"] {NODE_A} " in s and PRM_TABLE.search(s)]


def run(ctx):
    tool = dev_tool()
    cfg = ctx["env"]
    fresh_db(cfg, DB, "prm_funnel")
    _populate(cfg, DB, LEADS, LEADS * 10)
    root = own_root("prm-bench-pg-")
    primary = Postgres(root, "primary", tool.free_port())
    replica = Postgres(root, "replica", tool.free_port())
    logs = {"A": root / "node-a.log", "B": root / "node-b.log"}
    ports = {"A": tool.free_port(), "B": tool.free_port()}
    base = ["--db_host=127.0.0.1", f"--db_port={primary.port}", "--log-level=info"]
    servers = {}

    def start(nodes, extra=(), reports_node=False):
        for node in nodes:
            if node == "A":  # node A's connections carry a name of their own
                os.environ["ODOO_PGAPPNAME"] = NODE_A
            # with reports_node, node A only serves users (no cron worker):
            # every statement of its own is then a user's request
            cron = 0 if reports_node and node == "A" else 1
            servers[node] = start_odoo(
                tool, cfg, DB, ports[node], cron_workers=cron,
                extra=[*base, *extra], logfile=str(logs[node]),
            )  # fmt: skip
            os.environ.pop("ODOO_PGAPPNAME", None)
        for node in nodes:
            wait_up(ports[node], servers[node])

    def stop():
        for node in list(servers):
            stop_odoo(servers.pop(node))

    try:
        # lock waits over deadlock_timeout (1 s) and statements over 1 s are
        # logged (the waiting statement with its wait): what stalled the
        # requests, if anything did
        primary.init({"log_lock_waits": "on", "log_min_duration_statement": "1000"})
        primary.start()
        _copy_db(primary)
        drop_db(cfg, DB)  # the copy on the machine's own server
        phases, watch = {}, {}
        # 1. one node, then two
        for label, nodes in (("1 node", ["A"]), ("2 nodes", ["A", "B"])):
            mark = primary.log.stat().st_size
            start(nodes)
            tag = "one-" if len(nodes) == 1 else "two-"
            # what the transactions left open for seconds were doing
            opened, watching = [], threading.Event()
            sampler = threading.Thread(
                target=open_sampler, args=(primary.port, DB, watching, opened)
            )
            sampler.start()
            try:
                rate, errors, sent, seconds = _load([ports[n] for n in nodes], tag)
            finally:
                watching.set()
                sampler.join()
            drained = wait_for_queue(
                DB, timeout=900, run_sql=lambda db, sql: primary.psql(sql, db)
            )
            stop()
            watch[label] = (
                lock_waits(primary.log, mark),
                slow_statements(primary.log, mark),
                opened,
            )
            phases[label] = (
                rate,
                errors,
                sent,
                seconds,
                drained,
                _checks(primary, tag),
            )
        runs = _job_runs(logs)
        # 2. the replica
        replica.replica_of(primary)
        replica.start("-c log_statement=all")
        primary.psql("ALTER SYSTEM SET log_statement = 'all'")
        primary.psql("SELECT pg_reload_conf()")
        replica_args = [
            "--db_replica_host=127.0.0.1",
            f"--db_replica_port={replica.port}",
        ]
        start(["A", "B"], replica_args, reports_node=True)
        marks = (primary.log.stat().st_size, replica.log.stat().st_size)
        idle = _reports(ports["A"])
        busy, load, lags, sampling = {}, {}, [], threading.Event()

        def ingest():
            load["result"] = _load([ports["B"]], "rep-")

        loader = threading.Thread(target=ingest)
        sampler = threading.Thread(target=lag_sampler, args=(primary, sampling, lags))
        loader.start()
        sampler.start()
        time.sleep(1.0)
        busy = _reports(ports["A"], rounds=3)
        overlapped = loader.is_alive()  # the ingestion outlasted the reports
        loader.join()
        sampling.set()
        sampler.join()
        stop()
        on_primary = statements(primary.log, marks[0])
        on_replica = statements(replica.log, marks[1])
        proof = (
            len(_from_node_a(on_primary)),
            len(on_primary),
            len(_from_node_a(on_replica)),
            len(on_replica),
            # what node A still sent to the primary, if anything
            sorted({
                " ".join(s.split("statement:", 1)[1].split())[:160]
                for s in _from_node_a(on_primary)
            }),
        )  # fmt: skip
    finally:
        stop()
        replica.stop()
        primary.stop()
        if not os.environ.get("PRM_BENCH_KEEP"):
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(Path(cfg["data_dir"]) / "filestore" / DB, ignore_errors=True)
    return _report(phases, watch, runs, idle, busy, load.get("result"),
                   overlapped, proof, lags)  # fmt: skip


def _report(phases, watch, runs, idle, busy, load, overlapped, proof, lags):
    expected_leads = PROSPECTS + SHARED_NEW
    lines = [
        f"PostgreSQL {PG_BIN.parent.name} primary and replica of the benchmark's "
        "own on loopback; each Odoo node `--workers=2 --max-cron-threads=1`; "
        f"{LEADS:,} leads and {LEADS * 10:,} events in the database beforehand; "
        "all on this 2-core machine with the load clients. One run of "
        "`./scripts/bench cluster`.",
        "",
        f"4 clients send the events of {PROSPECTS:,} prospects, each client first "
        f"identifying the same {SHARED_NEW} new addresses ({expected_leads:,} new "
        "emails in all):",
        "",
        "| nodes | events/s | HTTP errors | events stored / distinct / sent | "
        "leads of the new emails / new emails | queue drained after |",
        "|---|---|---|---|---|---|",
    ]
    for label, (rate, errors, sent, _s, drained, checks) in phases.items():
        stored, distinct, leads, emails = checks
        lines.append(
            f"| {label} | **{rate:,.0f}** | {len(errors)} | "
            f"{stored:,} / {distinct:,} / {sent:,} | {leads:,} / {emails:,} "
            f"(expected {expected_leads:,}) | {drained:.1f} s |"
        )
    lines += [
        "",
        "Lock waits over 1 s on the primary (`log_lock_waits`), with the waiting "
        "statement's start: "
        + " ".join(waits_line(label, found[0]) for label, found in watch.items()),
        "",
        "Statements over 1 s on the primary (`log_min_duration_statement`), lock "
        "waits included: "
        + " ".join(slow_line(label, found[1]) for label, found in watch.items()),
        "",
        "Transactions open over 2 s while the clients sent (`pg_stat_activity` "
        "every 0.25 s; state, wait and statement of those another session "
        "waited for): "
        + " ".join(open_line(label, found[2]) for label, found in watch.items()),
    ]
    per_node = {node: sum(1 for r in runs if r[1] == node) for node in ("A", "B")}
    jobs = sorted(
        {r[0] for r in runs if r[1] == "B"} & {r[0] for r in runs if r[1] == "A"}
    )
    overlaps = _overlaps(runs)
    verdict = (
        f"**{overlaps}**"
        if per_node["A"] and per_node["B"]
        else "not proven (a node ran no job)"
    )
    lines += [
        "",
        f"Scheduled job runs in the nodes' logs: node A {per_node['A']}, node B "
        f"{per_node['B']}; jobs that ran on both nodes: {', '.join(jobs) or 'none'}. "
        f"Runs of one job overlapping on the two nodes: {verdict}.",
        "",
        "Both nodes restarted with `db_replica_host`/`db_replica_port`, node A "
        "without a cron worker. Every PRM report opened through node A "
        "as the sales manager (the pivot's `read_group` calls "
        "and the list's `web_search_read` over JSON-RPC, as the web client sends "
        "them; median seconds per report):",
        "",
        "| report | idle | while 4 clients ingest on node B |",
        "|---|---|---|",
    ]
    for model in REPORTS:
        lines.append(
            f"| {model} | {statistics.median(idle[model]):.3f} | "
            f"{statistics.median(busy[model]):.3f} |"
        )
    if load:
        lines += [
            "",
            f"Ingestion meanwhile: {load[0]:,.0f} events/s, {len(load[1])} HTTP "
            "errors; it was still running when the last report returned: "
            f"{'yes' if overlapped else 'no'}.",
        ]
    lines += [
        "",
        "Statements logged meanwhile (`log_statement = all` on both servers; node "
        f"A's connections named `{NODE_A}`): on the primary {proof[1]:,}, "
        f"**{proof[0]}** of them from node A on a PRM table or report; on the "
        f"replica {proof[3]:,}, **{proof[2]}** from node A on a PRM table or "
        "report. Replica lag "
        f"while ingesting, sampled every 0.5 s on the primary: at most "
        f"{max(s for s, _b in lags) if lags else float('nan'):.2f} s and "
        f"{max(b for _s, b in lags) if lags else 0:,} bytes of WAL "
        f"({len(lags)} samples).",
        "",
        *[f"- node A on the primary: `{text}`" for text in proof[4]],
        "",
    ]
    return "\n".join(lines)
