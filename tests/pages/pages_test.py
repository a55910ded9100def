#!/usr/bin/python3
"""The web pages in a real browser: a participant's page and the admin dashboard of a running
comfyq-server (--demo), and the dashboard of a second one that drives a comfyui-standin, driven
by headless Chromium through Selenium. See tests/pages/README.md.

    /usr/bin/python3 tests/pages/pages_test.py --server build-m/reference_server/comfyq-server \
        --standin build-m/tests/comfyui-standin --artifacts /tmp/pages

With COMFYQ_TEST_PAGES_DIR=<folder> (e.g. $PWD/reference_server/web), every server serves the
pages from that folder (serve --pages) instead of those built into it: edit, rerun, no rebuild.
"""

import argparse
import base64
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKFLOW = os.path.join(REPO, "examples", "workflows", "txt2img.json")
WAIT_S = 30
PAGES_DIR = os.environ.get("COMFYQ_TEST_PAGES_DIR", "")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STARTED = time.monotonic()


def step(message):
    print("[%5.1f s] %s" % (time.monotonic() - STARTED, message), flush=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def wait_until(what, predicate, timeout=WAIT_S, poll=0.2):
    """Polls predicate() until it returns something true; fails naming `what`."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except (AssertionError, urllib.error.URLError, KeyError, ValueError) as err:
            last_error = err
        time.sleep(poll)
    raise AssertionError("timed out after %d s waiting for %s%s" % (timeout, what, " (%s)" % last_error if last_error else ""))


def seeded_workflow():
    """The example workflow with a seed of its own: ComfyUI caches an identical prompt's outputs,
    and a cached job finishes at once, without progress."""
    with open(WORKFLOW) as f:
        workflow = json.load(f)
    workflow["3"]["inputs"]["seed"] = random.randrange(1 << 40)
    return workflow


# ---- the processes ----

class Server:
    """comfyq-server serve with an in-memory queue and 3 participants, in a data folder of its own."""

    def __init__(self, args, work, name, backend):
        self.data = os.path.join(work, name)
        pages = ["--pages", PAGES_DIR] if PAGES_DIR else []
        self.process = subprocess.Popen(
            [args.server, "serve", "--data", self.data, "--store", "memory", "--users", "3", "--listen", "127.0.0.1:0"] + pages + backend,
            stdout=subprocess.PIPE, stderr=open(os.path.join(args.artifacts, name + ".log"), "w"), text=True)
        self.base = None
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not self.base:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError("comfyq-server exited (%s) before listening; see %s.log" % (self.process.poll(), name))
            found = re.search(r"listening on (http://\S+/)", line)
            self.base = found and found.group(1)
        check(self.base, "comfyq-server printed no 'listening on' line within %d s" % WAIT_S)
        with open(os.path.join(self.data, "credentials.txt")) as f:
            self.api = Api(self.base, dict(line.strip().split(":", 1) for line in f if ":" in line))
        step("comfyq-server %s listens on %s" % (" ".join(backend), self.base))


class Processes:
    """Everything the test starts, stopped at the end whatever happened."""

    def __init__(self):
        self.running = []

    def add(self, process):
        self.running.append(process)
        return process

    def standin(self, args, work):
        """A comfyui-standin at the demo backend's pace (samplers 4 s over their steps, other nodes
        0.1 s); returns the process and its address."""
        output = os.path.join(work, "standin", "output")
        os.makedirs(output)
        process = self.add(subprocess.Popen(
            [args.standin, "--port", "0", "--output-dir", output, "--delay-ms", "100", "--node-delay-ms", "KSampler=4000"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(args.artifacts, "standin.log"), "w"), text=True))
        address = "127.0.0.1:" + process.stdout.readline().strip()
        step("comfyui-standin listens on " + address)
        return process, address

    def server(self, args, work, name, backend):
        server = Server(args, work, name, backend)
        self.add(server.process)
        return server

    def stop(self):
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=25)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---- the API, as a script would call it ----

class Api:
    def __init__(self, base, passwords):
        self.base = base
        self.passwords = passwords

    def auth(self, user):
        return "Basic " + base64.b64encode(("%s:%s" % (user, self.passwords[user])).encode()).decode()

    def raw(self, user, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path.lstrip("/"), data=data, method=method)
        request.add_header("Authorization", self.auth(user))
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=WAIT_S) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers, err.read()

    def call(self, user, method, path, body=None):
        status, _, payload = self.raw(user, method, path, body)
        check(200 <= status < 300, "%s %s as %s answered %d: %s" % (method, path, user, status, payload[:300]))
        return json.loads(payload) if payload else None

    def get(self, user, path):
        return self.call(user, "GET", path)

    def submit(self, user):
        return self.call(user, "POST", "api/v1/jobs", {"workflow": seeded_workflow()})["id"]

    def forecast(self):
        return [entry["job"] for entry in self.get("admin", "api/v1/queue/forecast")["jobs"]]

    def job(self, job_id):
        return self.get("admin", "api/v1/jobs/" + job_id)


# ---- browsers ----

class Browser:
    """One Chromium for one user; every request it makes carries that user's credentials."""

    def __init__(self, api, user, artifacts):
        self.user = user
        self.profile = tempfile.mkdtemp(prefix="comfyq-pages-chrome-")
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for argument in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--user-data-dir=" + self.profile, "--window-size=1366,900"):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.sign_in(api)
        self.artifacts = artifacts

    def sign_in(self, api):
        """Network.setExtraHTTPHeaders applies to every request of the page: fetch, <img>, and the
        EventSource too (the page's "Live" indicator only turns live once the stream answered 200)."""
        self.driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": api.auth(self.user)}})

    def open(self, url):
        self.driver.get(url)
        self.wait("the event stream to be live", lambda d: self.js("return document.getElementById('live').dataset.state") == "live")

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, what, predicate, timeout=WAIT_S):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(predicate, message=what)
        except Exception as err:
            raise AssertionError("%s: timed out waiting for %s; alert area says %r" % (self.user, what, self.alert())) from err

    def find(self, selector):
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def finds(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector):
        found = self.finds(selector)
        return found[0].text if found else None

    def alert(self):
        try:
            return self.js("const a = document.getElementById('alert'); return a && !a.hidden ? a.textContent : ''")
        except Exception:
            return "?"

    def click(self, selector):
        element = self.find(selector)
        self.js("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def screenshot(self, name):
        """The whole page, not only the window."""
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        path = os.path.join(self.artifacts, name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return path

    def console_errors(self):
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

    def quit(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)


def write_file(folder, name, content):
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(content)
    return path


# A stand-in for ComfyUI's web UI as far as its extensions go, for a server started with
# --comfyui-frontend: its start-up imports each URL that GET api/extensions lists, and its api
# object (scripts/api.js, which extensions import with scripts/app.js) dispatches each message of
# the participant's WebSocket as an event of the message's type, as the real frontend's does.
# The real frontend is pip's comfyui_frontend_package, which this machine cannot install.
FRONTEND_STAND_IN = {
    "index.html": """<!doctype html>
<html><head><title>ComfyUI</title><link rel="icon" href="data:,"><script type="module" src="main.js"></script></head>
<body></body></html>
""",
    "main.js": """import { app } from "./scripts/app.js";
import { api } from "./scripts/api.js";
const base = location.pathname;
const extensions = await (await fetch(base + "api/extensions")).json();
for (const url of extensions) await import(base + url.slice(1));
app.setup();
await api.connect(base);
document.body.dataset.ready = "yes";
""",
    "scripts/app.js": """const extensions = [];
export const app = {
  registerExtension(extension) { extensions.push(extension); },
  setup() { for (const extension of extensions) extension.setup?.(); },
};
""",
    "scripts/api.js": """class ComfyApi extends EventTarget {
  connect(base) {
    const socket = new WebSocket(location.origin.replace(/^http/, "ws") + base + "ws?clientId=stand-in");
    socket.addEventListener("message", (m) => {
      if (typeof m.data !== "string") return;
      const message = JSON.parse(m.data);
      this.dispatchEvent(new CustomEvent(message.type, { detail: message.data }));
    });
    return new Promise((resolve) => socket.addEventListener("open", resolve));
  }
}
export const api = new ComfyApi();
""",
}


# ---- the test ----

JOB_IDS = "return Array.from(document.querySelectorAll('#jobs li')).map(li => li.dataset.job)"
# A preview from a progress event (data.preview), shown as a data: URL the CSP allows, and loaded.
PREVIEW_SHOWN = ("const img = document.querySelector(arguments[0]); return !!img && !img.hidden && "
                 "img.src.startsWith('data:image/') && img.complete && img.naturalWidth")
QUEUE_ORDER = ("return Array.from(document.querySelectorAll('#queue tr[data-held=\"no\"]'))"
               ".map(tr => [tr.dataset.job, tr.querySelector('.position').textContent])")


class PagesTest:
    def __init__(self, args, work, processes):
        self.args = args
        self.work = work
        self.processes = processes
        self.browsers = []
        self.files = os.path.join(work, "files")
        os.makedirs(self.files)

    def browser(self, api, user):
        b = Browser(api, user, self.args.artifacts)
        self.browsers.append(b)
        return b

    def run(self):
        if PAGES_DIR:
            step("the servers serve the pages from %s (COMFYQ_TEST_PAGES_DIR), not their built-in ones" % PAGES_DIR)
        server = self.processes.server(self.args, self.work, "server", ["--demo", "--preview-max-bytes", "1000000"])
        self.api, self.base = server.api, server.base
        self.worker = wait_until("the demo backend's worker ready", lambda: (lambda ws: len(ws) == 1 and ws[0]["state"] == "idle" and ws[0]["id"])(
            self.api.get("admin", "api/v1/workers")["workers"]))
        self.admin = self.browser(self.api, "admin")
        self.admin.open(self.base + "admin/")
        self.admin.wait("the worker listed as ready", lambda d: self.admin.text('#workers tr[data-worker="%s"] .state' % self.worker) == "ready")
        check(not self.admin.find("#no-worker").is_displayed(), "the no-worker banner shows while a worker is ready")
        step("the admin page is live and shows the worker ready, no banner")

        self.hold_the_queue()
        self.preemption_switch()
        self.participant_queues_a_file()
        self.participant_paused_and_resumed()
        self.admin_sees_the_forecast_and_moves_and_cancels()
        self.instructor_queues_a_demo()
        self.position_drops_progress_moves_output_shows()
        self.participants_see_only_their_own()
        self.comfyui_shows_the_place()
        self.worker_going_down_shows()
        for b in self.browsers:
            problems = b.console_errors()
            check(not problems, "%s's browser console has errors: %s" % (b.user, problems))

    def hold_the_queue(self):
        """FIFO and a drained worker: jobs wait where they are, in an order known in advance."""
        admin = self.admin
        admin.click('input[name="policy"][value="fifo"]')
        admin.click('#policy-form button[type="submit"]')
        wait_until("the queue's policy to be fifo", lambda: self.api.get("admin", "api/v1/queue")["policy"] == "fifo")
        admin.click('#workers tr[data-worker="%s"] .drain' % self.worker)
        wait_until("the worker to drain", lambda: self.api.get("admin", "api/v1/workers")["workers"][0]["state"] == "draining")
        admin.wait("the no-worker banner", lambda d: "No GPU worker" in (admin.text("#no-worker") or ""))
        step("switched to FIFO and drained the worker with the page's controls; the banner says %r" % admin.text("#no-worker"))
        self.user01_jobs = [self.api.submit("user01") for _ in range(2)]
        self.user02_jobs = [self.api.submit("user02") for _ in range(2)]
        step("user01 and user02 submitted 2 jobs each through the API")

    def preemption_switch(self):
        """The dashboard's "Priority lane" switch sets the queue's preemption, and follows it."""
        admin, api = self.admin, self.api
        radio = 'input[name="preemption"][value="%s"]'
        check(api.get("admin", "api/v1/queue")["preemption"] is False, "preemption is on from the start")
        admin.wait("the switch showing 'Wait for a free worker'", lambda d: admin.find(radio % "false").is_selected())
        admin.click(radio % "true")
        admin.click('#preemption-form button[type="submit"]')
        wait_until("GET api/v1/queue to say preemption is on", lambda: api.get("admin", "api/v1/queue")["preemption"] is True)
        admin.wait("the priority lane's hint to say a running job makes room",
                   lambda d: "a running normal job is stopped" in (admin.text("#lane-effect") or ""))
        step("switched preemption on with the dashboard's 'Make room at once': %r" % admin.text("#lane-effect"))
        admin.click(radio % "false")
        admin.click('#preemption-form button[type="submit"]')
        wait_until("GET api/v1/queue to say preemption is off", lambda: api.get("admin", "api/v1/queue")["preemption"] is False)
        admin.wait("the priority lane's hint to say the job waits for a worker",
                   lambda d: "as soon as a worker is free" in (admin.text("#lane-effect") or ""))
        # A change made elsewhere (another dashboard, a script) reaches the page as queue_changed.
        api.call("admin", "PUT", "api/v1/queue/preemption", {"preemption": True})
        admin.wait("the switch to follow the API to 'Make room at once'", lambda d: admin.find(radio % "true").is_selected())
        api.call("admin", "PUT", "api/v1/queue/preemption", {"preemption": False})
        admin.wait("the switch to follow the API back", lambda d: admin.find(radio % "false").is_selected())
        step("switched it off again with the dashboard; the switch follows changes made through the API")

    def submit_on_page(self, user, name, content):
        user.find("#workflow-file").send_keys(write_file(self.files, name, content))
        user.click('#submit-form button[type="submit"]')

    def participant_queues_a_file(self):
        user03 = self.user03 = self.browser(self.api, "user03")
        user03.open(self.base + "user/user03/")
        check(user03.text("#heading") == "user03", "the participant page's heading is %r" % user03.text("#heading"))
        user03.wait("the page to say how to reach ComfyUI", lambda d: "/user/user03/" in (user03.text("#comfyui-note") or ""))
        check("--comfyui-frontend" in user03.text("#comfyui-note"),
              "the page of a server without ComfyUI's web UI does not say how to enable it: %r" % user03.text("#comfyui-note"))
        self.submit_on_page(user03, "notes.json", "this is not JSON")
        user03.wait("a message about a file that is not JSON", lambda d: "not a JSON file" in user03.alert())
        self.submit_on_page(user03, "ui.json", json.dumps({"nodes": [], "links": [], "version": 0.4}))
        user03.wait("a message about a UI-format workflow", lambda d: "UI format" in user03.alert())
        step("the page refused a non-JSON file and a UI-format workflow: %r" % user03.alert())

        self.mine = self.queue_on_page("txt2img.json")
        check(self.api.job(self.mine)["tenant"] == "user03", "the page's job %s is not user03's" % self.mine)
        self.place = '#jobs li[data-job="%s"] .position' % self.mine
        user03.wait("'Position 5 of 5, waiting for a GPU worker'",
                    lambda d: user03.text(self.place) == "Position 5 of 5, waiting for a GPU worker")
        step("the job queued through the page's file input appears: %s, %r" % (self.mine, user03.text(self.place)))

        user03.find("#input-files").send_keys(write_file(self.files, "cat.txt", "a cat, in words"))
        user03.click('#upload-form button[type="submit"]')
        user03.wait("the uploaded file listed", lambda d: "cat.txt" in (user03.text("#inputs") or ""))
        check(any(i["path"] == "cat.txt" and i["size"] == 15 for i in self.api.get("user03", "api/v1/inputs")["inputs"]),
              "the upload is not among user03's inputs")
        step("uploaded an input file with the page's form: %r" % user03.text("#inputs"))

        doomed = self.queue_on_page("second.json")
        user03.click('#jobs li[data-job="%s"] .cancel' % doomed)
        wait_until("the page's cancel to take effect", lambda: self.api.job(doomed)["state"] == "cancelled")
        user03.wait("the job shown as cancelled", lambda d: user03.text('#jobs li[data-job="%s"] .state' % doomed) == "cancelled")
        step("cancelled %s with the participant page's Cancel button" % doomed)

    def participant_paused_and_resumed(self):
        """Pausing user03 on the dashboard puts its waiting job on hold on its page, live and on a
        fresh load (its job view then has no position); resuming gives it its place back."""
        admin, user03, api = self.admin, self.user03, self.api
        button = '#tenants tr[data-tenant="user03"] .pause'
        on_hold = lambda d: (user03.text(self.place) or "").startswith("On hold: ")
        admin.wait("user03's Pause button", lambda d: admin.text(button) == "Pause")
        admin.click(button)
        wait_until("user03 paused", lambda: self.tenant("user03")["paused"])
        user03.wait("user03's job on hold on its page", on_hold)
        held = user03.text(self.place)
        admin.wait("the job on hold on the dashboard",
                   lambda d: admin.text('#queue tr[data-job="%s"] .eta' % self.mine) == "on hold: user03 is paused")
        user03.open(self.base + "user/user03/")
        check("position" not in api.get("user03", "api/v1/jobs/" + self.mine), "a paused participant's job view has a position")
        user03.wait("user03's job still on hold after reloading the page", on_hold)
        step("paused user03 with the dashboard's Pause button; its page says %r, also reloaded" % held)
        admin.wait("user03's Resume button", lambda d: admin.text(button) == "Resume")
        admin.click(button)
        wait_until("user03 resumed", lambda: not self.tenant("user03")["paused"])
        user03.wait("user03's job back at 'Position 5 of 5, waiting for a GPU worker'",
                    lambda d: user03.text(self.place) == "Position 5 of 5, waiting for a GPU worker")
        step("resumed user03 with the dashboard's Resume button; its page says %r again" % user03.text(self.place))

    def tenant(self, name):
        return next(t for t in self.api.get("admin", "api/v1/tenants")["tenants"] if t["config"]["id"] == name)

    def queue_on_page(self, name):
        user03 = self.user03
        before = set(user03.js(JOB_IDS))
        self.submit_on_page(user03, name, json.dumps(seeded_workflow()))
        return user03.wait("the job queued from %s in the list" % name,
                           lambda d: next((job for job in d.execute_script(JOB_IDS) if job not in before), None))

    def admin_sees_the_forecast_and_moves_and_cancels(self):
        admin, api = self.admin, self.api
        forecast = api.forecast()
        check(len(forecast) == 5, "the forecast holds %d jobs, expected 5: %s" % (len(forecast), forecast))
        admin.wait("the page's queue in the forecast's order", lambda d: [job for job, _ in admin.js(QUEUE_ORDER)] == api.forecast())
        check([p for _, p in admin.js(QUEUE_ORDER)] == ["1", "2", "3", "4", "5"], "positions shown: %s" % admin.js(QUEUE_ORDER))
        step("the admin page shows the queue in the forecast's order: " + " ".join(forecast))

        moved = self.user02_jobs[-1]
        check(api.forecast().index(moved) >= 2, "the job to move is already near the front")
        admin.click('#queue tr[data-job="%s"] .lane-button' % moved)
        wait_until("the moved job first in the forecast", lambda: api.forecast()[0] == moved)
        admin.wait("the moved job at position 1 on the page, in the priority lane",
                   lambda d: admin.text('#queue tr[data-job="%s"] .position' % moved) == "1"
                   and admin.text('#queue tr[data-job="%s"] .lane' % moved) == "priority")
        step("moved %s to the priority lane with the page's button: first in the forecast and on the page" % moved)

        cancelled = self.user01_jobs[0]
        admin.click('#queue tr[data-job="%s"] .cancel' % cancelled)
        wait_until("the admin's cancel to take effect", lambda: api.job(cancelled)["state"] == "cancelled")
        admin.wait("the cancelled job gone from the queue", lambda d: not admin.finds('#queue tr[data-job="%s"]' % cancelled))
        step("cancelled %s with the admin page's button" % cancelled)

    def instructor_queues_a_demo(self):
        """The admin's own page has the priority lane; a participant's has not."""
        check(not self.user03.find("#priority-choice").is_displayed(), "a participant's page offers the priority lane")
        instructor = self.browser(self.api, "admin")
        instructor.open(self.base + "user/admin/")
        instructor.wait("the admin's own page with the priority choice", lambda d: instructor.find("#priority-choice").is_displayed())
        instructor.click("#workflow-priority")
        before = set(self.api.forecast())
        self.submit_on_page(instructor, "demo.json", json.dumps(seeded_workflow()))
        demo = wait_until("the demo in the forecast", lambda: (set(self.api.forecast()) - before or {None}).pop())
        check(self.api.job(demo)["priority"] is True, "the demo is not in the priority lane: %s" % self.api.job(demo))
        lane = [job for job in self.api.forecast() if self.api.job(job)["priority"]]
        check(self.api.forecast()[:len(lane)] == lane and demo in lane, "the priority lane does not start first: %s" % lane)
        step("the instructor queued %s in the priority lane from its own page: position %d" % (
            demo, self.api.forecast().index(demo) + 1))
        self.api.call("admin", "POST", "api/v1/jobs/%s/cancel" % demo)
        problems = instructor.console_errors()
        check(not problems, "the admin's own page's console has errors: %s" % problems)
        instructor.quit()
        self.browsers.remove(instructor)

    def position_drops_progress_moves_output_shows(self):
        admin, user03, api = self.admin, self.user03, self.api
        position = lambda: re.match(r"Position (\d+) of (\d+), ", user03.text(self.place) or "")
        before = int(user03.wait("user03's position", lambda d: position()).group(1))
        check(before >= 3, "user03's job should wait behind others; it is at %d" % before)
        admin.click('#workers tr[data-worker="%s"] .drain' % self.worker)  # now labelled Resume
        wait_until("the worker to take work again", lambda: self.api.get("admin", "api/v1/workers")["workers"][0]["state"] in ("idle", "busy"))
        admin.wait("the no-worker banner gone", lambda d: not admin.find("#no-worker").is_displayed())
        dropped = user03.wait("user03's position to drop below %d" % before, lambda d: (lambda m: m and int(m.group(1)) < before and user03.text(self.place))(
            re.match(r"Position (\d+) of \d+, (about \d+ min|less than a minute|starting any moment)$", user03.text(self.place) or "")))
        step("resumed the worker with the page's button; user03's job went from position %d to %r" % (before, dropped))

        row = '#jobs li[data-job="%s"]' % self.mine
        user03.wait("user03's job running", lambda d: user03.find(row).get_attribute("data-state") == "running")
        bar = row + " progress.progress"
        value = "const p = document.querySelector(arguments[0]); return p.hasAttribute('value') ? p.value : 0"
        first = user03.wait("a first step on the progress bar", lambda d: d.execute_script(value, bar))
        later = user03.wait("the progress bar to advance", lambda d: (lambda v: v if v > first else 0)(d.execute_script(value, bar)))
        step("the progress bar moved from %s to %s (%r)" % (first, later, user03.text(row + " .node")))
        self.previews_show(row + " img.preview", '#running tr[data-job="%s"] img.preview' % self.mine)

        figure = '#gallery [data-gallery-job="%s"] [data-output]' % self.mine
        user03.wait("the output in the gallery", lambda d: d.find_elements(By.CSS_SELECTOR, figure + " img"))
        image = user03.find(figure + " img")
        user03.js("arguments[0].scrollIntoView({block: 'center'})", image)  # it loads lazily
        user03.wait("the output image to load", lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) > 0)
        href = user03.find(figure + " a.download").get_attribute("href")
        check(href.startswith(self.base), "the download link %s is not on the site %s" % (href, self.base))
        status, _, payload = api.raw("user03", "GET", href[len(self.base):])
        check(status == 200 and payload.startswith(PNG_SIGNATURE), "downloading %s answered %d, %r" % (href, status, payload[:16]))
        step("the output shows (%d px wide) and downloads: %s, %d bytes of PNG" % (
            user03.js("return arguments[0].naturalWidth", image), href[len(self.base):], len(payload)))

        # Screenshots while the pages show all they can: jobs waiting, running with a preview, outputs.
        self.user03_more = [api.submit("user03") for _ in range(2)] + [api.submit("user01")]
        user03.wait("a job of user03's running with a preview and one waiting",
                    lambda d: d.find_elements(By.CSS_SELECTOR, '#jobs li[data-state="running"] progress[value]')
                    and d.execute_script(PREVIEW_SHOWN, '#jobs li[data-state="running"] img.preview')
                    and d.find_elements(By.CSS_SELECTOR, '#jobs li[data-state="queued"] .position'))
        check(user03.finds(figure + " img"), "user03's gallery lost its output")
        step("saved " + user03.screenshot("user.png"))
        admin.wait("jobs waiting, running with a preview and finished on the dashboard",
                   lambda d: admin.finds("#queue tr") and admin.finds("#running progress[value]")
                   and d.execute_script(PREVIEW_SHOWN, "#running img.preview") and admin.finds('#finished tr[data-state="succeeded"]'))
        step("saved " + admin.screenshot("admin.png"))

    def previews_show(self, on_user_page, on_dashboard):
        """serve --preview-max-bytes: the demo backend's previews show on both pages as the job runs."""
        shown = []
        for b, selector in ((self.user03, on_user_page), (self.admin, on_dashboard)):
            width = b.wait("a preview image of the running job, loaded", lambda d: d.execute_script(PREVIEW_SHOWN, selector))
            shown.append("%s %d px wide" % (b.user, width))
        step("while the job runs, each page shows its preview (%s)" % ", ".join(shown))

    def participants_see_only_their_own(self):
        user01 = self.browser(self.api, "user01")
        user01.open(self.base + "user/user01/")
        user02 = self.browser(self.api, "user02")
        user02.open(self.base + "user/user02/")
        everyone = {"user01": self.user01_jobs, "user02": self.user02_jobs, "user03": [self.mine] + self.user03_more[:2]}
        for b, others in ((user01, everyone["user02"] + everyone["user03"]), (user02, everyone["user01"] + everyone["user03"])):
            own = everyone[b.user]
            b.wait("its own jobs listed", lambda d: all(d.find_elements(By.CSS_SELECTOR, '#jobs li[data-job="%s"]' % j) for j in own))
            leaked = [j for j in others if j in b.driver.page_source]
            check(not leaked, "%s's page shows other participants' jobs: %s" % (b.user, leaked))
            check(b.find("#submit-section").is_displayed(), "%s's own page hides the submit form" % b.user)
        step("user01's and user02's pages show their own jobs and none of the other's")

        admin = self.admin
        admin.open(self.base + "user/user02/")
        admin.wait("user02's jobs on the admin's view of their page",
                   lambda d: all(d.find_elements(By.CSS_SELECTOR, '#jobs li[data-job="%s"]' % j) for j in everyone["user02"]))
        leaked = [j for j in everyone["user01"] + everyone["user03"] if j in admin.driver.page_source]
        check(not leaked, "the admin's view of user02's page shows others' jobs: %s" % leaked)
        check(not admin.find("#submit-section").is_displayed(), "the admin's view of user02's page offers the submit form")
        step("the admin's view of user02's page shows user02's jobs only, without the forms")

    def comfyui_shows_the_place(self):
        """ComfyUI's web UI at /user/<name>/ (the stand-in above) loads comfyq's extension, whose
        badge shows where the participant's first waiting job stands, and goes once it runs."""
        frontend = os.path.join(self.work, "frontend")
        for name, text in FRONTEND_STAND_IN.items():
            os.makedirs(os.path.dirname(os.path.join(frontend, name)), exist_ok=True)
            write_file(frontend, name, text)
        server = self.processes.server(self.args, self.work, "server-ui", ["--demo", "--comfyui-frontend", frontend])
        worker = wait_until("the demo backend's worker ready", lambda: (lambda ws: len(ws) == 1 and ws[0]["state"] == "idle" and ws[0]["id"])(
            server.api.get("admin", "api/v1/workers")["workers"]))
        server.api.call("admin", "POST", "api/v1/workers/%s/drain" % worker)
        user = self.browser(server.api, "user01")
        user.driver.get(server.base + "user/user01/")
        user.wait("ComfyUI's page to load comfyq's extension", lambda d: user.js("return document.body.dataset.ready") == "yes")
        jobs = [server.api.submit("user01") for _ in range(2)]
        badge = "#comfyq-queue-position"
        user.wait("the badge with the first job's place", lambda d: (user.text(badge) or "").startswith("Waiting: position 1 of 2"))
        check("(2 jobs waiting)" in user.text(badge), "the badge does not count the waiting jobs: %r" % user.text(badge))
        step("ComfyUI's page at /user/user01/ shows %r for %s" % (user.text(badge), ", ".join(jobs)))
        server.api.call("admin", "POST", "api/v1/workers/%s/resume" % worker)
        user.wait("the badge to go once both jobs ran", lambda d: not user.find(badge).is_displayed())
        check(user.driver.current_url == server.base + "user/user01/", "the page moved to %s" % user.driver.current_url)
        check(server.api.get("user01", "api/v1/me")["comfyui_ui"], "api/v1/me says the server has no ComfyUI web UI")
        step("the badge went when the worker resumed and ran them")

    def worker_going_down_shows(self):
        """A server whose one worker drives a comfyui-standin: killing it shows on the dashboard."""
        standin, address = self.processes.standin(self.args, self.work)
        server = self.processes.server(self.args, self.work, "server-standin", ["--comfyui", address])
        worker = wait_until("the stand-in's worker ready", lambda: (lambda ws: len(ws) == 1 and ws[0]["state"] == "idle" and ws[0]["id"])(
            server.api.get("admin", "api/v1/workers")["workers"]))
        admin = self.admin
        admin.sign_in(server.api)
        admin.open(server.base + "admin/")
        admin.wait("the worker listed as ready", lambda d: admin.text('#workers tr[data-worker="%s"] .state' % worker) == "ready")
        standin.kill()
        standin.wait()
        # An idle worker finds its ComfyUI gone when it next takes a job.
        job = server.api.submit("user01")
        admin.wait("worker %s shown as ComfyUI down" % worker, lambda d: admin.text('#workers tr[data-worker="%s"] .state' % worker) == "ComfyUI down")
        admin.wait("a recent error about it", lambda d: admin.finds('#errors tr[data-kind="comfyui_down"]'))
        admin.wait("the no-worker banner", lambda d: admin.find("#no-worker").is_displayed())
        step("killed the stand-in and queued %s: %s shows 'ComfyUI down', the errors list says %r, the banner %r" % (
            job, worker, admin.text('#errors tr[data-kind="comfyui_down"]'), admin.text("#no-worker")))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", required=True, help="the comfyq-server program")
    parser.add_argument("--standin", required=True, help="the comfyui-standin program")
    parser.add_argument("--artifacts", required=True, help="where screenshots and logs go")
    args = parser.parse_args()
    os.makedirs(args.artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="comfyq-pages-")
    processes = Processes()
    test = PagesTest(args, work, processes)
    try:
        test.run()
    except Exception as err:
        traceback.print_exc()
        for b in test.browsers:
            try:
                step("saved " + b.screenshot("failure-%s.png" % b.user))
            except Exception:
                pass
        print("FAIL: %s (%.1f s; logs and screenshots in %s)" % (err, time.monotonic() - STARTED, args.artifacts), flush=True)
        return 1
    finally:
        for b in test.browsers:
            b.quit()
        processes.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("PASS: the pages (%.1f s; screenshots in %s)" % (time.monotonic() - STARTED, args.artifacts), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
