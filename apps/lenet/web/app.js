// The web demo's logic: a drawing pad sent to POST /api/predict while you write (one request in flight at
// a time), photos sent to POST /api/read, and the answers drawn as bars, the network's input and its maps.
'use strict';

const $ = (id) => document.getElementById(id);
const pad = $('pad');
const ctx = pad.getContext('2d', { willReadFrequently: true });
const PEN_WIDTH = 19;  // in pad pixels: a digit ~200 px tall reduced to MNIST's 20 px box keeps ~2 px strokes
const INK = '#14161c';
const PAPER = '#ffffff';

const state = {
  drawing: false,
  last: null,        // last point of the stroke in progress
  hasInk: false,
  dirty: false,      // the pad changed since the last request
  inFlight: false,
  epoch: 0,          // bumped by Clear and by uploads: answers from an older epoch are dropped
  mode: 'draw',      // 'draw' or 'photo'
  reading: null,     // the last /api/read answer
};

// ---- colours: one perceptual-ish ramp for everything the network sees (dark = 0, bright = high) ----
const RAMP = (() => {
  const stops = [[0, [12, 16, 32]], [0.35, [40, 70, 170]], [0.7, [60, 180, 200]], [1, [250, 245, 160]]];
  const lut = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = i / 255;
    let k = 0;
    while (k < stops.length - 2 && t > stops[k + 1][0]) k++;
    const [t0, c0] = stops[k], [t1, c1] = stops[k + 1];
    const f = (t - t0) / (t1 - t0);
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = c0[c] + f * (c1[c] - c0[c]);
  }
  return lut;
})();

// values 0..255, row-major, w×h, starting at `offset` -> the canvas (which must be w×h)
function paint(canvas, values, w, h, offset = 0) {
  const c = canvas.getContext('2d');
  const img = c.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const v = Math.max(0, Math.min(255, values[offset + i] | 0));
    img.data[4 * i] = RAMP[3 * v];
    img.data[4 * i + 1] = RAMP[3 * v + 1];
    img.data[4 * i + 2] = RAMP[3 * v + 2];
    img.data[4 * i + 3] = 255;
  }
  c.putImageData(img, 0, 0);
}

function blank(canvas) { paint(canvas, new Uint8Array(canvas.width * canvas.height), canvas.width, canvas.height); }

// ---- the drawing pad ----
function resetPad() {
  ctx.fillStyle = PAPER;
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = INK;
  ctx.fillStyle = INK;
  ctx.lineWidth = PEN_WIDTH;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  state.hasInk = false;
}

function padPoint(e) {
  const r = pad.getBoundingClientRect();
  return { x: (e.clientX - r.left) * pad.width / r.width, y: (e.clientY - r.top) * pad.height / r.height };
}

function dot(p) {
  ctx.beginPath();
  ctx.arc(p.x, p.y, PEN_WIDTH / 2, 0, 2 * Math.PI);
  ctx.fill();
}

function segment(a, b) {
  ctx.beginPath();
  ctx.moveTo(a.x, a.y);
  ctx.lineTo(b.x, b.y);
  ctx.stroke();
}

pad.addEventListener('pointerdown', (e) => {
  if (e.button !== undefined && e.button > 0) return;
  e.preventDefault();
  pad.setPointerCapture(e.pointerId);
  if (state.mode !== 'draw') enterDrawMode();
  state.drawing = true;
  state.last = padPoint(e);
  dot(state.last);
  state.hasInk = true;
  changed();
});

pad.addEventListener('pointermove', (e) => {
  if (!state.drawing) return;
  e.preventDefault();
  const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
  for (const ev of events.length ? events : [e]) {
    const p = padPoint(ev);
    segment(state.last, p);
    state.last = p;
  }
  changed();
});

for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) {
  pad.addEventListener(type, () => {
    if (!state.drawing) return;
    state.drawing = false;
    changed();
  });
}

// ---- talking to the server ----
// The static page of `make web` answers the same API in the page, with WebAssembly (wasm/local.js).
const apiFetch = window.lenetLocal ? window.lenetLocal.fetch : (url, init) => fetch(url, init);

async function postJson(url, body, contentType) {
  const res = await apiFetch(url, { method: 'POST', headers: { 'Content-Type': contentType }, body });
  let json = null;
  try {
    json = await res.json();
  } catch (_) {
    json = { error: `the server answered ${res.status} without JSON` };
  }
  if (!res.ok) throw new Error(json.error || `HTTP ${res.status}`);
  return json;
}

// data-busy on <body> says whether a reading of the pad is still to come (tests wait for "false").
function setBusy(busy) { document.body.dataset.busy = busy ? 'true' : 'false'; }

function changed() {
  state.dirty = true;
  setBusy(true);
  if (!state.inFlight) sendPad();
}

// One request at a time; whatever changed meanwhile goes in the next one, so the reading follows the pen
// as fast as the server answers, without a queue of stale requests.
async function sendPad() {
  if (!state.dirty || !state.hasInk || state.mode !== 'draw') {
    setBusy(false);
    return;
  }
  state.dirty = false;
  state.inFlight = true;
  const epoch = state.epoch;
  try {
    const blob = await new Promise((resolve) => pad.toBlob(resolve, 'image/png'));
    const guess = await postJson('/api/predict?maps=1', blob, 'image/png');
    if (epoch === state.epoch) {
      showGuess(guess, String(guess.digit));
      setStatus('');
    }
  } catch (err) {
    if (epoch === state.epoch) setStatus(err.message, true);
  } finally {
    state.inFlight = false;
    if (state.dirty) sendPad();
    else setBusy(false);
  }
}

// ---- showing an answer ----
const bars = [];
function buildBars() {
  const list = $('bars');
  for (let d = 0; d < 10; d++) {
    const li = document.createElement('li');
    li.innerHTML = `<span class="digit">${d}</span><span class="track"><span class="fill"></span></span>` +
                   '<span class="pct"></span>';
    li.dataset.digit = String(d);
    list.appendChild(li);
    bars.push({ li, fill: li.querySelector('.fill'), pct: li.querySelector('.pct') });
  }
}

function showProbabilities(probabilities, best) {
  probabilities.forEach((p, d) => {
    bars[d].fill.style.width = `${(100 * p).toFixed(1)}%`;
    bars[d].pct.textContent = p >= 0.0005 ? `${(100 * p).toFixed(1)}%` : '';
    bars[d].li.classList.toggle('best', d === best);
  });
}

function showGuess(guess, text) {
  $('prediction').textContent = text;
  $('confidence').textContent = `${(100 * guess.confidence).toFixed(1)}% sure`;
  showProbabilities(guess.probabilities, guess.digit);
  paint($('input-view'), guess.input, 28, 28);
  if (guess.maps) showMaps(guess.maps);
}

const layerViews = new Map();  // layer name -> {canvases}
const MAP_LAYERS = ['C1', 'S2', 'C3', 'S4'];

function layerView(name, maps, height, width, description) {
  let view = layerViews.get(name);
  if (view) return view;
  const fig = document.createElement('figure');
  fig.className = `layer layer-${name}`;
  const caption = document.createElement('figcaption');
  caption.innerHTML = `<b>${name}</b> ${maps} maps ${height}×${width} · ${escapeHtml(description)}`;
  const grid = document.createElement('div');
  grid.className = 'maps';
  const canvases = [];
  for (let m = 0; m < maps; m++) {
    const c = document.createElement('canvas');
    c.width = width;
    c.height = height;
    c.className = 'map';
    c.title = `${name} map ${m + 1}`;
    blank(c);
    grid.appendChild(c);
    canvases.push(c);
  }
  fig.append(caption, grid);
  $('layers').appendChild(fig);
  view = { canvases };
  layerViews.set(name, view);
  return view;
}

function showMaps(maps) {
  for (const layer of maps) {
    const view = layerView(layer.name, layer.maps, layer.height, layer.width, layer.description);
    const size = layer.width * layer.height;
    view.canvases.forEach((c, m) => paint(c, layer.pixels, layer.width, layer.height, m * size));
  }
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function clearResult() {
  $('prediction').textContent = '';
  $('confidence').textContent = '';
  showProbabilities(new Array(10).fill(0), -1);
  blank($('input-view'));
  for (const view of layerViews.values()) view.canvases.forEach(blank);
}

function setStatus(message, isError = false) {
  const s = $('status');
  s.textContent = message;
  s.classList.toggle('error', isError);
}

// ---- photos ----
function enterDrawMode() {
  state.mode = 'draw';
  state.epoch++;
  state.dirty = false;
  setBusy(false);
  state.reading = null;
  $('photo-panel').hidden = true;
  clearResult();
  setStatus('');
}

async function uploadPhoto(file) {
  state.epoch++;
  const epoch = state.epoch;
  state.mode = 'photo';
  resetPad();
  clearResult();
  const panel = $('photo-panel');
  const img = $('photo');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  $('boxes').replaceChildren();
  $('digits').replaceChildren();
  panel.hidden = false;
  setStatus(`Reading ${file.name}…`);
  setBusy(true);
  try {
    const reading = await postJson('/api/read', file, file.type || 'application/octet-stream');
    if (epoch !== state.epoch) return;
    state.reading = reading;
    showReading(reading);
    setStatus(reading.digits.length === 1 ? 'One digit found.' : `${reading.digits.length} digits found.`);
    if (reading.digits.length) await selectDigit(0);
  } catch (err) {
    if (epoch === state.epoch) setStatus(err.message, true);
  } finally {
    if (epoch === state.epoch) setBusy(false);
  }
}

function showReading(reading) {
  const boxes = $('boxes');
  const digits = $('digits');
  reading.digits.forEach((d, i) => {
    const box = document.createElement('div');
    box.className = 'box';
    box.style.left = `${(100 * d.box.x) / reading.width}%`;
    box.style.top = `${(100 * d.box.y) / reading.height}%`;
    box.style.width = `${(100 * d.box.w) / reading.width}%`;
    box.style.height = `${(100 * d.box.h) / reading.height}%`;
    const tag = document.createElement('span');
    tag.textContent = reading.text[i];
    box.appendChild(tag);
    boxes.appendChild(box);

    const item = document.createElement('button');
    item.type = 'button';
    item.className = 'digit-item';
    const c = document.createElement('canvas');
    c.width = 28;
    c.height = 28;
    paint(c, d.input, 28, 28);
    const label = document.createElement('span');
    label.textContent = `${reading.text[i]} · ${(100 * d.confidence).toFixed(0)}%`;
    item.append(c, label);
    item.addEventListener('click', () => selectDigit(i));
    digits.appendChild(item);
  });
  $('prediction').textContent = reading.text;
}

// One digit of a photo: its probabilities, and its maps (the pixel API on the 28×28 the network saw).
async function selectDigit(i) {
  const reading = state.reading;
  if (!reading) return;
  const epoch = state.epoch;
  document.querySelectorAll('.digit-item').forEach((el, k) => el.classList.toggle('selected', k === i));
  document.querySelectorAll('.box').forEach((el, k) => el.classList.toggle('selected', k === i));
  try {
    const guess = await postJson('/api/predict', JSON.stringify({ pixels: reading.digits[i].input, maps: true }),
                                 'application/json');
    if (epoch !== state.epoch) return;
    showGuess(guess, reading.text);
    $('confidence').textContent = reading.digits.length > 1
      ? `digit ${i + 1}: ${guess.digit}, ${(100 * guess.confidence).toFixed(1)}% sure`
      : `${(100 * guess.confidence).toFixed(1)}% sure`;
  } catch (err) {
    if (epoch === state.epoch) setStatus(err.message, true);
  }
}

// ---- start ----
$('clear').addEventListener('click', () => {
  resetPad();
  enterDrawMode();
  $('upload').value = '';
});
$('upload-button').addEventListener('click', () => $('upload').click());
$('upload').addEventListener('change', (e) => {
  const file = e.target.files && e.target.files[0];
  if (file) uploadPhoto(file);
});

async function loadModelInfo() {
  try {
    const res = await apiFetch('/api/model');
    const m = await res.json();
    const acc = typeof m.test_accuracy === 'number' ? ` · ${(100 * m.test_accuracy).toFixed(2)}% on MNIST's test set` : '';
    const arch = m.arch === 'lenet5-1998' ? 'LeNet-5 as in the 1998 paper' : 'modern LeNet-5 (ReLU, max pooling)';
    $('model-info').textContent = `${arch} · ${m.parameters.toLocaleString('en')} parameters${acc}`;
    for (const l of m.layers) {
      if (MAP_LAYERS.includes(l.name)) layerView(l.name, l.output[0], l.output[1], l.output[2], l.description);
    }
    document.body.dataset.ready = 'true';
  } catch (err) {
    $('model-info').textContent = 'The server does not answer.';
  }
}

buildBars();
resetPad();
clearResult();
loadModelInfo();
