// comfyq's extension for ComfyUI's web UI (served at <participant>/extensions/comfyq/): while a
// job of the participant's waits for a GPU, a small badge shows its place in the fair queue
// ("Waiting: position 3 of 8, about 4 min"), from the comfyq_queue_position messages of the
// WebSocket. It changes nothing else in the UI. Plain JavaScript, no build step.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";

const waiting = new Map(); // prompt_id → {position, queued, startsAt}

function aboutDuration(ms) {
  const minutes = Math.round(ms / 60000);
  if (ms < 45000) return "less than a minute";
  if (minutes < 60) return "about " + Math.max(1, minutes) + " min";
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return "about " + hours + " h" + (rest ? " " + rest + " min" : "");
}

function describe(place) {
  if (typeof place.position !== "number") return "On hold: the queue or your jobs are paused";
  let text = "Waiting: position " + place.position + " of " + place.queued;
  if (typeof place.startsAt === "number") text += ", " + aboutDuration(Math.max(0, place.startsAt - Date.now()));
  return text;
}

function badge() {
  let el = document.getElementById("comfyq-queue-position");
  if (!el) {
    el = document.createElement("div");
    el.id = "comfyq-queue-position";
    el.setAttribute("role", "status");
    Object.assign(el.style, {
      position: "fixed", right: "12px", bottom: "12px", zIndex: 10000, padding: "6px 10px",
      borderRadius: "6px", background: "rgba(20, 20, 20, 0.85)", color: "#fff", font: "13px sans-serif",
      pointerEvents: "none",
    });
    document.body.appendChild(el);
  }
  return el;
}

// The job that starts first is the one worth showing; the others wait behind it.
function render() {
  const places = [...waiting.values()];
  const el = badge();
  if (places.length === 0) {
    el.hidden = true;
    return;
  }
  places.sort((a, b) => (a.position ?? Infinity) - (b.position ?? Infinity));
  el.textContent = describe(places[0]) + (places.length > 1 ? " (" + places.length + " jobs waiting)" : "");
  el.hidden = false;
}

app.registerExtension({
  name: "comfyq.QueuePosition",
  setup() {
    api.addEventListener("comfyq_queue_position", ({ detail }) => {
      const startsAt = typeof detail.starts_in_ms === "number" ? Date.now() + detail.starts_in_ms : null;
      waiting.set(detail.prompt_id, { position: detail.position, queued: detail.queued, startsAt });
      render();
    });
    // A job that starts, or ends without starting, waits no more.
    const done = ({ detail }) => {
      if (detail && waiting.delete(detail.prompt_id)) render();
    };
    api.addEventListener("execution_start", done);
    api.addEventListener("executing", ({ detail }) => {
      if (detail && detail.node === null) done({ detail });
    });
    setInterval(render, 30000); // "about N min" counts down between messages
  },
});
