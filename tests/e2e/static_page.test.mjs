// End-to-end test of the demo page WITHOUT `lenet serve`: the static folder of `make web` (the page, the
// library compiled to WebAssembly, the model) served by a plain static file server, in Debian's headless
// Chromium. The ten digits are drawn and read; each answer is compared with `lenet serve`'s for the same
// pad picture (the same digit, the same 28x28 input, probabilities within 1e-5); a photo of a number is
// read; and the page's own inference time per digit is measured (target <= 5 ms, median).
//
//   make web && node tests/e2e/static_page.test.mjs        (`make e2e` runs it)
// Environment: LENET_WEB_DIR (default build-web/site), LENET_BIN (default build/lenet, the reference server),
// LENET_MODEL, CHROMIUM, E2E_TIMEOUT_S (default 180).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { DIGITS, draw, numberPicture, settled, text } from './page_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const site = process.env.LENET_WEB_DIR || path.join(root, 'build-web/site');
const bin = process.env.LENET_BIN || path.join(root, 'build/lenet');
const model = process.env.LENET_MODEL || path.join(root, 'models/lenet5.bin');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = path.join(here, 'artifacts');
const timeoutS = Number(process.env.E2E_TIMEOUT_S || 180);
const kTolerance = 1e-5;
const kTargetMs = 5;

const failures = [];
function check(ok, message) {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'}  ${message}`);
  if (!ok) failures.push(message);
}

// A static file server and nothing else: GET of the folder's files, with their types.
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream' };
function serveStatic(dir) {
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(new URL(req.url, 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    const file = path.join(dir, path.normalize(name));
    if (req.method !== 'GET' || !file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// `lenet serve`, the reference the page's answers are compared with (the page never talks to it).
async function startLenetServe() {
  const proc = spawn(bin, ['serve', '--model', model, '--host', '127.0.0.1', '--port', '0', '--threads', '1'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lenet serve did not start:\n${log}`)), 30000);
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.once('exit', (code) => reject(new Error(`lenet serve exited with ${code}:\n${log}`)));
  });
  return { proc, url };
}

let browser = null, staticServer = null, reference = null;
async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  if (staticServer) staticServer.close();
  if (reference && reference.proc.exitCode === null) reference.proc.kill('SIGTERM');
}
const watchdog = setTimeout(async () => {
  console.error(`e2e: timed out after ${timeoutS} s`);
  await cleanup();
  process.exit(1);
}, timeoutS * 1000);

async function main() {
  for (const f of ['index.html', 'app.js', 'local.js', 'lenet.js', 'lenet.wasm', 'lenet5.bin'])
    if (!existsSync(path.join(site, f))) throw new Error(`${path.join(site, f)} is missing: run make web first`);
  mkdirSync(artifacts, { recursive: true });
  staticServer = await serveStatic(site);
  const url = `http://127.0.0.1:${staticServer.address().port}/`;
  reference = await startLenetServe();
  console.log(`e2e: static page at ${url} (no lenet serve behind it); reference lenet serve at ${reference.url}`);

  browser = await chromium.launch({
    executablePath: chromiumPath, headless: true, timeout: 60000,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  const context = await browser.newContext({ viewport: { width: 1000, height: 1250 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  const apiRequests = [];
  page.on('request', (r) => r.url().includes('/api/') && apiRequests.push(r.url()));

  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 30000 });
  const info = await text(page, 'model-info');
  check(/parameters/.test(info) && /99\.\d\d%/.test(info), `the static page shows the model: "${info}"`);

  let worstDiff = 0;
  for (const digit of Object.keys(DIGITS)) {
    await page.click('[data-testid="clear"]');
    await draw(page, DIGITS[digit]);
    await settled(page);
    const read = await text(page, 'prediction');
    // The pad as the page saw it, asked of the page itself (its API, in WebAssembly) and of lenet serve.
    const local = await page.evaluate(async () => {
      const pad = document.querySelector('[data-testid="canvas"]');
      const blob = await new Promise((resolve) => pad.toBlob(resolve, 'image/png'));
      const res = await window.lenetLocal.fetch('/api/predict', {
        method: 'POST', headers: { 'Content-Type': 'image/png' }, body: blob,
      });
      return { status: res.status, json: await res.json(), png: Array.from(new Uint8Array(await blob.arrayBuffer())) };
    });
    const served = await fetch(reference.url + 'api/predict', {
      method: 'POST', headers: { 'Content-Type': 'image/png' }, body: Buffer.from(local.png),
    }).then((r) => r.json());
    const diff = Math.max(...served.probabilities.map((p, i) => Math.abs(p - local.json.probabilities[i])));
    worstDiff = Math.max(worstDiff, diff);
    const sameInput = JSON.stringify(served.input) === JSON.stringify(local.json.input);
    check(read === digit && local.json.digit === served.digit && sameInput && diff <= kTolerance,
          `drawn ${digit}: the static page reads ${read}, lenet serve ${served.digit}; same 28x28 input: ` +
          `${sameInput}; max |probability difference| ${diff.toExponential(1)}`);
  }
  await page.screenshot({ path: path.join(artifacts, 'static-page.png') });

  // The maps panel is filled from the page's own activations.
  const shown = await page.evaluate(() => document.querySelectorAll('.layer-C3 canvas').length);
  check(shown === 16, `C3's 16 feature maps are drawn (${shown})`);

  // A photo of a number, read in the page.
  const number = '4725';
  const png = await numberPicture(page, number);
  await page.setInputFiles('[data-testid="upload"]', { name: 'number.png', mimeType: 'image/png', buffer: png });
  await page.waitForSelector('#photo-panel:not([hidden])');
  await settled(page);
  const readNumber = await text(page, 'prediction');
  const servedNumber = await fetch(reference.url + 'api/read', {
    method: 'POST', headers: { 'Content-Type': 'image/png' }, body: png,
  }).then((r) => r.json());
  check(readNumber === number && servedNumber.text === number,
        `uploaded ${number}: the static page reads ${readNumber}, lenet serve ${servedNumber.text}`);

  // A broken upload: explained (decoded by the browser, so in its words rather than the server's).
  await page.setInputFiles('[data-testid="upload"]', {
    name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('this is not a PNG'),
  });
  await settled(page);
  const explained = await text(page, 'status');
  check(/not a picture/.test(explained), `a broken upload is explained: "${explained}"`);

  // The page's own inference time: each POST /api/predict answered in WebAssembly (decode the pad's PNG,
  // preprocess, the network, the JSON with the feature maps).
  const timing = await page.evaluate(() => ({ total: window.lenetLocal.predictMs.slice(),
                                               inference: window.lenetLocal.inferenceMs.slice(),
                                               preprocess: window.lenetLocal.preprocessMs.slice() }));
  const stats = (v) => {
    const s = v.slice().sort((a, b) => a - b);
    return { n: s.length, median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
  };
  const inference = stats(timing.inference), total = stats(timing.total), prep = stats(timing.preprocess);
  console.log(`e2e: page inference (the network) over ${inference.n} requests: median ` +
              `${inference.median.toFixed(2)} ms (min ${inference.min.toFixed(2)}, max ${inference.max.toFixed(2)}); ` +
              `picture preprocessing: median ${prep.median.toFixed(2)} ms; ` +
              `whole WebAssembly call with grey levels and the maps' JSON: median ${total.median.toFixed(2)} ms; ` +
              `worst probability difference to lenet serve ${worstDiff.toExponential(2)}`);
  check(inference.median <= kTargetMs,
        `median inference per digit ${inference.median.toFixed(2)} ms <= ${kTargetMs} ms`);
  check(apiRequests.length === 0, `no API request left the page (${apiRequests.length})`);
  const errors = pageErrors.filter((e) => !/status of 422/.test(e));
  check(errors.length === 0, `no errors in the page${errors.length ? ': ' + errors.join(' | ') : ''}`);
}

try {
  await main();
} catch (e) {
  check(false, `unexpected error: ${e.stack || e}`);
}
await cleanup();
clearTimeout(watchdog);
console.log(failures.length ? `e2e static page: ${failures.length} FAILED` : 'e2e static page: all passed');
process.exit(failures.length ? 1 : 0);
