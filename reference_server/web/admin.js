// The instructor's dashboard, /admin/: the queue in the order jobs will start, what runs, the
// workers, each participant's use of the GPU and settings, failures, and the queue's controls.
// Each part re-reads its route when an event that can change it arrives (at most every 500 ms).
"use strict";

(() => {
  const { api, el, follow, coalesce, syncChildren, actionButton, showError, clearError, say } = comfyq;
  const $ = (id) => document.getElementById(id);
  const jobUrl = (id) => "jobs/" + encodeURIComponent(id);
  const userPage = (tenant) => comfyq.here.base + "user/" + encodeURIComponent(tenant) + "/";
  const idCell = (id) => el("td", {}, el("code", { class: "id" }, id || ""));
  const byKey = (selector) => (key) => document.querySelector(selector + '[data-key="' + CSS.escape(key) + '"]');

  // Shows `rows` in table body `id`, and hides the table for its "empty" line when there are none.
  function table(id, rows, keyOf, create, update) {
    syncChildren($(id), rows, keyOf, create, update);
    $(id + "-empty").hidden = rows.length > 0;
    $(id + "-table").hidden = rows.length === 0;
  }
  function count(id, n) {
    $(id + "-count").textContent = n ? "(" + n + ")" : "";
  }

  // Runs an admin action, then says what it did; failures go to the alert area.
  async function act(message, path, options) {
    clearError();
    const answer = await api(path, { method: "POST", ...options });
    say(message);
    return answer;
  }

  // ---- the queue: summary, pause, policy, preemption ----

  let queueInfo = null;

  // The queue's settings that radio buttons choose and the form's button applies (PUT
  // queue/<field>); each form shows the queue's value unless another was picked and not applied.
  const settings = [
    { field: "policy", parse: (text) => text, said: (policy) => "Policy switched to " + policy.replace("_", " ") + "." },
    { field: "preemption", parse: (text) => text === "true",
      said: (on) => "A job moved to the priority lane now " + (on ? "makes room at once." : "waits for a free worker.") },
  ];

  // The forecast holds the jobs that can start, in order; jobs held by a pause (the queue's or
  // their participant's) are not in it, and are listed after it without a position.
  const loadQueue = coalesce(async () => {
    const [info, order, queued] = await Promise.all([api("queue"), api("queue/forecast"),
      api("jobs", { query: { state: "queued", limit: 500 } })]);
    queueInfo = info;
    renderQueueInfo();
    const inOrder = new Set(order.jobs.map((job) => job.job));
    const held = queued.jobs.filter((job) => !inOrder.has(job.id)).reverse()
      .map((job) => ({ job: job.id, tenant: job.tenant, priority: job.priority, held: true }));
    renderForecast(order.jobs.concat(held));
  });

  function renderQueueInfo() {
    const q = queueInfo;
    const items = [["Waiting", q.queued], ["Running", q.running], ["Done", q.succeeded], ["Failed", (q.failed || 0) + (q.dead || 0)],
      ["Cancelled", q.cancelled], ["GPU time", comfyq.duration(q.gpu_time_ms)], ["Participants", q.tenants], ["Workers", q.workers]];
    $("summary").replaceChildren(...items.map(([term, value]) => el("div", {}, el("dt", {}, term), el("dd", {}, value ?? 0))));
    $("queue-state").textContent = q.paused ? "The queue is paused: no job starts." : "The queue is running.";
    $("queue-state").dataset.state = q.paused ? "paused" : "running";
    $("queue-toggle").textContent = q.paused ? "Resume the queue" : "Pause the queue";
    for (const setting of settings) {
      if (setting.touched) continue;
      for (const radio of $(setting.field + "-form").elements[setting.field]) radio.checked = radio.value === String(q[setting.field]);
    }
    $("lane-effect").textContent = "Move to priority lane: the job starts " + (q.preemption
      ? "now; a running normal job is stopped and put back in line, uncharged."
      : "next, as soon as a worker is free.");
  }

  function switchSetting(setting) {
    const form = $(setting.field + "-form");
    form.addEventListener("change", () => { setting.touched = true; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = setting.parse(new FormData(form).get(setting.field));
      try {
        queueInfo = await act(setting.said(value), "queue/" + setting.field, { method: "PUT", json: { [setting.field]: value } });
        setting.touched = false;
        renderQueueInfo();
        loadQueue();
      } catch (err) {
        showError(err);
      }
    });
  }

  // ---- waiting jobs, in the order they will start ----

  let forecast = [];

  function renderForecast(jobs) {
    forecast = jobs;
    const filter = $("queue-filter").value;
    const tenants = new Map();
    for (const job of jobs) tenants.set(job.tenant, (tenants.get(job.tenant) || 0) + 1);
    if (filter && !tenants.has(filter)) tenants.set(filter, 0);
    const options = [{ value: "", label: "everyone (" + jobs.length + ")" }]
      .concat(Array.from(tenants.keys()).sort().map((t) => ({ value: t, label: t + " (" + tenants.get(t) + ")" })));
    syncChildren($("queue-filter"), options, (o) => o.value, () => el("option"), (option, o) => {
      option.value = o.value;
      option.textContent = o.label;
    });
    $("queue-filter").value = filter;
    const shown = filter ? jobs.filter((job) => job.tenant === filter) : jobs;
    table("queue", shown, (job) => job.job, buildQueued, updateQueued);
    count("queue", jobs.length);
  }

  function buildQueued(job) {
    const id = job.job;
    const laneButton = actionButton("Move to priority lane", () => {
      const priority = !forecast.find((j) => j.job === id)?.priority;
      return act((priority ? "Moved job " + id + " to the priority lane." : "Moved job " + id + " back to the normal lane."),
        jobUrl(id) + "/priority", { method: "PUT", json: { priority } }).then(loadQueue);
    }, { class: "secondary lane-button", "aria-describedby": "lane-effect" });
    return el("tr", { dataset: { job: id } },
      el("td", { class: "number position" }), el("td", { class: "tenant" }), idCell(id),
      el("td", { class: "lane" }), el("td", { class: "eta" }),
      el("td", {}, el("div", { class: "actions" }, laneButton,
        actionButton("Cancel", () => act("Cancelled job " + id + ".", jobUrl(id) + "/cancel").then(loadQueue),
          { class: "danger cancel", "aria-label": "Cancel job " + id }))));
  }

  function heldWords(job) {
    if (queueInfo && queueInfo.paused) return "on hold: the queue is paused";
    return tenants.some((t) => t.config.id === job.tenant && t.paused) ? "on hold: " + job.tenant + " is paused" : "on hold";
  }

  function updateQueued(tr, job) {
    tr.dataset.held = job.held ? "yes" : "no";
    tr.querySelector(".position").textContent = job.held ? "–" : job.position;
    tr.querySelector(".tenant").replaceChildren(el("a", { href: userPage(job.tenant) }, job.tenant));
    const lane = tr.querySelector(".lane");
    lane.textContent = job.priority ? "priority" : "normal";
    lane.className = "lane" + (job.priority ? " lane-priority" : "");
    tr.dataset.etaMs = job.eta_ms ?? "";
    tr.querySelector(".eta").textContent = job.held ? heldWords(job) : comfyq.startsIn(job.eta_ms);
    const button = tr.querySelector(".lane-button");
    button.textContent = job.priority ? "Back to normal lane" : "Move to priority lane";
    button.setAttribute("aria-label", button.textContent + ": job " + job.job);
    if (job.priority) button.removeAttribute("aria-describedby");
    else button.setAttribute("aria-describedby", "lane-effect");
  }

  // ---- running jobs, with live progress ----

  const progressOf = new Map(); // job → its progress, as comfyq.nextProgress keeps it
  const workerOf = new Map(); // job → worker, from leased events and the workers list

  const loadRunning = coalesce(async () => {
    const { jobs } = await api("jobs", { query: { state: "running", limit: 100 } });
    for (const job of jobs) if (job.progress && !progressOf.has(job.id)) progressOf.set(job.id, comfyq.nextProgress(null, job.progress));
    table("running", jobs, (job) => job.id, buildRunning, updateRunning);
    count("running", jobs.length);
  });

  function buildRunning(job) {
    const id = job.id;
    return el("tr", { dataset: { job: id } },
      idCell(id), el("td", { class: "tenant" }), el("td", { class: "worker" }), el("td", { class: "started" }),
      el("td", {}, comfyq.progressParts(id)),
      el("td", {}, actionButton("Cancel", () => act("Asked job " + id + " to stop.", jobUrl(id) + "/cancel"),
        { class: "danger cancel", "aria-label": "Cancel job " + id })));
  }

  function updateRunning(tr, job) {
    tr.querySelector(".tenant").replaceChildren(el("a", { href: userPage(job.tenant) }, job.tenant));
    tr.querySelector(".worker").textContent = workerOf.get(job.id) || "";
    tr.querySelector(".started").textContent = comfyq.time(job.started_at_ms);
    comfyq.showProgress(tr, progressOf.get(job.id));
  }

  // ---- workers ----

  const workerWords = { idle: "ready", busy: "busy", draining: "draining", comfyui_down: "ComfyUI down", down: "gone" };

  const loadWorkers = coalesce(async () => {
    const { workers } = await api("workers");
    for (const w of workers) if (w.job) workerOf.set(w.job, w.id);
    table("workers", workers, (w) => w.id, buildWorker, updateWorker);
    count("workers", workers.length);
    const working = workers.filter((w) => w.state === "idle" || w.state === "busy");
    const banner = $("no-worker");
    if (working.length > 0) {
      banner.hidden = true;
      banner.textContent = "";
    } else {
      const troubled = workers.filter((w) => w.state === "comfyui_down").map((w) => w.id);
      banner.textContent = workers.length === 0 || troubled.length === 0
        ? "No GPU worker is connected: jobs wait until one starts."
        : "No GPU worker can take work: ComfyUI is down on " + troubled.join(", ") + ". Jobs wait until it is back.";
      banner.hidden = false;
    }
    for (const tr of $("running").children) tr.querySelector(".worker").textContent = workerOf.get(tr.dataset.job) || "";
  });

  function buildWorker(w) {
    const id = w.id;
    return el("tr", { dataset: { worker: id } },
      idCell(id), el("td", {}, el("span", { class: "state" })), el("td", { class: "job" }), el("td", { class: "comfyui" }),
      el("td", { class: "gpu" }), el("td", { class: "seen" }),
      el("td", {}, actionButton("Drain", () => {
        const draining = $("workers").querySelector('[data-worker="' + CSS.escape(id) + '"]').dataset.draining === "yes";
        return act(draining ? "Worker " + id + " takes work again." : "Worker " + id + " finishes its job and takes no more.",
          "workers/" + encodeURIComponent(id) + (draining ? "/resume" : "/drain")).then(loadWorkers);
      }, { class: "secondary drain" })));
  }

  function updateWorker(tr, w) {
    const state = tr.querySelector(".state");
    state.textContent = workerWords[w.state] || w.state;
    state.dataset.state = w.state;
    tr.dataset.draining = w.state === "draining" ? "yes" : "no";
    tr.querySelector(".job").replaceChildren(w.job ? el("code", { class: "id" }, w.job) : "");
    tr.querySelector(".comfyui").textContent = (w.comfyui || "") + (w.comfyui_version ? " (ComfyUI " + w.comfyui_version + ")" : "");
    tr.querySelector(".gpu").textContent = w.gpu || "";
    tr.querySelector(".seen").textContent = comfyq.time(w.last_seen_ms);
    const button = tr.querySelector(".drain");
    button.textContent = w.state === "draining" ? "Resume" : "Drain";
    button.setAttribute("aria-label", button.textContent + " worker " + w.id);
  }

  // ---- participants: use of the GPU, settings, pause ----

  let tenants = [];
  let usage = { tenants: [] };

  const loadTenants = coalesce(async () => {
    tenants = (await api("tenants")).tenants;
    renderTenants();
    renderForecast(forecast); // held jobs say whose pause holds them
  });
  const loadUsage = coalesce(async () => {
    usage = await api("usage");
    renderTenants();
  });

  function renderTenants() {
    const usageOf = new Map(usage.tenants.map((u) => [u.tenant, u]));
    const rows = tenants.map((t) => ({ ...t, id: t.config.id, usage: usageOf.get(t.config.id) }))
      .sort((a, b) => a.id.localeCompare(b.id));
    const totals = (usage.tenants[0]?.series || []).map((_, i) => usage.tenants.reduce((sum, u) => sum + (u.series[i] || 0), 0));
    table("tenants", rows, (t) => t.id, buildTenant, (tr, t) => updateTenant(tr, t, totals));
    count("tenants", rows.length);
  }

  const settingFields = [["weight", "Weight"], ["max_running", "Max running"], ["max_queued", "Max waiting"]];

  function buildTenant(t) {
    const id = t.id;
    const formId = "tenant-form-" + id;
    const inputs = settingFields.map(([field, words]) => {
      const inputId = formId + "-" + field;
      const input = el("input", { id: inputId, name: field, type: "number", form: formId, min: field === "weight" ? "0.01" : "0",
        step: field === "weight" ? "any" : "1", oninput: () => { input.dataset.dirty = "yes"; } });
      return el("td", {}, el("label", { class: "visually-hidden", for: inputId }, words + " of " + id), input);
    });
    const form = el("form", { id: formId, class: "actions", novalidate: true, onsubmit: (event) => saveTenant(event, id) },
      el("button", { type: "submit", "aria-label": "Save settings of " + id }, "Save"),
      actionButton("Pause", () => {
        const paused = tenants.find((x) => x.config.id === id)?.paused;
        return act(paused ? id + "'s jobs may start again." : id + "'s jobs wait until resumed.",
          "tenants/" + encodeURIComponent(id) + (paused ? "/resume" : "/pause")).then(loadTenants);
      }, { class: "secondary pause" }));
    return el("tr", { dataset: { tenant: id } },
      el("th", { scope: "row" }, el("a", { href: userPage(id) }, id), " ", el("span", { class: "paused reason" })),
      el("td", { class: "number queued" }), el("td", { class: "number running" }), el("td", { class: "number gpu" }),
      el("td", { class: "number share" }), el("td", { class: "number hour" }), el("td", { class: "chart" }),
      ...inputs, el("td", {}, form));
  }

  function updateTenant(tr, t, totals) {
    tr.querySelector(".paused").textContent = t.paused ? "(paused)" : "";
    const priority = t.queued_priority ? " + " + t.queued_priority + " priority" : "";
    tr.querySelector(".queued").textContent = t.queued + priority;
    tr.querySelector(".running").textContent = t.running;
    tr.querySelector(".gpu").textContent = comfyq.duration(t.gpu_time_ms);
    tr.querySelector(".share").textContent = comfyq.percent(t.share);
    // GET usage leaves out whoever used no GPU time in the last hour.
    tr.querySelector(".hour").textContent = t.usage ? comfyq.duration(t.usage.gpu_ms) + " (" + comfyq.percent(t.usage.share) + ")" : "0 s";
    tr.querySelector(".chart").replaceChildren(t.usage ? shareChart(t.id, t.usage.series || [], totals)
      : el("span", { class: "muted" }, "no GPU time"));
    for (const [field] of settingFields) {
      const input = tr.querySelector('input[name="' + field + '"]');
      if (document.activeElement === input || input.dataset.dirty) continue; // keep what is being typed
      input.value = t.config[field] ?? "";
    }
    const pause = tr.querySelector(".pause");
    pause.textContent = t.paused ? "Resume" : "Pause";
    pause.setAttribute("aria-label", pause.textContent + " " + t.id);
  }

  // Bars of the tenant's share of the GPU time used in each minute of the last hour.
  function shareChart(id, series, totals) {
    const svgNs = "http://www.w3.org/2000/svg";
    const shares = series.map((ms, i) => (totals[i] > 0 ? ms / totals[i] : 0));
    const latest = shares.length ? shares[shares.length - 1] : 0;
    const label = id + ": share of the GPU time used per minute over the last hour; now " + comfyq.percent(latest) +
      ", highest " + comfyq.percent(Math.max(0, ...shares));
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("class", "share-chart");
    svg.setAttribute("viewBox", "0 0 " + Math.max(1, shares.length) + " 20");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
    const title = document.createElementNS(svgNs, "title");
    title.textContent = label;
    svg.append(title);
    shares.forEach((share, i) => {
      if (share <= 0) return;
      const bar = document.createElementNS(svgNs, "rect");
      bar.setAttribute("x", i);
      bar.setAttribute("width", 0.85);
      bar.setAttribute("y", 20 - 20 * share);
      bar.setAttribute("height", 20 * share);
      svg.append(bar);
    });
    return svg;
  }

  async function saveTenant(event, id) {
    event.preventDefault();
    const tenant = tenants.find((t) => t.config.id === id);
    const changes = {};
    for (const [field, words] of settingFields) {
      const input = document.getElementById("tenant-form-" + id + "-" + field);
      const text = input.value.trim();
      if (field === "weight" && text === "") return showError("The weight of " + id + " cannot be empty.");
      const value = text === "" ? null : Number(text);
      if (value !== null && !Number.isFinite(value)) return showError(words + " of " + id + " must be a number.");
      if (value !== (tenant?.config[field] ?? null)) changes[field] = value;
    }
    if (Object.keys(changes).length === 0) return say("Nothing changed for " + id + ".");
    try {
      await act("Saved " + id + "'s settings.", "tenants/" + encodeURIComponent(id), { method: "PUT", json: changes });
      for (const input of document.querySelectorAll('input[form="tenant-form-' + CSS.escape(id) + '"]')) delete input.dataset.dirty;
      loadTenants();
    } catch (err) {
      showError(err);
    }
  }

  // ---- failed, finished, errors ----

  const loadProblems = coalesce(async () => {
    const { jobs } = await api("jobs", { query: { state: "dead,failed", limit: 50 } });
    table("problems", jobs, (job) => job.id, (job) => el("tr", { dataset: { job: job.id } },
      idCell(job.id), el("td", { class: "tenant" }), el("td", {}, el("span", { class: "state" })),
      el("td", { class: "reason" }), el("td", { class: "finished" }),
      el("td", {}, actionButton("Retry", () => act("Job " + job.id + " waits again.", jobUrl(job.id) + "/retry").then(loadProblems),
        { class: "secondary retry", "aria-label": "Retry job " + job.id }))),
    (tr, job) => {
      tr.dataset.state = job.state;
      tr.querySelector(".tenant").textContent = job.tenant;
      tr.querySelector(".state").textContent = comfyq.stateWords[job.state];
      tr.querySelector(".reason").textContent = job.reason || "";
      tr.querySelector(".finished").textContent = comfyq.time(job.finished_at_ms);
    });
    count("problems", jobs.length);
  });

  const loadFinished = coalesce(async () => {
    const { jobs } = await api("jobs", { query: { state: "succeeded,failed,cancelled,dead", limit: 20 } });
    table("finished", jobs, (job) => job.id, (job) => el("tr", { dataset: { job: job.id } },
      idCell(job.id), el("td"), el("td", {}, el("span", { class: "state" })), el("td"), el("td", { class: "number" }), el("td")),
    (tr, job) => {
      tr.dataset.state = job.state;
      tr.cells[1].textContent = job.tenant;
      tr.querySelector(".state").textContent = comfyq.stateWords[job.state];
      tr.cells[3].textContent = comfyq.time(job.finished_at_ms);
      tr.cells[4].textContent = job.started_at_ms ? comfyq.duration(job.finished_at_ms - job.started_at_ms) : "";
      const outputs = (job.outputs || []).length;
      tr.cells[5].textContent = job.state === "succeeded" ? (outputs === 1 ? "1 output" : outputs + " outputs") : job.reason || "";
    });
  });

  const errorWords = { job_failed: "job failed", job_dead: "job gave up", job_requeued: "job back in the queue",
    comfyui_down: "ComfyUI down", worker_gone: "worker gone" };

  const loadErrors = coalesce(async () => {
    const errors = (await api("errors")).errors.slice(0, 50);
    table("errors", errors, (e) => [e.at_ms, e.kind, e.job, e.worker].join("|"),
      (e) => el("tr", { dataset: { kind: e.kind } },
        el("td", {}, comfyq.time(e.at_ms)), el("td", { class: "kind" }, errorWords[e.kind] || e.kind),
        el("td", {}, e.tenant || ""), idCell(e.job), el("td", {}, e.worker || ""), el("td", { class: "reason" }, e.reason || "")),
      () => {});
  });

  // ---- live events ----

  const loaders = { queue: loadQueue, running: loadRunning, workers: loadWorkers, tenants: loadTenants, usage: loadUsage,
    problems: loadProblems, finished: loadFinished, errors: loadErrors };
  const ending = ["queue", "running", "finished", "usage", "tenants"];
  const reloadOn = {
    submitted: ["queue", "tenants"],
    leased: ["queue", "running", "tenants", "workers"],
    requeued: [...ending, "errors"],
    succeeded: ending,
    cancelled: ending,
    failed: [...ending, "problems", "errors"],
    dead: [...ending, "problems", "errors"],
    cancel_requested: ["running"],
    priority_changed: ["queue"],
    retried: ["queue", "problems", "tenants"],
    tenant_changed: ["queue", "tenants"],
    queue_changed: ["queue"],
    worker_changed: ["workers", "errors"],
    worker_removed: ["workers", "errors"],
    drain_changed: ["workers"],
  };

  function onEvent(event) {
    if (event.type === "progress") {
      const data = event.data || {};
      const tr = byKey("#running tr")(event.job);
      const progress = comfyq.nextProgress(progressOf.get(event.job), data);
      progressOf.set(event.job, progress);
      if (tr) comfyq.showProgress(tr, progress);
      else loadRunning();
      return;
    }
    if (event.type === "position_changed") {
      // A new expected start is shown at once; a job put on hold, or back in line, moves rows.
      const tr = byKey("#queue tr")(event.job);
      const job = forecast.find((j) => j.job === event.job);
      if (!job || !tr || job.held || typeof event.data?.position !== "number") return loadQueue();
      job.eta_ms = event.data.eta_ms;
      tr.dataset.etaMs = job.eta_ms ?? "";
      tr.querySelector(".eta").textContent = comfyq.startsIn(job.eta_ms);
      return;
    }
    if (event.type === "queue_changed" && queueInfo) {
      Object.assign(queueInfo, event.data);
      renderQueueInfo();
    }
    if (event.type === "leased" && event.worker) workerOf.set(event.job, event.worker);
    if (["succeeded", "failed", "cancelled", "dead", "requeued"].includes(event.type)) progressOf.delete(event.job);
    for (const part of reloadOn[event.type] || []) loaders[part]();
  }

  function loadAll() {
    for (const load of Object.values(loaders)) load();
  }

  function start() {
    $("queue-filter").addEventListener("change", () => renderForecast(forecast));
    $("queue-toggle").addEventListener("click", async () => {
      const paused = queueInfo && queueInfo.paused;
      try {
        await act(paused ? "The queue is running again." : "The queue is paused: jobs are accepted, none starts.",
          paused ? "queue/resume" : "queue/pause");
        loadQueue();
      } catch (err) {
        showError(err);
      }
    });
    settings.forEach(switchSetting);
    follow(Object.keys(reloadOn).concat(["progress", "position_changed"]), onEvent, {
      onGap: loadAll,
      onState: (state) => {
        comfyq.showStreamState(state);
        if (state === "live") loadAll(); // anything missed while (re)connecting
      },
    });
    // A worker that stops heartbeating makes no event: its state is only seen by asking. The
    // workers, and the errors that list it as gone, are what the dashboard re-reads on a timer;
    // everything else follows the events.
    setInterval(() => {
      loadWorkers();
      loadErrors();
    }, 10000);
    // Expected starts count down between events; this re-words them and asks the server nothing.
    setInterval(() => {
      for (const tr of $("queue").querySelectorAll('tr[data-held="no"]')) {
        tr.querySelector(".eta").textContent = comfyq.startsIn(tr.dataset.etaMs === "" ? undefined : Number(tr.dataset.etaMs));
      }
    }, 15000);
  }

  start();
})();
