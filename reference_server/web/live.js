// Shared by comfyq's pages: where the site is, calling the JSON API, following the live event
// stream, building DOM from data (never as HTML), and saying times and sizes in words.
"use strict";

const comfyq = (() => {
  // The site may live under a prefix (nginx); the pages are <base>admin/ and <base>user/<name>/,
  // or <base>user/<name>/comfyq/ where ComfyUI's web UI has <base>user/<name>/.
  function whereAmI(pathname) {
    const user = /^(.*\/)user\/([^/]+)\/(?:comfyq\/)?[^/]*$/.exec(pathname);
    if (user) return { base: user[1], page: "user", user: decodeURIComponent(user[2]) };
    const admin = /^(.*\/)admin\/[^/]*$/.exec(pathname);
    if (admin) return { base: admin[1], page: "admin", user: null };
    return { base: "/", page: null, user: null };
  }
  const here = whereAmI(location.pathname);

  // Each path segment encoded on its own: output and input names may hold folders.
  function encodePath(path) {
    return String(path).split("/").map(encodeURIComponent).join("/");
  }

  function apiUrl(path, query) {
    let url = here.base + "api/v1/" + path;
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null && value !== "") params.set(key, value);
    }
    const text = params.toString();
    return text ? url + "?" + text : url;
  }

  class ApiError extends Error {
    constructor(message, status, code, field) {
      super(message);
      this.status = status;
      this.code = code;
      this.field = field;
    }
  }

  // fetch for the JSON API: resolves to the answer's JSON, rejects with an ApiError whose
  // message is the server's own ({"error": {"code", "message", "field"}}).
  async function api(path, { method = "GET", query, json, body, headers = {} } = {}) {
    const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] = "application/json";
    } else if (body !== undefined) {
      init.body = body;
    }
    let response;
    try {
      response = await fetch(apiUrl(path, query), init);
    } catch (err) {
      throw new ApiError("The server cannot be reached (" + err.message + "). Check the network, then try again.", 0, "network");
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = null;
    }
    if (!response.ok) {
      const error = data && data.error;
      if (error && error.message) throw new ApiError(error.message, response.status, error.code, error.field);
      throw new ApiError("The server answered " + response.status + " " + response.statusText + ".", response.status, "http");
    }
    return data;
  }

  // The event stream. EventSource reconnects by itself (sending Last-Event-ID) after a dropped
  // connection; when it gives up (the server answered an error, or restarted), a new one is
  // opened after a pause, resuming with ?after=<last id>. `handlers` maps event types to
  // functions of the event's JSON; "gap" means events were lost: reload what the page shows.
  function follow(types, handler, { onGap, onState } = {}) {
    let source = null;
    let lastId = "";
    let retryMs = 1000;
    const say = (state) => onState && onState(state);
    function open() {
      source = new EventSource(apiUrl("events", { after: lastId }));
      say("connecting");
      source.addEventListener("open", () => {
        retryMs = 1000;
        say("live");
      });
      source.addEventListener("error", () => {
        if (source.readyState === EventSource.CLOSED) {
          say("offline");
          setTimeout(open, retryMs);
          retryMs = Math.min(retryMs * 2, 30000);
        } else {
          say("connecting");
        }
      });
      source.addEventListener("gap", () => onGap && onGap());
      for (const type of types) {
        source.addEventListener(type, (message) => {
          if (message.lastEventId) lastId = message.lastEventId;
          let event;
          try {
            event = JSON.parse(message.data);
          } catch {
            return;
          }
          if (type === "position_changed") clock.observe(event.at_ms);
          handler(event);
        });
      }
    }
    open();
    return { close: () => source && source.close() };
  }

  // The server's clock as this browser sees it: expected starts are the server's epoch ms.
  // position_changed events are never replayed, so their at_ms is "now" on the server.
  const clock = {
    skewMs: 0,
    observe(atMs) {
      if (typeof atMs === "number") this.skewMs = atMs - Date.now();
    },
    now() {
      return Date.now() + this.skewMs;
    },
  };

  // Runs `task` at most once per `ms`, never two at a time; calls while one waits or runs
  // collapse into one more run afterwards. A failure is shown in the alert area.
  function coalesce(task, ms = 500) {
    let last = 0;
    let timer = null;
    let running = false;
    let again = false;
    async function run() {
      timer = null;
      if (running) {
        again = true;
        return;
      }
      running = true;
      last = Date.now();
      try {
        await task();
      } catch (err) {
        showError(err);
      } finally {
        running = false;
        if (again) {
          again = false;
          schedule();
        }
      }
    }
    function schedule() {
      if (timer) return;
      timer = setTimeout(run, Math.max(0, last + ms - Date.now()));
    }
    return schedule;
  }

  // el("p", {class: "x", dataset: {job: id}, onclick: f}, "text", child...): text is always text.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key in node && typeof value !== "string") node[key] = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Makes `parent`'s children match `items` in order, keyed by keyOf(item): existing nodes are
  // updated in place (and not moved when already in place), so focus and typing survive.
  function syncChildren(parent, items, keyOf, create, update) {
    const existing = new Map();
    for (const child of Array.from(parent.children)) existing.set(child.dataset.key, child);
    items.forEach((item, index) => {
      const key = keyOf(item);
      let node = existing.get(key);
      if (node) existing.delete(key);
      else {
        node = create(item);
        node.dataset.key = key;
      }
      update(node, item);
      if (parent.children[index] !== node) parent.insertBefore(node, parent.children[index] || null);
    });
    for (const node of existing.values()) node.remove();
  }

  // A button that disables itself while its action runs and reports a failure in the alert area.
  function actionButton(label, action, attrs = {}) {
    const button = el("button", { type: "button", ...attrs }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await action();
      } catch (err) {
        showError(err);
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  // The page's alert area (role="alert") and its polite status line (role="status").
  function showError(err) {
    const box = document.getElementById("alert");
    box.textContent = err && err.message ? err.message : String(err);
    box.hidden = false;
  }
  function clearError() {
    const box = document.getElementById("alert");
    box.textContent = "";
    box.hidden = true;
  }
  let sayTimer = null;
  function say(message) {
    document.getElementById("status").textContent = message;
    clearTimeout(sayTimer);
    sayTimer = setTimeout(() => { document.getElementById("status").textContent = ""; }, 10000);
  }

  function aboutDuration(ms) {
    const minutes = Math.round(ms / 60000);
    if (ms < 45000) return "less than a minute";
    if (minutes < 60) return "about " + Math.max(1, minutes) + " min";
    const hours = Math.floor(minutes / 60);
    const rest = minutes % 60;
    return "about " + hours + " h" + (rest ? " " + rest + " min" : "");
  }

  // "about 4 min" until an expected start; "waiting for a GPU worker" when there is none.
  function startsIn(etaMs) {
    if (typeof etaMs !== "number") return "waiting for a GPU worker";
    const ms = etaMs - clock.now();
    return ms <= 0 ? "starting any moment" : aboutDuration(ms);
  }

  // A measured length of time: "45 s", "12 min 5 s", "1 h 05 min".
  function duration(ms) {
    const seconds = Math.round(Math.max(0, ms || 0) / 1000);
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min" + (seconds % 60 ? " " + (seconds % 60) + " s" : "");
    return Math.floor(minutes / 60) + " h " + String(minutes % 60).padStart(2, "0") + " min";
  }

  function bytes(n) {
    if (typeof n !== "number") return "";
    const units = ["bytes", "kB", "MB", "GB", "TB"];
    let value = n;
    let unit = 0;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return (unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)) + " " + units[unit];
  }

  function time(ms) {
    if (typeof ms !== "number") return "";
    const date = new Date(ms);
    const sameDay = date.toDateString() === new Date().toDateString();
    const clockText = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    return sameDay ? clockText : date.toLocaleDateString() + " " + clockText;
  }

  function percent(share) {
    return typeof share === "number" ? Math.round(share * 100) + "%" : "";
  }

  // Words for a job's state, as both pages show it.
  const stateWords = {
    queued: "waiting",
    running: "running",
    succeeded: "done",
    failed: "failed",
    cancelled: "cancelled",
    dead: "gave up",
  };

  // A preview from a progress event, only as an image of a known kind.
  function previewSource(preview) {
    if (!preview || typeof preview.base64 !== "string") return null;
    if (!/^image\/(png|jpeg|webp|gif)$/.test(preview.media_type)) return null;
    return "data:" + preview.media_type + ";base64," + preview.base64;
  }

  // A running job's progress after a progress event: the steps of the node that reports them
  // (a preview comes in an event of its own, for the same node) and the latest preview, kept
  // until the next; a node that starts without steps says no step.
  function nextProgress(previous, data) {
    const last = previous || {};
    const steps = typeof data.value === "number" && typeof data.max === "number";
    const same = !steps && data.node === last.node;
    return {
      node: data.node,
      value: steps ? data.value : same ? last.value : undefined,
      max: steps ? data.max : same ? last.max : undefined,
      preview: previewSource(data.preview) || last.preview,
    };
  }

  // The label, bar and preview of a running job (both pages), and showing its progress in them:
  // the bar stays where the last steps left it while a node without steps runs.
  function progressParts(id) {
    return [
      el("label", { class: "node", for: "progress-" + id }),
      el("progress", { class: "progress", id: "progress-" + id }),
      el("img", { class: "preview", alt: "Preview of job " + id, hidden: true }),
    ];
  }
  function showProgress(parent, progress, prefix = "") {
    const p = progress || {};
    const bar = parent.querySelector("progress");
    const steps = typeof p.value === "number" && typeof p.max === "number" && p.max > 0;
    if (steps) {
      bar.max = p.max;
      bar.value = p.value;
    }
    parent.querySelector(".node").textContent = p.node === undefined ? "Starting…"
      : prefix + "node " + p.node + (steps ? ": step " + p.value + " of " + p.max : "");
    const preview = parent.querySelector(".preview");
    if (p.preview && preview.getAttribute("src") !== p.preview) preview.src = p.preview;
    preview.hidden = !p.preview;
  }

  // The live indicator in the header: "Live", "Reconnecting…".
  function showStreamState(state) {
    const node = document.getElementById("live");
    if (!node) return;
    const words = { live: "Live", connecting: "Connecting…", offline: "Offline: reconnecting…" };
    node.textContent = words[state] || state;
    node.dataset.state = state;
  }

  return {
    here, whereAmI, apiUrl, encodePath, api, ApiError, follow, clock, coalesce, el, syncChildren,
    actionButton, showError, clearError, say, aboutDuration, startsIn, duration, bytes, time, percent,
    stateWords, previewSource, nextProgress, progressParts, showProgress, showStreamState,
  };
})();
