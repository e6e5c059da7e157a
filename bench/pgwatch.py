"""What a benchmark's own PostgreSQL server did meanwhile: its log (lock waits,
slow statements, every statement) and samples of its sessions (replica lag,
transactions left open).

The log's lines start with ``%m [%p] %a`` (pgserver.Postgres): the time, the
process id and the application name.
"""

import re
import time
from collections import Counter

import psycopg2

STAMPED = re.compile(r"\n(?=\d{4}-\d\d-\d\d \d\d:)")
PID = re.compile(r"^\S+ \S+ \S+ \[(\d+)\]")


def _entries(log, since):
    """The log's entries after byte `since` (an entry spans the lines up to
    the next stamped line)."""
    with open(log, "rb") as handle:
        handle.seek(since)
        text = handle.read().decode(errors="replace")
    return STAMPED.split(text)


def _short(statement, size=60):
    """A statement's start, on one line (and without backquotes, for
    Markdown)."""
    return " ".join(statement.split())[:size].replace("`", "'")


def statements(log, since):
    """The statements logged after byte `since` (``log_statement``)."""
    return [
        entry
        for entry in _entries(log, since)
        if "statement:" in entry.split("\n", 1)[0]
    ]


def lock_waits(log, since):
    """The lock waits logged after byte `since` (``log_lock_waits``):
    [(seconds waited or None if the wait never ended in the log, the waiting
    statement's start)]."""
    entries = _entries(log, since)
    waits, open_waits = [], {}
    for n, entry in enumerate(entries):
        found = PID.match(entry)
        if not found:
            continue
        if "still waiting for" in entry:
            statement = next(
                (
                    other.split("STATEMENT:", 1)[1]
                    for other in entries[n + 1 : n + 6]
                    if "STATEMENT:" in other
                    and PID.match(other)
                    and PID.match(other)[1] == found[1]
                ),
                "",
            )
            open_waits[found[1]] = _short(statement)
        elif "acquired" in entry and found[1] in open_waits:
            after = re.search(r"after ([\d.]+) ms", entry)
            seconds = float(after[1]) / 1000 if after else None
            waits.append((seconds, open_waits.pop(found[1])))
    return waits + [(None, statement) for statement in open_waits.values()]


def waits_line(label, waits):
    """A report's sentence on one phase's lock waits."""
    if not waits:
        return f"{label}: none."
    ended = [seconds for seconds, _s in waits if seconds is not None]
    common = Counter(statement for _s, statement in waits).most_common(3)
    return (
        f"{label}: {len(waits)}, the longest "
        + (f"{max(ended):.1f} s" if ended else "never ended in the log")
        + "; waiting: "
        + "; ".join(f"{count} x `{statement}`" for statement, count in common)
        + "."
    )


SLOW = re.compile(r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*):(.*)", re.S)


def slow_statements(log, since):
    """The statements logged as slow after byte `since`
    (``log_min_duration_statement``): [(seconds, statement's start)], the
    slowest first."""
    found = []
    for entry in _entries(log, since):
        match = SLOW.search(entry)
        if match:
            found.append((float(match[1]) / 1000, _short(match[2])))
    return sorted(found, reverse=True)


def slow_line(label, slow):
    """A report's sentence on one phase's slow statements."""
    if not slow:
        return f"{label}: none."
    return (
        f"{label}: {len(slow)}, the slowest "
        + "; ".join(f"{seconds:.1f} s `{text}`" for seconds, text in slow[:3])
        + "."
    )


def lag_sampler(primary, stop, samples):
    """Sample the replica's replay lag (seconds, bytes) seen by the primary."""
    while not stop.is_set():
        row = primary.psql(
            "SELECT COALESCE(EXTRACT(EPOCH FROM replay_lag), 0)::numeric(10, 3), "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) "
            "FROM pg_stat_replication"
        )
        if row:
            seconds, lag_bytes = row.split("|")
            samples.append((float(seconds), int(float(lag_bytes))))
        time.sleep(0.5)


# the database's transactions open for over 2 s: process, its age, what it
# does now (its state, the wait or 'running', the statement's start) and
# whether another session waits for it
LONG_OPEN = """
SELECT a.pid, EXTRACT(EPOCH FROM now() - a.xact_start)::float, a.state,
       COALESCE(a.wait_event_type || ':' || a.wait_event, 'running'),
       left(regexp_replace(a.query, '\\s+', ' ', 'g'), 70),
       EXISTS (SELECT 1 FROM pg_stat_activity w
                WHERE a.pid = ANY(pg_blocking_pids(w.pid)))
  FROM pg_stat_activity a
 WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
   AND a.xact_start < now() - interval '2 seconds'
"""


def open_sampler(port, db, stop, samples, every=0.25):
    """Sample the transactions of `db` open for over 2 s, every `every`
    seconds: what a transaction that made others wait was doing."""
    conn = psycopg2.connect(host="127.0.0.1", port=port, dbname=db)
    conn.autocommit = True
    try:
        with conn.cursor() as cr:
            while not stop.is_set():
                cr.execute(LONG_OPEN)
                samples.extend(cr.fetchall())
                time.sleep(every)
    finally:
        conn.close()


def open_line(label, samples):
    """A report's sentence on one phase's long transactions: the longest,
    and what those that others waited for were doing, most often."""
    if not samples:
        return f"{label}: none."
    ages = {}
    for pid, age, *_rest in samples:
        ages[pid] = max(age, ages.get(pid, 0.0))
    blocking = [row for row in samples if row[5]]
    line = (
        f"{label}: {len(ages)} transactions, the longest open "
        f"{max(ages.values()):.1f} s"
    )
    if not blocking:
        return line + "; none made another session wait."
    doing = Counter(
        (state, wait, _short(query or "", 50))
        for _pid, _age, state, wait, query, _blocks in blocking
    ).most_common(3)
    return (
        line
        + f"; {len({row[0] for row in blocking})} made others wait, seen "
        + f"{len(blocking)} times (up to {max(row[1] for row in blocking):.1f} s "
        + "open), most often: "
        + "; ".join(
            f"{count} x {state}, {wait}, `{query}`"
            for (state, wait, query), count in doing
        )
        + "."
    )
