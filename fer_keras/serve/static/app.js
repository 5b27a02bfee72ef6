// The page of `fer-keras serve`: no framework, no build step, nothing from another origin.
// Every string the page shows goes through textContent (never parsed as HTML), so a class name,
// a file name or an error message from anywhere is shown as text, never run as markup.
"use strict";

const $ = (id) => document.getElementById(id);
const state = {blob: null, name: "", result: null, token: 0, limits: null, methods: []};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function pct(p) { return (100 * p).toFixed(1) + "%"; }

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
  $("status").textContent = "";
}

function clearError() { $("error").hidden = true; $("error").textContent = ""; }

async function errorOf(response) {
  // the server's {"error": "..."}; anything else (a proxy's HTML page) as its status line
  try {
    const body = await response.json();
    if (body && typeof body.error === "string") return body.error;
  } catch (e) { /* not JSON */ }
  return `HTTP ${response.status} ${response.statusText}`;
}

// ------------------------------------------------------------------ the model
async function loadModel() {
  try {
    const r = await fetch("/v1/model");
    if (!r.ok) throw new Error(await errorOf(r));
    const m = await r.json();
    state.limits = m.limits || null;
    state.methods = Array.isArray(m.methods) ? m.methods : [];
    let text = `model: ${m.name} (${Number(m.parameters).toLocaleString()} parameters, ` +
      `input ${m.contract.height}x${m.contract.width}x${m.contract.channels})`;
    if (m.checks) text += `; explanation checks stored (${m.checks.source})`;
    $("model").textContent = text;
    const select = $("method");
    select.replaceChildren();
    for (const name of state.methods) {
      const o = el("option", null, name);
      o.value = name;
      select.appendChild(o);
    }
  } catch (e) {
    showError(`cannot reach the model: ${e.message}`);
  }
}

// ------------------------------------------------------------------ a photo in
async function analyse(blob, name) {
  clearError();
  const token = ++state.token;
  if (state.limits && blob.size > state.limits.max_upload_bytes) {
    showError(`${name}: ${blob.size.toLocaleString()} bytes is more than this server takes ` +
      `(${state.limits.max_upload_bytes.toLocaleString()} bytes)`);
    return;
  }
  $("status").textContent = `finding the faces in ${name}\u2026`;
  let r;
  try {
    r = await fetch("/v1/faces", {method: "POST", body: blob,
      headers: {"Content-Type": blob.type || "application/octet-stream"}});
  } catch (e) {
    if (token === state.token) showError(`${name}: the server did not answer (${e.message})`);
    return;
  }
  if (token !== state.token) return;  // a newer photo was chosen meanwhile
  if (!r.ok) {
    showError(`${name}: ${await errorOf(r)}`);
    $("result").hidden = true;
    return;
  }
  const result = await r.json();
  if (token !== state.token) return;
  state.blob = blob;
  state.name = name;
  state.result = result;
  await showPhoto(blob);
  render(result);
  const n = result.faces.length;
  $("status").textContent = n ? `${n} face${n === 1 ? "" : "s"} in ${name}`
    : `no face found in ${name}`;
  if ($("explain-toggle").checked) explainAll();
}

function showPhoto(blob) {
  return new Promise((resolve) => {
    const img = $("photo");
    if (img.dataset.url) URL.revokeObjectURL(img.dataset.url);
    const url = URL.createObjectURL(blob);
    img.dataset.url = url;
    img.onload = () => resolve(true);
    img.onerror = () => {
      $("status").textContent = "this browser cannot show the photo itself";
      resolve(false);
    };
    img.src = url;
    $("result").hidden = false;
  });
}

// ------------------------------------------------------------------ drawing the answer
function render(result) {
  const W = result.image.width, H = result.image.height;
  const boxes = $("boxes"), cards = $("cards");
  boxes.replaceChildren();
  cards.replaceChildren();
  result.faces.forEach((face, i) => {
    const [x, y, w, h] = face.box;
    const top = face.scores[face.label];
    const b = el("div", "face-box");
    b.dataset.face = String(i);
    Object.assign(b.style, {left: `${100 * x / W}%`, top: `${100 * y / H}%`,
      width: `${100 * w / W}%`, height: `${100 * h / H}%`});
    b.appendChild(el("span", "face-label", `${i}: ${face.label} ${pct(top)}`));
    boxes.appendChild(b);

    const card = el("article", "face-card");
    card.dataset.face = String(i);
    card.appendChild(el("h3", "card-title", `face ${i}: ${face.label}`));
    const chart = el("div", "chart");
    chart.setAttribute("role", "img");
    chart.setAttribute("aria-label", `scores of face ${i}`);
    for (const [cls, p] of Object.entries(face.scores)) {
      const row = el("div", cls === face.label ? "bar-row top" : "bar-row");
      row.appendChild(el("span", "bar-name", cls));
      const track = el("span", "bar-track");
      const bar = el("span", "bar");
      bar.style.width = `${Math.max(0, Math.min(1, Number(p))) * 100}%`;
      track.appendChild(bar);
      row.appendChild(track);
      row.appendChild(el("span", "bar-value", pct(p)));
      chart.appendChild(row);
    }
    card.appendChild(chart);
    const extra = Object.entries(face).filter(([k]) => !["box", "scores", "label"].includes(k));
    if (extra.length) {
      card.appendChild(el("p", "muted extra", extra.map(([k, v]) =>
        `${k}: ${typeof v === "number" ? v.toFixed(3) : JSON.stringify(v)}`).join("; ")));
    }
    const fig = el("figure", "explanation");
    fig.hidden = true;
    const img = el("img", "overlay");
    img.alt = `explanation of face ${i}`;
    fig.appendChild(img);
    fig.appendChild(el("figcaption", "muted"));
    card.appendChild(fig);
    cards.appendChild(card);
  });
  placeLabels();
}

// ------------------------------------------------------------------ label placement
// Faces are numbered from 0, as in the API and the CLI. Each label is put touching its box
// (above, below, then to the right or left), inside the photo, off every face and every label
// placed before it, as fer_keras.faces.drawing.label_layout does for the annotated copies.
function overlapArea(a, b) {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

function labelCandidates(f, w, h, k) {
  const out = [];
  for (const y of [f.y0 - h - k * h, f.y1 + k * h]) {
    for (const x of [f.x0, f.x1 - w, (f.x0 + f.x1 - w) / 2]) out.push([x, y]);
  }
  for (const x of [f.x1 + k * w, f.x0 - w - k * w]) {
    for (const y of [f.y0, f.y1 - h, (f.y0 + f.y1 - h) / 2]) out.push([x, y]);
  }
  return out;
}

function placeLabels() {
  const area = $("boxes");
  const W = area.clientWidth, H = area.clientHeight;
  const boxes = [...area.querySelectorAll(".face-box")];
  const faces = boxes.map((b) => ({x0: b.offsetLeft, y0: b.offsetTop,
    x1: b.offsetLeft + b.offsetWidth, y1: b.offsetTop + b.offsetHeight}));
  const placed = [];
  boxes.forEach((b, i) => {
    const label = b.querySelector(".face-label");
    const w = Math.min(label.offsetWidth, W), h = Math.min(label.offsetHeight, H);
    let best = null, bestCost = Infinity;
    for (let k = 0; k < 4 && bestCost > 0; k++) {
      for (const [x, y] of labelCandidates(faces[i], w, h, k)) {
        const x0 = Math.min(Math.max(0, x), W - w), y0 = Math.min(Math.max(0, y), H - h);
        const r = {x0, y0, x1: x0 + w, y1: y0 + h};
        const cost = 4 * faces.reduce((s, f) => s + overlapArea(r, f), 0) +
          placed.reduce((s, q) => s + overlapArea(r, q), 0);
        if (cost < bestCost) { best = r; bestCost = cost; }
        if (cost === 0) break;
      }
    }
    placed.push(best);
    // the label's offset parent is its box's padding box, inside the box's border
    Object.assign(label.style, {left: `${best.x0 - faces[i].x0 - b.clientLeft}px`,
      top: `${best.y0 - faces[i].y0 - b.clientTop}px`, bottom: "auto"});
  });
}
window.addEventListener("resize", () => placeLabels());

// ------------------------------------------------------------------ explanations
const CHECK_NAMES = {sanity: "model randomisation", cascade: "cascading randomisation",
  deletion: "deletion", insertion: "insertion", road: "ROAD", ground_truth: "true parts"};

function describeVerdict(v, method) {
  if (!v) return `no explanation checks are stored for this model, so ${method} is unchecked here`;
  const n = v.images ? ` on ${v.images} images` : "";
  const total = Object.keys(v.checks).length;
  if (v.passed) return `${method} passed all ${total} explanation checks stored for this model${n}`;
  const failed = v.failed.map((c) => CHECK_NAMES[c] || c).join(", ");
  return `${method} failed ${v.failed.length} of the ${total} explanation checks stored for ` +
    `this model${n} (${failed}): read its map with care`;
}

function showVerdict(v, method) {
  $("verdict").textContent = describeVerdict(v, method);
  const list = $("verdict-reasons");
  list.replaceChildren();
  if (v) {
    for (const [check, e] of Object.entries(v.checks)) {
      list.appendChild(el("li", e.passed ? "pass" : "fail",
        `${e.passed ? "passed" : "failed"} ${CHECK_NAMES[check] || check}: ${e.reason}`));
    }
  }
  $("verdict-details").hidden = !v;
}

async function explainAll() {
  const result = state.result, blob = state.blob, token = state.token;
  if (!result || !result.faces.length) return;
  const method = $("method").value;
  $("photo-wrap").classList.add("explaining");
  document.querySelectorAll(".overlay-on-photo").forEach((e) => e.remove());
  $("verdict").textContent = `computing ${method}\u2026`;
  for (let i = 0; i < result.faces.length; i++) {
    const q = new URLSearchParams({face: String(i), method});
    let r;
    try {
      r = await fetch(`/v1/explain?${q}`, {method: "POST", body: blob,
        headers: {"Content-Type": blob.type || "application/octet-stream"}});
    } catch (e) {
      if (token === state.token) showError(`explanation: the server did not answer (${e.message})`);
      return;
    }
    const stale = token !== state.token || method !== $("method").value;
    if (stale || !$("explain-toggle").checked) return;
    if (!r.ok) { showError(`explanation of face ${i}: ${await errorOf(r)}`); return; }
    const out = await r.json();
    const card = document.querySelector(`.face-card[data-face="${i}"]`);
    const fig = card.querySelector("figure.explanation");
    fig.querySelector("img").src = out.png;
    fig.querySelector("figcaption").textContent = `${out.method} for ${out.class}`;
    fig.hidden = false;
    const [x0, y0, side] = out.square;
    const W = result.image.width, H = result.image.height;
    const over = el("img", "overlay-on-photo");
    over.alt = "";
    over.src = out.png;
    Object.assign(over.style, {left: `${100 * x0 / W}%`, top: `${100 * y0 / H}%`,
      width: `${100 * side / W}%`, height: `${100 * side / H}%`});
    $("boxes").prepend(over);
    showVerdict(out.verdict, out.method);
  }
}

function hideExplanations() {
  $("photo-wrap").classList.remove("explaining");
  document.querySelectorAll(".overlay-on-photo").forEach((e) => e.remove());
  document.querySelectorAll("figure.explanation").forEach((f) => { f.hidden = true; });
  $("verdict").textContent = "";
  $("verdict-details").hidden = true;
}

// ------------------------------------------------------------------ webcam
let stream = null;

async function startWebcam() {
  clearError();
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: true, audio: false});
  } catch (e) {
    showError(`webcam: ${e.message || e.name}`);
    return;
  }
  $("video").srcObject = stream;
  $("webcam").hidden = false;
}

function stopWebcam() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  $("video").srcObject = null;
  $("webcam").hidden = true;
}

function snapshot() {
  const v = $("video");
  if (!v.videoWidth) { showError("webcam: no picture yet"); return; }
  const c = document.createElement("canvas");
  c.width = v.videoWidth;
  c.height = v.videoHeight;
  c.getContext("2d").drawImage(v, 0, 0);
  c.toBlob((b) => b && analyse(b, "webcam snapshot"), "image/jpeg", 0.92);
}

// ------------------------------------------------------------------ wiring
function init() {
  loadModel();
  $("file").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (f) analyse(f, f.name);
    e.target.value = "";  // the same file again is a new choice
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (f) analyse(f, f.name); else showError("drop a file (a photo)");
  });
  if (window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    $("webcam-start").hidden = false;
    $("webcam-start").addEventListener("click", startWebcam);
    $("webcam-stop").addEventListener("click", stopWebcam);
    $("snap").addEventListener("click", snapshot);
  }
  $("explain-toggle").addEventListener("change", (e) => {
    if (e.target.checked) explainAll(); else hideExplanations();
  });
  $("method").addEventListener("change", () => { if ($("explain-toggle").checked) explainAll(); });
}

document.addEventListener("DOMContentLoaded", init);
