"""Take the README screenshots of a PRM demo database in headless Chromium.

Starts its own Odoo on a free port on the given database, logs in as admin
over JSON-RPC, drives a headless Chromium over the Chrome DevTools Protocol and
writes PNGs to the output folder: a lead's Score and Engagement tabs, the CRM
pipeline, a funnel analysis and its what-if, a source quality analysis, the
conversion model card, a tracking site, the Engagement report, and page 1 of
the funnel and source quality PDF reports.  Odoo and Chromium are stopped
whatever happens; the errors seen (error dialogs, ERROR lines of Odoo's log)
are printed at the end and make the exit status 1.

Run it with the project's virtualenv Python (it needs requests and
websocket-client, both Odoo dependencies), on a database with demo data::

    <venv>/bin/python scripts/screenshots.py [--db prm_demo] [--out docs/screenshots]

The database's views must match the code: run ``./scripts/setup`` first, or
add ``--update`` to update the prm_* addons in the database before the shots
(best on a copy: ``createdb -T prm_demo prm_shots`` then ``--db prm_shots``).

The virtualenv, Odoo source and data folder are those recorded by
``./scripts/setup`` (``scripts/prm_dev.py env``); ``--python``, ``--odoo-src``
and ``--data-dir`` override them.  Needs ``chromium`` (or ``google-chrome``,
or ``--chromium``) and ``pdftoppm`` (poppler-utils).  The analyses it opens
are transient records; logging in as admin updates ``web.base.url`` to the
port used, as any admin login does.
"""

import argparse
import base64
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import websocket

REPO = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1400, 900
MAX_HEIGHT = 6000  # full-page shots stop there
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ ")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# "login", "error" or "ready" once the page shows `selector` and is idle
STATE_JS = """(() => {
  const q = (s) => document.querySelector(s);
  if (document.readyState !== 'complete') return '';
  if (q('.oe_login_form')) return 'login';
  if (q('.o_error_dialog')) return 'error';
  if (!q(%s)) return '';
  if (q('.o_loading_indicator, .o_blockUI')) return '';
  return 'ready';
})()"""
# what the user would read as a problem: error dialogs and danger notifications
PROBLEMS_JS = """(() => [
  ...document.querySelectorAll('.o_error_dialog, .o_notification.border-danger')
].map((el) => el.innerText.trim().slice(0, 600)))()"""
# notebook pages by their name in the view, whatever the user's language
CLICK_TAB_JS = """(() => {
  const link = document.querySelector('.o_notebook .nav-link[name=' + %s + ']');
  if (!link) return false;
  link.click();
  return true;
})()"""
ACTIVE_TAB_JS = """(() => {
  const link = document.querySelector('.o_notebook .nav-link.active');
  return link ? link.getAttribute('name') : '';
})()"""
CLICK_JS = """(() => {
  const el = document.querySelector(%s);
  if (!el) return false;
  el.click();
  return true;
})()"""
# the bottom (in page pixels) of the lowest element matching a selector whose
# text holds a given string
BOTTOM_JS = """(() => Math.max(0, ...[...document.querySelectorAll(%s)]
  .filter((el) => el.innerText.toLowerCase().includes(%s.toLowerCase()))
  .map((el) => Math.ceil(el.getBoundingClientRect().bottom))))()"""
# how much taller the window must be for the main scrolling area (or the
# dialog) to show all of its content
OVERFLOW_JS = """(() => {
  let extra = document.documentElement.scrollHeight - window.innerHeight;
  for (const el of document.querySelectorAll('.o_content, .modal')) {
    extra = Math.max(extra, el.scrollHeight - el.clientHeight);
  }
  return Math.max(0, extra);
})()"""


class ShotError(Exception):
    """Something the run could not do; its text says what."""


def say(msg):
    print(msg, flush=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path, lines=30):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def log_errors(path, keep=12):
    """The ERROR and CRITICAL entries of an Odoo log, each with the end of its
    traceback."""
    entries = []
    for line in Path(path).read_text(errors="replace").splitlines():
        if LOG_LINE.match(line):
            entries.append([line])
        elif entries:
            entries[-1].append(line)
    return [
        "\n".join(entry[:1] + entry[1:][-keep:])
        for entry in entries
        if re.search(r" (ERROR|CRITICAL) ", entry[0])
    ]


def wait_until(check, timeout, what, interval=0.25):
    """Call check() until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise ShotError(f"Timed out after {timeout:.0f} s waiting for {what}")


def stop(proc, name):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        say(f"{name} did not stop: killing it")
        proc.kill()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------
# environment and Odoo
# --------------------------------------------------------------------------


def recorded_env():
    """The environment recorded by ``prm_dev.py setup`` ({} if none)."""
    try:
        done = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "prm_dev.py"), "env"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return json.loads(done.stdout) if done.returncode == 0 else {}
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}


def odoo_command(args):
    env = {} if (args.python and args.odoo_src) else recorded_env()
    python = args.python or env.get("python") or sys.executable
    if args.odoo_src:
        src = Path(args.odoo_src).resolve()
        addons = ",".join(map(str, (src / "addons", src / "odoo" / "addons", REPO)))
    elif env.get("addons_path"):
        addons = env["addons_path"]
    else:
        raise ShotError(
            "No recorded environment: run ./scripts/setup, or give --odoo-src "
            "(and --python)."
        )
    cmd = [python, "-m", "odoo", f"--addons-path={addons}"]
    data_dir = args.data_dir or env.get("data_dir")
    if data_dir:
        cmd.append(f"--data-dir={data_dir}")
    return cmd + [
        "-d",
        args.db,
        f"--db-filter=^{re.escape(args.db)}$",
        "--max-cron-threads=0",
        "--log-level=warn",
    ]


def update_addons(args, cmd, tmp):
    """Update the project's addons in the database (views, data), so that
    it shows the code as it is now."""
    names = sorted(p.parent.name for p in REPO.glob("prm_*/__manifest__.py"))
    log = tmp / "odoo-update.log"
    say(f"Updating {', '.join(names)} in {args.db}")
    with open(log, "wb") as out:
        done = subprocess.run(
            cmd + ["-u", ",".join(names), "--stop-after-init", "--no-http"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    if done.returncode or log_errors(log):
        raise ShotError(f"The update failed:\n{tail(log)}")


def start_odoo(args, tmp):
    cmd = odoo_command(args)
    if args.update:
        update_addons(args, cmd, tmp)
    port = args.port or free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp / "odoo.log"
    say(f"Starting Odoo on {base} (database {args.db})")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd
            + [
                f"--http-port={port}",
                "--http-interface=127.0.0.1",
                "--workers=0",
            ],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def answers():
        if proc.poll() is not None:
            raise ShotError(f"Odoo stopped (exit {proc.returncode}):\n{tail(log)}")
        try:
            return requests.get(f"{base}/web/login", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(answers, args.timeout * 5, "Odoo to answer /web/login", 1)
    except ShotError:
        stop(proc, "Odoo")
        raise
    return proc, base, log


class Rpc:
    """JSON-RPC to Odoo with one session."""

    def __init__(self, base):
        self.base = base
        self.http = requests.Session()
        self.count = 0

    def post(self, path, params):
        self.count += 1
        response = self.http.post(
            self.base + path,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "id": self.count,
                "params": params,
            },
            timeout=600,
        )
        response.raise_for_status()
        body = response.json()
        if body.get("error"):
            error = body["error"]
            data = error.get("data") or {}
            raise ShotError(f"{path}: {data.get('message') or error.get('message')}")
        return body["result"]

    def login(self, db, login, password):
        result = self.post(
            "/web/session/authenticate",
            {"db": db, "login": login, "password": password},
        )
        if not result or not result.get("uid"):
            raise ShotError(f"Cannot log in as {login} on {db}")
        return self.http.cookies["session_id"]

    def call(self, model, method, *args, **kwargs):
        return self.post(
            "/web/dataset/call_kw",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def first(self, model, domain, fields, order=None):
        rows = self.call(
            model, "search_read", domain, fields=fields, order=order, limit=1
        )
        if not rows:
            raise ShotError(f"No {model} record matches {domain}")
        return rows[0]

    def download(self, path, dest):
        response = self.http.get(self.base + path, timeout=600)
        response.raise_for_status()
        kind = response.headers.get("Content-Type", "")
        if not kind.startswith("application/pdf"):
            raise ShotError(f"{path} answered {kind}, not a PDF")
        dest.write_bytes(response.content)


# --------------------------------------------------------------------------
# Chromium over the DevTools protocol
# --------------------------------------------------------------------------


def find_browser(option):
    if option:
        return option
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise ShotError("Chromium not found: install it or give --chromium")


def start_browser(path, tmp):
    port = free_port()
    cmd = [
        path,
        "--headless=new",
        f"--remote-debugging-port={port}",
        f"--user-data-dir={tmp / 'profile'}",
        f"--window-size={WIDTH},{HEIGHT}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-gpu",
        "--disable-extensions",
        "--hide-scrollbars",
        "--mute-audio",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--no-sandbox")  # Chromium refuses to run as root otherwise
    log = open(tmp / "chromium.log", "wb")  # closed by main()
    proc = subprocess.Popen(cmd + ["about:blank"], stdout=log, stderr=subprocess.STDOUT)
    proc.log = log

    def page_url():
        if proc.poll() is not None:
            raise ShotError(f"Chromium stopped:\n{tail(tmp / 'chromium.log')}")
        try:
            targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=5)
        except requests.RequestException:
            return None
        pages = [t for t in targets.json() if t.get("type") == "page"]
        return pages[0]["webSocketDebuggerUrl"] if pages else None

    try:
        return proc, wait_until(page_url, 60, "Chromium's DevTools endpoint")
    except ShotError:
        stop(proc, "Chromium")
        raise


class Browser:
    """One Chromium tab, driven over the Chrome DevTools Protocol."""

    def __init__(self, ws_url, base, timeout):
        self.ws = websocket.create_connection(ws_url, timeout=300, suppress_origin=True)
        self.base = base
        self.timeout = timeout
        self.count = 0

    def close(self):
        self.ws.close()

    def send(self, method, **params):
        self.count += 1
        self.ws.send(json.dumps({"id": self.count, "method": method, "params": params}))
        while True:  # skip the events, if any
            message = json.loads(self.ws.recv())
            if message.get("id") == self.count:
                break
        if "error" in message:
            raise ShotError(f"{method}: {message['error'].get('message')}")
        return message.get("result", {})

    def js(self, expression):
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise ShotError(f"JavaScript error: {details.get('text')}")
        return result["result"].get("value")

    def resize(self, height):
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def set_session(self, session_id):
        self.resize(HEIGHT)
        self.send(
            "Network.setCookie",
            name="session_id",
            value=session_id,
            url=self.base,
            httpOnly=True,
        )

    def wait_for(self, selector):
        """Wait until the page shows selector and nothing is loading."""
        state = wait_until(
            lambda: self.js(STATE_JS % json.dumps(selector)),
            self.timeout,
            f"{selector} on {self.js('location.href')}",
        )
        if state == "login":
            raise ShotError("The login page showed up: the session was refused")

    def open(self, path, selector):
        self.send("Page.navigate", url=self.base + path)
        self.wait_for(selector)

    def click(self, selector, then):
        if not self.js(CLICK_JS % json.dumps(selector)):
            raise ShotError(f"Nothing to click: {selector}")
        self.wait_for(then)

    def click_tab(self, page):
        """Open the notebook page named ``page`` in the form view."""
        if not self.js(CLICK_TAB_JS % json.dumps(page)):
            raise ShotError(f"No notebook page {page!r}")
        wait_until(lambda: self.js(ACTIVE_TAB_JS) == page, 10, f"page {page}")

    def problems(self):
        return self.js(PROBLEMS_JS) or []

    def shoot(self, dest, settle, full_page=False, down_to=None):
        """Screenshot to dest; full_page grows the window to fit the content,
        down_to=(selector, text) then cuts it below the element that matches."""
        time.sleep(settle)
        height = HEIGHT
        while full_page and height < MAX_HEIGHT:
            extra = self.js(OVERFLOW_JS)
            if extra <= 0:
                break
            height = min(MAX_HEIGHT, height + extra)
            self.resize(height)
            time.sleep(0.5)
        params = {"format": "png"}
        bottom = down_to and self.js(BOTTOM_JS % tuple(map(json.dumps, down_to)))
        if bottom:
            bottom = min(height, bottom + 8)
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": WIDTH,
                "height": bottom,
                "scale": 1,
            }
        shot = self.send("Page.captureScreenshot", **params)
        dest.write_bytes(base64.b64decode(shot["data"]))
        if height != HEIGHT:
            self.resize(HEIGHT)


# --------------------------------------------------------------------------
# the screenshots
# --------------------------------------------------------------------------


def record_url(action, record_id):
    return f"/odoo/action-{action}/{record_id}"


def lead_shots(rpc, browser, out, settle):
    lead = rpc.first(
        "crm.lead",
        [
            ("type", "=", "opportunity"),
            ("stage_id.is_won", "=", False),
            ("prm_conversion_probability", ">", 0),
        ],
        ["name", "prm_score", "prm_conversion_probability"],
        order="prm_score desc, id",
    )
    say(
        "Lead: {name} (score {prm_score}, probability "
        "{prm_conversion_probability} %)".format(**lead)
    )
    url = record_url("crm.crm_lead_action_pipeline", lead["id"])
    for tab, name, down_to in (
        (
            "prm_score",
            "lead-score.png",
            (".tab-pane.active .o_group:has([name=prm_probability_factors])", ""),
        ),
        ("prm_engagement", "lead-engagement.png", (".o_form_sheet", "")),
    ):
        browser.open(url, ".o_form_view .o_notebook")
        browser.click_tab(tab)
        browser.shoot(out / name, settle, full_page=True, down_to=down_to)
        yield name, True


def pipeline_shot(rpc, browser, out, settle):
    records = ".o_kanban_view .o_kanban_record"
    browser.open("/odoo/action-crm.crm_lead_action_pipeline", records)
    # every salesperson's opportunities, not only the admin's ("My Pipeline")
    has_filter = "!!document.querySelector('.o_searchview_facet')"
    if browser.js(has_filter):
        browser.click(".o_searchview_facet .o_facet_remove", ".o_searchview")
        wait_until(
            lambda: not browser.js(has_filter), browser.timeout, "no search filter"
        )
        time.sleep(0.5)
        browser.wait_for(records)
    browser.shoot(out / "pipeline.png", settle)
    yield "pipeline.png", True


def last_twelve_months():
    today = datetime.date.today()
    try:
        start = today.replace(year=today.year - 1)
    except ValueError:  # 29 February
        start = today - datetime.timedelta(days=365)
    return {"date_from": start.isoformat(), "date_to": today.isoformat()}


def analysis(rpc, model):
    """A computed analysis of the last twelve months: its id."""
    record_id = rpc.call(model, "create", last_twelve_months())
    rpc.call(model, "action_compute", [record_id])
    return record_id


def pdf_page(rpc, report, record_id, dest, tmp):
    """Page 1 of a PDF report, as a PNG at 70 dpi."""
    pdf = tmp / f"{dest.stem}.pdf"
    rpc.download(f"/report/pdf/{report}/{record_id}", pdf)
    prefix = tmp / dest.stem
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile"]
        + [str(pdf), str(prefix)],
        check=True,
        capture_output=True,
    )
    shutil.move(prefix.with_suffix(".png"), dest)


def funnel_shots(rpc, browser, out, settle, tmp):
    record_id = analysis(rpc, "prm.funnel.analysis")
    browser.open(
        f"/odoo/prm.funnel.analysis/{record_id}",
        ".o_form_view [name=line_ids] .o_data_row",
    )
    browser.shoot(out / "funnel-analysis.png", settle, full_page=True)
    yield "funnel-analysis.png", True
    browser.click(
        "button[name=action_what_if]", ".modal .o_form_view [name=stages_html] table"
    )
    browser.shoot(out / "funnel-whatif.png", settle, full_page=True)
    yield "funnel-whatif.png", True
    pdf_page(
        rpc, "prm_funnel.report_prm_funnel", record_id, out / "report-funnel.png", tmp
    )
    yield "report-funnel.png", False


def source_shots(rpc, browser, out, settle, tmp):
    record_id = analysis(rpc, "prm.source.quality")
    browser.open(
        f"/odoo/prm.source.quality/{record_id}",
        ".o_form_view [name=line_ids] .o_data_row",
    )
    browser.shoot(out / "source-quality.png", settle, full_page=True)
    yield "source-quality.png", True
    dest = out / "report-sources.png"
    pdf_page(rpc, "prm_funnel.report_prm_source_quality", record_id, dest, tmp)
    yield "report-sources.png", False


def model_shot(rpc, browser, out, settle):
    model = rpc.first(
        "prm.propensity.model",
        [("state", "=", "trained")],
        ["name"],
        order="trained_at desc, id desc",
    )
    browser.open(
        record_url("prm_scoring.prm_propensity_model_action", model["id"]),
        ".o_form_view [name=model_card] > *",
    )
    browser.shoot(out / "model-card.png", settle, full_page=True)
    yield "model-card.png", True


def site_shot(rpc, browser, out, settle):
    site = rpc.first("prm.tracking.site", [], ["name"], order="id")
    browser.open(
        record_url("prm_tracking.prm_tracking_site_action", site["id"]),
        ".o_form_view [name=snippet]",
    )
    browser.shoot(out / "tracking-site.png", settle, full_page=True)
    yield "tracking-site.png", True


def engagement_shot(rpc, browser, out, settle):
    # the Engagement report's pivot (event types by month)
    browser.open(
        "/odoo/action-prm_tracking.prm_engagement_report_action?view_type=pivot",
        ".o_pivot_view .o_pivot table",
    )
    browser.shoot(out / "engagement.png", settle)
    yield "engagement.png", True


def take_all(rpc, browser, out, settle, tmp):
    """Take every screenshot; return (files written, problems seen)."""
    written, problems = [], []
    steps = (
        ("lead", lead_shots, False),
        ("pipeline", pipeline_shot, False),
        ("funnel analysis", funnel_shots, True),
        ("source quality", source_shots, True),
        ("model card", model_shot, False),
        ("tracking site", site_shot, False),
        ("engagement", engagement_shot, False),
    )
    for label, step, with_tmp in steps:
        args = (rpc, browser, out, settle) + ((tmp,) if with_tmp else ())
        try:
            for name, on_screen in step(*args):
                written.append(out / name)
                seen = browser.problems() if on_screen else []
                problems += [f"{name}: {text}" for text in seen]
                say(
                    f"  wrote {out / name}" + (" (with an error shown)" if seen else "")
                )
        except (ShotError, OSError, subprocess.CalledProcessError) as exc:
            problems.append(f"{label}: {exc}")
            say(f"  FAILED {label}: {exc}")
    return written, problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="prm_demo", help="database (prm_demo)")
    parser.add_argument(
        "--out", default=str(REPO / "docs" / "screenshots"), help="output folder"
    )
    parser.add_argument("--odoo-src", help="Odoo 18 source tree (else recorded)")
    parser.add_argument("--python", help="Python with Odoo's dependencies")
    parser.add_argument("--data-dir", help="Odoo data folder (else recorded)")
    parser.add_argument("--chromium", help="Chromium or Chrome executable")
    parser.add_argument("--port", type=int, help="Odoo HTTP port (a free one)")
    parser.add_argument(
        "--update",
        action="store_true",
        help="first update the prm_* addons in the database (its views then "
        "match the code)",
    )
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument(
        "--settle", type=float, default=1.0, help="seconds to wait before a shot"
    )
    parser.add_argument(
        "--timeout", type=float, default=60, help="seconds to wait for a view"
    )
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for tool in ("pdftoppm",):
        if not shutil.which(tool):
            raise ShotError(f"{tool} not found: apt-get install poppler-utils")
    browser_path = find_browser(args.chromium)
    odoo = chromium = browser = None
    with tempfile.TemporaryDirectory(prefix="prm-shots-") as tmpname:
        tmp = Path(tmpname)
        try:
            odoo, base, log = start_odoo(args, tmp)
            rpc = Rpc(base)
            session_id = rpc.login(args.db, args.login, args.password)
            chromium, ws_url = start_browser(browser_path, tmp)
            browser = Browser(ws_url, base, args.timeout)
            browser.set_session(session_id)
            written, problems = take_all(rpc, browser, out, args.settle, tmp)
            errors = log_errors(log)
        finally:
            if browser:
                browser.close()
            stop(chromium, "Chromium")
            if chromium:
                chromium.log.close()
            stop(odoo, "Odoo")
    say(f"\n{len(written)} files written:")
    for path in written:
        say(f"  {path}")
    for error in errors:
        say(f"Odoo log:\n{error}")
    for problem in problems:
        say(f"PROBLEM {problem}")
    return 1 if problems or errors else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ShotError as exc:
        sys.exit(f"ERROR: {exc}")
