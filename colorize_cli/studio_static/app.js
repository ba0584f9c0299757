// colorize studio: the page. Every request carries the token the server put in this page; the server
// does the colour (the model once per photo and model, then hints and saturation on its prediction).
"use strict";

const token = document.querySelector('meta[name="colorize-token"]').content;
const $ = (id) => document.getElementById(id);

const state = {
  photo: null, width: 0, height: 0,       // the photo as read (upright), in pixels
  hints: [],                              // [{x, y, color}] in photo pixels
  history: [],                            // earlier `hints` lists, for Undo
  selected: -1,                           // index of the selected dot
  hintSize: 5, model: null, saturation: 1,
  reference: null,                        // a reference photo's name (inside the photo's folder), or null
  models: {},                             // name -> calibrated saturation
};
let rendering = false, pending = false, changedAt = 0, afterUrl = null;

function address(path, params = {}) {
  return `${path}?${new URLSearchParams({ ...params, token })}`;
}

async function failure(response) {
  try { return (await response.json()).error || response.statusText; } catch { return response.statusText; }
}

async function postJSON(path, body, params = {}) {
  const response = await fetch(address(path, params), {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await failure(response));
  return response;
}

function say(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

// -- rendering: one request in flight; changes made meanwhile are sent once it is back -----------------
function changed() {
  if (!pending) changedAt = performance.now();  // the first change the picture does not show yet
  pending = true;
  drawDots();
  if (!rendering) renderLoop();
}

function editBody() {
  return { photo: state.photo, model: state.model, saturation: state.saturation, hint_size: state.hintSize,
           hints: state.hints, reference: state.reference };
}

async function renderLoop() {
  rendering = true;
  while (pending) {
    pending = false;
    const started = changedAt;
    say("colorizing…");
    try {
      const response = await postJSON("/api/render", editBody());
      const url = URL.createObjectURL(await response.blob());
      const after = $("after");
      await new Promise((resolve, reject) => { after.onload = resolve; after.onerror = reject; after.src = url; });
      if (afterUrl) URL.revokeObjectURL(afterUrl);
      afterUrl = url;
      const ms = Math.round(performance.now() - started);
      after.dataset.ms = String(ms);
      after.dataset.version = String(Number(after.dataset.version) + 1);
      $("timing").textContent = `updated ${ms} ms after the change (render ${response.headers.get("X-Render-Ms")} ms)`;
      say("");
    } catch (error) {
      say(error.message || "the picture could not be loaded", true);
    }
  }
  rendering = false;
}

// -- hints: dots over the picture -------------------------------------------------------------------------
function remember() {
  state.history.push(JSON.stringify(state.hints));
  if (state.history.length > 200) state.history.shift();
}

function pixelAt(event) {
  const box = $("after").getBoundingClientRect();
  const x = Math.floor(((event.clientX - box.left) / box.width) * state.width);
  const y = Math.floor(((event.clientY - box.top) / box.height) * state.height);
  return { x: Math.min(Math.max(x, 0), state.width - 1), y: Math.min(Math.max(y, 0), state.height - 1) };
}

function drawDots() {
  const layer = $("dots");
  layer.replaceChildren();
  state.hints.forEach((hint, index) => {
    const dot = document.createElement("div");
    dot.className = "dot" + (index === state.selected ? " selected" : "");
    dot.style.left = `${((hint.x + 0.5) / state.width) * 100}%`;
    dot.style.top = `${((hint.y + 0.5) / state.height) * 100}%`;
    dot.style.background = hint.color;
    dot.title = `${hint.x},${hint.y} ${hint.color}`;
    dot.dataset.index = String(index);
    dot.addEventListener("pointerdown", (event) => startDrag(event, index));
    dot.addEventListener("click", (event) => event.stopPropagation());
    dot.addEventListener("dblclick", (event) => { event.stopPropagation(); removeDot(index); });
    layer.appendChild(dot);
  });
  $("undo").disabled = state.history.length === 0;
  $("remove").disabled = state.selected < 0;
  $("clear").disabled = state.hints.length === 0;
}

function startDrag(event, index) {
  event.preventDefault();
  event.stopPropagation();
  const dot = event.currentTarget;
  select(index);
  const before = JSON.stringify(state.hints);
  let moved = false;
  dot.setPointerCapture(event.pointerId);
  dot.onpointermove = (move) => {
    const { x, y } = pixelAt(move);
    const hint = state.hints[index];
    if (hint.x === x && hint.y === y) return;
    hint.x = x; hint.y = y; moved = true;
    dot.style.left = `${((x + 0.5) / state.width) * 100}%`;
    dot.style.top = `${((y + 0.5) / state.height) * 100}%`;
  };
  dot.onpointerup = () => {
    dot.onpointermove = dot.onpointerup = null;
    if (moved) { state.history.push(before); changed(); }
  };
}

function select(index) {  // in place: the dot under the pointer must stay the same element while it is dragged
  state.selected = index;
  if (index >= 0) $("color").value = state.hints[index].color;
  for (const dot of $("dots").children) dot.classList.toggle("selected", Number(dot.dataset.index) === index);
  $("remove").disabled = index < 0;
}

function removeDot(index) {
  if (index < 0 || index >= state.hints.length) return;
  remember();
  state.hints.splice(index, 1);
  state.selected = -1;
  changed();
}

$("stage").addEventListener("click", (event) => {
  if (!state.photo || !state.width) return;
  remember();
  state.hints.push({ ...pixelAt(event), color: $("color").value });
  state.selected = state.hints.length - 1;
  changed();
});

$("color").addEventListener("change", () => {
  if (state.selected < 0) return;
  remember();
  state.hints[state.selected].color = $("color").value;
  changed();
});

$("undo").addEventListener("click", undo);
$("remove").addEventListener("click", () => removeDot(state.selected));
$("clear").addEventListener("click", () => { remember(); state.hints = []; state.selected = -1; changed(); });

function undo() {
  if (!state.history.length) return;
  state.hints = JSON.parse(state.history.pop());
  state.selected = -1;
  changed();
}

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" && event.target.type === "text") return;
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") { event.preventDefault(); undo(); }
  else if ((event.key === "Delete" || event.key === "Backspace") && state.selected >= 0) { event.preventDefault(); removeDot(state.selected); }
});

// -- before/after, saturation, model ---------------------------------------------------------------------
$("compare").addEventListener("input", () => {
  const percent = Number($("compare").value);
  $("after").style.clipPath = `inset(0 0 0 ${percent}%)`;
  $("divider").style.left = `${percent}%`;
});

function showSaturation() {
  $("saturation").value = String(state.saturation);
  $("saturation-value").textContent = state.saturation.toFixed(2);
}

$("saturation").addEventListener("input", () => {
  state.saturation = Number($("saturation").value);
  showSaturation();
  changed();
});

$("model").addEventListener("change", () => {
  state.model = $("model").value;
  state.saturation = state.models[state.model];  // each model's calibrated value
  showSaturation();
  changed();
});

// -- hints files and Save ----------------------------------------------------------------------------------
function applySettings(settings) {
  state.hints = settings.hints;
  showReference(settings.reference || null);
  state.hintSize = settings.hint_size;
  state.model = settings.model;
  state.saturation = settings.saturation;
  $("model").value = state.model;
  showSaturation();
}

$("load").addEventListener("change", async () => {
  const file = $("load").files[0];
  $("load").value = "";
  if (!file) return;
  try {
    const response = await fetch(address("/api/load-hints", { photo: state.photo }), { method: "POST", body: file });
    if (!response.ok) throw new Error(await failure(response));
    remember();
    applySettings(await response.json());
    state.selected = -1;
    changed();
    say(`loaded ${file.name}`);
  } catch (error) {
    say(error.message, true);
  }
});

$("save").addEventListener("click", async () => {
  $("save").disabled = true;
  say("saving…");
  try {
    const response = await postJSON("/api/save", { ...editBody(), folder: $("folder").value });
    const saved = await response.json();
    const line = $("saved");
    line.replaceChildren(`Saved ${saved.output} and ${saved.hints_file}. The same file again: `);
    const code = document.createElement("code");
    code.textContent = saved.command;
    line.appendChild(code);
    line.dataset.output = saved.output;
    say("saved");
  } catch (error) {
    say(error.message, true);
  } finally {
    $("save").disabled = false;
  }
});

// -- a reference photo: dropped or chosen, uploaded, then part of every render ----------------------------
function showReference(name) {
  state.reference = name;
  $("reference-name").textContent = name ? `using ${name}` : "";
  $("reference-remove").disabled = !name;
}

async function uploadReference(file) {
  if (!file || !state.photo) return;
  say(`checking ${file.name}…`);
  try {
    const response = await fetch(address("/api/reference", { photo: state.photo, name: file.name }), { method: "POST", body: file });
    if (!response.ok) throw new Error(await failure(response));
    showReference((await response.json()).reference);
    changed();
  } catch (error) {
    say(error.message, true);
  }
}

function enableReference(note) {
  const zone = $("reference");
  $("reference-note").textContent = note;
  zone.setAttribute("aria-disabled", "false");
  $("reference-choose").disabled = false;
  $("reference-choose").addEventListener("click", () => $("reference-file").click());
  $("reference-file").addEventListener("change", () => { uploadReference($("reference-file").files[0]); $("reference-file").value = ""; });
  $("reference-remove").addEventListener("click", () => { showReference(null); changed(); });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    uploadReference(event.dataTransfer.files[0]);
  });
}

// -- photos ----------------------------------------------------------------------------------------------
async function openPhoto(name) {
  say("opening…");
  try {
    const response = await fetch(address("/api/photo", { photo: name }));
    if (!response.ok) throw new Error(await failure(response));
    const info = await response.json();
    state.photo = name; state.width = info.width; state.height = info.height;
    state.history = []; state.selected = -1;
    applySettings(info.saved || { hints: [], hint_size: state.defaultHintSize, model: state.defaultModel,
                                  saturation: state.models[state.defaultModel], reference: null });
    $("photo-name").textContent = name + (info.saved ? " (its saved hints loaded)" : "") +
      (info.saved_error ? ` — ${info.saved_error}` : "");
    $("before").src = address("/api/before", { photo: name });
    $("save").disabled = false;
    $("saved").replaceChildren();
    for (const button of $("strip").children) button.classList.toggle("current", button.dataset.photo === name);
    changed();
  } catch (error) {
    say(error.message, true);
  }
}

async function start() {
  const response = await fetch(address("/api/state"));
  if (!response.ok) { say(await failure(response), true); return; }
  const info = await response.json();
  for (const model of info.models) {
    state.models[model.name] = model.saturation;
    $("model").appendChild(new Option(model.name, model.name));
  }
  state.defaultModel = info.default_model;
  state.defaultHintSize = info.hint_size;
  if (info.reference.available) enableReference(info.reference.note);
  else $("reference-note").textContent = info.reference.note;
  if (info.folder) {
    const strip = $("strip");
    strip.hidden = false;
    for (const name of info.photos) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.photo = name;
      button.title = name;
      const thumb = new Image();
      thumb.alt = name;
      thumb.loading = "lazy";
      thumb.src = address("/api/thumb", { photo: name });
      button.appendChild(thumb);
      button.addEventListener("click", () => openPhoto(name));
      strip.appendChild(button);
    }
  }
  await openPhoto(info.photos[0]);
}

start();
