// A participant's page, /user/<name>/: their jobs with their place in the queue and live
// progress, their outputs, queueing a workflow file and uploading input files. An admin may
// open anyone's page: it then shows that participant's jobs and outputs, without the forms.
"use strict";

(() => {
  const { api, el, follow, coalesce, syncChildren, actionButton, showError, clearError, say } = comfyq;
  const name = comfyq.here.user;
  const jobs = new Map(); // id → the job as the API shows it, its progress as the events tell it
  // id → the latest position_changed data ({position, queued, eta_ms}): every move of a waiting
  // job is an event, so this is never older than what the API said; it may come before the job.
  // A position of null: the job waits on but cannot start (its participant or the queue paused).
  const places = new Map();
  const galleryJobs = new Map(); // id → succeeded job with outputs
  let tenantQuery = {}; // {tenant: name} when the viewer is an admin
  let galleryNext = null;

  const $ = (id) => document.getElementById(id);
  const isActive = (job) => job.state === "queued" || job.state === "running";
  const jobUrl = (id) => "jobs/" + encodeURIComponent(id);

  // ---- the job list ----

  // A queued job without a position is on hold; the page cannot tell whose pause holds it.
  const placeOf = (job) => places.get(job.id) || job;
  const onHold = (job) => typeof placeOf(job).position !== "number";

  function positionText(job) {
    const place = placeOf(job);
    if (onHold(job)) return "On hold: the queue is paused, or your jobs are; it keeps its place and starts when they resume";
    const of = typeof place.queued === "number" ? " of " + place.queued : "";
    return "Position " + place.position + of + ", " + comfyq.startsIn(place.eta_ms);
  }

  function buildJob(job) {
    const id = job.id;
    return el("li", { dataset: { job: id } },
      el("div", {},
        el("div", {}, "Job ", el("code", { class: "id" }, id)),
        el("div", { class: "muted submitted" })),
      el("div", {},
        el("div", {}, el("span", { class: "state" })),
        el("div", { class: "position", "aria-live": "polite" }),
        el("div", { class: "running" }, comfyq.progressParts(id)),
        el("div", { class: "reason" }),
        el("div", { class: "outputs" })),
      el("div", { class: "actions" },
        actionButton("Cancel", () => cancel(id), { class: "danger cancel", "aria-label": "Cancel job " + id })));
  }

  function updateJob(li, job) {
    if (li.dataset.state !== "running" && job.state === "running") li.querySelector("progress").removeAttribute("value");
    li.dataset.state = job.state;
    li.querySelector(".state").textContent = comfyq.stateWords[job.state] || job.state;
    li.querySelector(".submitted").textContent = "submitted " + comfyq.time(job.submitted_at_ms);
    const position = li.querySelector(".position");
    position.hidden = job.state !== "queued";
    position.textContent = job.state === "queued" ? positionText(job) : "";
    position.classList.toggle("held", job.state === "queued" && onHold(job));
    const running = li.querySelector(".running");
    running.hidden = job.state !== "running";
    if (job.state === "running") comfyq.showProgress(running, job.progress, "Running ");
    const reason = li.querySelector(".reason");
    reason.textContent = job.reason && job.state !== "succeeded" ? job.reason : "";
    reason.hidden = !reason.textContent;
    const outputs = li.querySelector(".outputs");
    outputs.replaceChildren();
    if (job.state === "succeeded") {
      const count = (job.outputs || []).length;
      outputs.append(count
        ? el("a", { href: "#gallery-" + job.id }, count === 1 ? "1 output" : count + " outputs")
        : el("span", { class: "muted" }, "no outputs"));
    }
    li.querySelector(".cancel").hidden = !isActive(job);
  }

  function jobOrder(a, b) {
    const rank = (job) => (job.state === "running" ? 0 : job.state === "queued" ? 1 : 2);
    if (rank(a) !== rank(b)) return rank(a) - rank(b);
    const position = (job) => placeOf(job).position || 1e9;
    if (a.state === "queued" && position(a) !== position(b)) return position(a) - position(b);
    return (b.submitted_at_ms || 0) - (a.submitted_at_ms || 0);
  }

  function renderJobs() {
    const list = Array.from(jobs.values()).sort(jobOrder).slice(0, 60);
    syncChildren($("jobs"), list, (job) => job.id, buildJob, updateJob);
    $("jobs-empty").hidden = list.length > 0;
    const waiting = list.filter((job) => job.state === "queued").length;
    const running = list.filter((job) => job.state === "running").length;
    $("jobs-count").textContent = waiting || running ? "(" + waiting + " waiting, " + running + " running)" : "";
  }

  function renderOneJob(id) {
    const li = $("jobs").querySelector('[data-job="' + CSS.escape(id) + '"]');
    if (li && jobs.has(id) && li.dataset.state === jobs.get(id).state) updateJob(li, jobs.get(id));
    else renderJobs();
  }

  // A job as the API shows it now, keeping the preview of its run that only events tell.
  function remember(fresh) {
    const old = jobs.get(fresh.id);
    const job = { ...fresh };
    if (fresh.state !== "queued" || typeof fresh.position !== "number") places.delete(fresh.id); // started, or on hold
    const sameRun = old && old.state === "running" && fresh.state === "running" && old.attempt === fresh.attempt;
    const last = sameRun ? old.progress : undefined;
    job.progress = fresh.progress ? comfyq.nextProgress(last, fresh.progress) : last;
    jobs.set(job.id, job);
    if (job.state === "succeeded") addToGallery(job);
    return job;
  }

  async function refreshJob(id) {
    try {
      remember(await api(jobUrl(id)));
    } catch (err) {
      if (err.status === 404) jobs.delete(id);
      else showError(err);
    }
    renderJobs();
  }

  // For events that only refine a job (progress, places): one read at a time per job is enough.
  const reading = new Set();
  function refreshOnce(id) {
    if (reading.has(id)) return;
    reading.add(id);
    refreshJob(id).finally(() => reading.delete(id));
  }

  async function cancel(id) {
    clearError();
    await api(jobUrl(id) + "/cancel", { method: "POST" });
    say("Cancelling job " + id + "…");
    await refreshJob(id);
  }

  // ---- the gallery ----

  function outputUrl(job, output) {
    return comfyq.apiUrl(jobUrl(job.id) + "/outputs/" + comfyq.encodePath(output.name));
  }

  function buildOutput(job, output) {
    const url = outputUrl(job, output);
    const type = output.media_type || "";
    let media;
    if (type.startsWith("image/")) media = el("img", { src: url, alt: output.name + " from job " + job.id, loading: "lazy" });
    else if (type.startsWith("video/")) media = el("video", { src: url, controls: true, preload: "metadata", "aria-label": output.name });
    else if (type.startsWith("audio/")) media = el("audio", { src: url, controls: true, preload: "metadata", "aria-label": output.name });
    return el("figure", { dataset: { output: output.name } },
      media,
      el("figcaption", {},
        el("a", { href: url, download: output.name.split("/").pop(), class: "download" }, output.name),
        " ", el("span", { class: "muted" }, comfyq.bytes(output.size))));
  }

  function buildGalleryJob(job) {
    return el("article", { id: "gallery-" + job.id, dataset: { galleryJob: job.id } },
      el("h3", {}, "Job ", el("code", { class: "id" }, job.id), " · ", comfyq.time(job.finished_at_ms)),
      (job.outputs || []).map((output) => buildOutput(job, output)),
      el("a", { href: comfyq.apiUrl(jobUrl(job.id) + "/outputs.zip"), download: job.id + ".zip" },
        "Download this job's outputs (zip)"));
  }

  function addToGallery(job) {
    if ((job.outputs || []).length === 0 || galleryJobs.has(job.id)) return;
    galleryJobs.set(job.id, job);
    renderGallery();
  }

  function renderGallery() {
    const list = Array.from(galleryJobs.values()).sort((a, b) => (b.finished_at_ms || 0) - (a.finished_at_ms || 0));
    syncChildren($("gallery"), list, (job) => job.id, buildGalleryJob, () => {});
    $("gallery-empty").hidden = list.length > 0;
    $("all-outputs").hidden = list.length === 0;
  }

  async function loadGallery(after) {
    const page = await api("jobs", { query: { state: "succeeded", limit: 20, after, ...tenantQuery } });
    for (const job of page.jobs) addToGallery(job);
    galleryNext = page.next;
    $("gallery-more").hidden = !galleryNext;
    renderGallery();
  }

  // ---- queueing a workflow, uploading inputs ----

  async function submitWorkflow(event) {
    event.preventDefault();
    clearError();
    const file = $("workflow-file").files[0];
    if (!file) return showError("Choose a workflow file first.");
    let workflow;
    try {
      workflow = JSON.parse(await file.text());
    } catch (err) {
      return showError(file.name + " is not a JSON file (" + err.message + "). Choose a workflow saved with Workflow → Export (API) in ComfyUI.");
    }
    if (workflow && Array.isArray(workflow.nodes) && Array.isArray(workflow.links)) {
      return showError(file.name + " is a workflow in ComfyUI's UI format, which cannot run here. In ComfyUI, use Workflow → Export (API) and choose that file.");
    }
    if (!workflow || typeof workflow !== "object" || Array.isArray(workflow)) {
      return showError(file.name + " does not hold a workflow: an API-format workflow is a JSON object of nodes.");
    }
    try {
      const priority = !$("priority-choice").hidden && $("workflow-priority").checked;
      const job = remember(await api("jobs", { method: "POST", json: priority ? { workflow, priority } : { workflow } }));
      renderJobs();
      say("Queued " + file.name + " as job " + job.id + ".");
      $("submit-form").reset();
    } catch (err) {
      showError(err);
    }
  }

  async function uploadInputs(event) {
    event.preventDefault();
    clearError();
    const files = Array.from($("input-files").files);
    try {
      for (const file of files) {
        say("Uploading " + file.name + "…");
        await api("inputs/" + comfyq.encodePath(file.name), {
          method: "PUT", body: file, headers: { "Content-Type": file.type || "application/octet-stream" },
        });
        say("Uploaded " + file.name + " (" + comfyq.bytes(file.size) + ").");
      }
      $("upload-form").reset();
    } catch (err) {
      say("");
      showError(err);
    }
    await loadInputs();
  }

  async function loadInputs() {
    const { inputs } = await api("inputs");
    syncChildren($("inputs"), inputs, (input) => input.path,
      () => el("tr", {}, el("td", {}, el("code")), el("td", { class: "number" }), el("td")),
      (tr, input) => {
        tr.cells[0].firstChild.textContent = input.path;
        tr.cells[1].textContent = comfyq.bytes(input.size);
        tr.cells[2].textContent = comfyq.time(input.modified_ms);
      });
    $("inputs-empty").hidden = inputs.length > 0;
    $("inputs-table").hidden = inputs.length === 0;
  }

  // ---- live events ----

  function onEvent(event) {
    if (event.tenant !== name || !event.job) return;
    const job = jobs.get(event.job);
    const data = event.data || {};
    switch (event.type) {
      case "position_changed":
        places.set(event.job, { position: data.position, queued: data.queued, eta_ms: data.eta_ms });
        if (!job || job.state !== "queued") return refreshOnce(event.job);
        return renderOneJob(job.id);
      case "progress":
        if (!job || job.state !== "running") return refreshOnce(event.job);
        job.progress = comfyq.nextProgress(job.progress, data);
        return renderOneJob(job.id);
      default: // submitted, leased, requeued, succeeded, failed, cancelled, dead, retried, ...
        return refreshJob(event.job);
    }
  }

  const loadAll = coalesce(async () => {
    try {
      const page = await api("jobs", { query: { limit: 50, ...tenantQuery } });
      for (const job of page.jobs) remember(job);
      renderJobs();
      await loadGallery();
    } catch (err) {
      showError(err);
    }
  });

  // Where the participant's ComfyUI is, or how the instructor enables it.
  function showComfyUI(enabled) {
    const note = $("comfyui-note");
    const address = location.origin + comfyq.here.base + "user/" + encodeURIComponent(name) + "/";
    note.replaceChildren(...(enabled
      ? ["ComfyUI: ", el("a", { href: address }, "open your ComfyUI"), ", where your jobs run through this same queue."]
      : ["ComfyUI's own web UI is not enabled on this server (the instructor enables it with ",
        el("code", {}, "comfyq-server serve --comfyui-frontend <folder>"), "). ComfyUI API clients work already: point them at ",
        el("code", {}, address), " with your user and password."]));
    note.hidden = false;
  }

  async function start() {
    $("heading").textContent = name;
    document.title = name + " · comfyq";
    $("all-outputs").href = comfyq.apiUrl("outputs.zip", tenantQuery);
    let me;
    try {
      me = await api("me");
    } catch (err) {
      return showError(err);
    }
    const own = me.user === name;
    showComfyUI(me.comfyui_ui);
    if (me.admin) {
      tenantQuery = { tenant: name };
      $("all-outputs").href = comfyq.apiUrl("outputs.zip", tenantQuery);
    }
    if (!own) {
      $("heading").textContent = name + " (viewed by " + me.user + ")";
      for (const node of document.querySelectorAll("[data-own]")) node.hidden = true;
    } else {
      $("priority-choice").hidden = !me.admin;  // only an admin may queue in the priority lane
      $("submit-form").addEventListener("submit", submitWorkflow);
      $("upload-form").addEventListener("submit", uploadInputs);
      loadInputs().catch(showError);
    }
    $("gallery-more").addEventListener("click", () => loadGallery(galleryNext).catch(showError));
    // Every (re)connection reloads the lists, so nothing that happened while offline is missed;
    // the stream itself then sends each waiting job's current place.
    follow(["position_changed", "progress", "submitted", "leased", "requeued", "succeeded", "failed",
      "cancelled", "dead", "priority_changed", "retried", "cancel_requested"], onEvent, {
      onGap: loadAll,
      onState: (state) => {
        comfyq.showStreamState(state);
        if (state === "live") loadAll();
      },
    });
    // Expected starts count down between events; this only re-words them, it asks the server nothing.
    setInterval(() => {
      for (const li of $("jobs").querySelectorAll('li[data-state="queued"]')) {
        const job = jobs.get(li.dataset.job);
        if (job) li.querySelector(".position").textContent = positionText(job);
      }
    }, 15000);
  }

  start();
})();
