// End-to-end test of `lenet serve` in a real browser: Debian's headless Chromium, driven by playwright-core,
// writes digits on the pad with mouse (and touch) strokes, checks the page reads them, clears, uploads a
// picture of a number, and keeps screenshots in tests/e2e/artifacts/. Exits non-zero on any failure.
//
//   node tests/e2e/draw_digits.test.mjs        (after building build/lenet; `make test` runs it)
// Environment: LENET_BIN (default build/lenet), LENET_MODEL (default models/lenet5.bin),
// CHROMIUM (default /usr/bin/chromium), E2E_TIMEOUT_S (default 180).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const bin = process.env.LENET_BIN || path.join(root, 'build/lenet');
const model = process.env.LENET_MODEL || path.join(root, 'models/lenet5.bin');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = path.join(here, 'artifacts');
const timeoutS = Number(process.env.E2E_TIMEOUT_S || 180);

// ---- digits as pen strokes, in pad units (0..1, y down) ----
const arc = (cx, cy, rx, ry, from, to, n = 24) =>
  Array.from({ length: n + 1 }, (_, i) => {
    const t = ((from + ((to - from) * i) / n) * Math.PI) / 180;
    return [cx + rx * Math.cos(t), cy + ry * Math.sin(t)];
  });
const DIGITS = {
  0: [arc(0.5, 0.5, 0.2, 0.3, -90, 275, 36)],
  1: [[[0.53, 0.17], [0.51, 0.5], [0.48, 0.83]]],
  2: [[...arc(0.5, 0.36, 0.19, 0.17, 195, 360, 14), [0.64, 0.5], [0.31, 0.81], [0.72, 0.81]]],
  3: [[...arc(0.49, 0.33, 0.17, 0.15, -160, 90, 20), ...arc(0.49, 0.64, 0.2, 0.17, -90, 155, 20)]],
  4: [[[0.55, 0.17], [0.3, 0.58], [0.75, 0.58]], [[0.62, 0.36], [0.62, 0.85]]],
  5: [[[0.68, 0.19], [0.37, 0.19], [0.34, 0.46], ...arc(0.5, 0.63, 0.19, 0.18, -125, 150, 20)]],
  6: [[[0.63, 0.16], [0.48, 0.3], [0.37, 0.48], ...arc(0.52, 0.66, 0.16, 0.17, 180, 540, 30)]],
  7: [[[0.28, 0.21], [0.72, 0.21], [0.43, 0.84]]],
  8: [Array.from({ length: 49 }, (_, i) => {
    const t = (2 * Math.PI * i) / 48;
    return [0.5 + 0.17 * Math.sin(2 * t), 0.5 - 0.32 * Math.cos(t)];
  })],
  9: [[...arc(0.5, 0.35, 0.17, 0.16, 0, -360, 30), [0.67, 0.6], [0.64, 0.85]]],
};

// ---- a tiny test harness ----
const failures = [];
function check(ok, message) {
  if (ok) console.log(`  ok    ${message}`);
  else {
    console.log(`  FAIL  ${message}`);
    failures.push(message);
  }
}

let server = null;
let browser = null;
let serverLog = '';

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  browser = null;
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    const exited = await Promise.race([
      new Promise((resolve) => server.once('exit', () => resolve(true))),
      new Promise((resolve) => setTimeout(() => resolve(false), 5000)),
    ]);
    if (!exited) server.kill('SIGKILL');
  }
}

const watchdog = setTimeout(async () => {
  console.error(`e2e: timed out after ${timeoutS} s`);
  await cleanup();
  process.exit(1);
}, timeoutS * 1000);

// Starts `lenet serve` on a free loopback port (the server picks it: --port 0) and returns its URL.
async function startServer() {
  server = spawn(bin, ['serve', '--model', model, '--host', '127.0.0.1', '--port', '0', '--threads', '4'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lenet serve did not start:\n${serverLog}`)), 30000);
    server.stderr.on('data', (chunk) => {
      serverLog += chunk;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(serverLog);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.once('exit', (code) => reject(new Error(`lenet serve exited with ${code}:\n${serverLog}`)));
    server.once('error', reject);
  });
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(url + 'healthz');
      if (res.ok && (await res.json()).status === 'ok') return url;
    } catch (_) {
      // not ready yet
    }
    if (i > 100) throw new Error('/healthz never answered');
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function draw(page, strokes, { touch = null } = {}) {
  const box = await page.locator('[data-testid="canvas"]').boundingBox();
  const at = ([x, y]) => [box.x + x * box.width, box.y + y * box.height];
  for (const stroke of strokes) {
    const points = stroke.map(at);
    if (touch) {
      const point = ([x, y]) => [{ x, y, id: 1, radiusX: 4, radiusY: 4, force: 1 }];
      await touch.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: point(points[0]) });
      for (const p of points.slice(1)) {
        await touch.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: point(p) });
      }
      await touch.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    } else {
      await page.mouse.move(...points[0]);
      await page.mouse.down();
      for (const p of points.slice(1)) await page.mouse.move(...p, { steps: 3 });
      await page.mouse.up();
    }
  }
}

const settled = (page) => page.waitForSelector('body[data-busy="false"]', { timeout: 15000 });
const text = (page, id) => page.locator(`[data-testid="${id}"]`).innerText();

// A picture of a number, drawn in the browser like a photo of paper: tinted, unevenly lit, blue pen.
async function numberPicture(page, digits) {
  const dataUrl = await page.evaluate(
    ({ digits, strokes }) => {
      const cell = 160, margin = 50;
      const c = document.createElement('canvas');
      c.width = digits.length * cell + 2 * margin;
      c.height = cell + 2 * margin;
      const g = c.getContext('2d');
      const light = g.createLinearGradient(0, 0, c.width, c.height);
      light.addColorStop(0, '#efe9dc');
      light.addColorStop(1, '#c9c2b2');
      g.fillStyle = light;
      g.fillRect(0, 0, c.width, c.height);
      g.strokeStyle = '#1f2f7a';
      g.lineWidth = 13;
      g.lineCap = 'round';
      g.lineJoin = 'round';
      digits.split('').forEach((d, k) => {
        for (const stroke of strokes[d]) {
          g.beginPath();
          stroke.forEach(([x, y], i) => {
            const px = margin + k * cell + x * cell, py = margin + y * cell;
            if (i === 0) g.moveTo(px, py);
            else g.lineTo(px, py);
          });
          g.stroke();
        }
      });
      return c.toDataURL('image/png');
    },
    { digits, strokes: DIGITS },
  );
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  const url = await startServer();
  console.log(`e2e: lenet serve at ${url}`);

  // launch() gives Chromium a fresh temporary profile (--user-data-dir) of its own and deletes it after.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    timeout: 60000,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  // Reduced motion: the bars jump to their value, so screenshots show what was read.
  const context = await browser.newContext({ viewport: { width: 1000, height: 1250 }, reducedMotion: 'reduce' });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));
  let browserRequests = 0;
  page.on('request', (r) => r.url().startsWith(url) && browserRequests++);

  await page.goto(url);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  const info = await text(page, 'model-info');
  check(/parameters/.test(info) && /99\.\d\d%/.test(info), `the page shows the model: "${info}"`);
  check((await page.locator('[data-testid="prediction"]').innerText()) === '', 'nothing is read before writing');

  // Digits written with the mouse, one after the other, with Clear in between.
  const misread = [];
  for (const digit of Object.keys(DIGITS)) {
    await page.click('[data-testid="clear"]');
    await draw(page, DIGITS[digit]);
    await settled(page);
    const read = await text(page, 'prediction');
    const sure = await text(page, 'confidence');
    check(read === digit, `mouse-drawn ${digit} is read as ${read} (${sure})`);
    if (read !== digit) misread.push(digit);
    await page.screenshot({ path: path.join(artifacts, `digit-${digit}.png`) });
    if (digit === '3') {  // the page down to the feature maps, the size the README shows
      const panel = await page.locator('.layers-panel').boundingBox();
      await page.screenshot({
        path: path.join(artifacts, 'readme.png'), clip: { x: 0, y: 0, width: 1000, height: panel.y + panel.height + 12 },
      });
    }
  }

  // What the page shows beside the digit: ten bars with the best one marked, the input and the maps.
  const bars = await page.locator('[data-testid="probabilities"] li').count();
  const best = await page.locator('[data-testid="probabilities"] li.best').getAttribute('data-digit');
  check(bars === 10 && best === '9', `ten probability bars, the best for 9 (${bars}, best ${best})`);
  const maps = await page.evaluate(() => {
    const spread = (c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let lo = 255, hi = 0;
      for (let i = 0; i < d.length; i += 4) (lo = Math.min(lo, d[i + 1])), (hi = Math.max(hi, d[i + 1]));
      return hi - lo;
    };
    const out = {};
    for (const name of ['C1', 'S2', 'C3', 'S4']) {
      const canvases = [...document.querySelectorAll(`.layer-${name} canvas`)];
      out[name] = { count: canvases.length, showing: canvases.filter((c) => spread(c) > 0).length };
    }
    out.input = spread(document.getElementById('input-view'));
    return out;
  });
  check(maps.C1.count === 6 && maps.S2.count === 6 && maps.C3.count === 16 && maps.S4.count === 16,
        `feature maps C1 S2 C3 S4: ${maps.C1.count} ${maps.S2.count} ${maps.C3.count} ${maps.S4.count}`);
  check(maps.input > 100 && maps.C1.showing >= 4 && maps.C3.showing >= 8,
        `the 28x28 input and the maps show the digit (C1 ${maps.C1.showing}/6, C3 ${maps.C3.showing}/16 non-blank)`);

  // Clear: the pad is white again and nothing is read.
  await page.click('[data-testid="clear"]');
  await settled(page);
  const blankPad = await page.evaluate(() => {
    const c = document.querySelector('[data-testid="canvas"]');
    return c.getContext('2d').getImageData(0, 0, c.width, c.height).data.every((v) => v === 255);
  });
  check(blankPad, 'Clear wipes the pad');
  check((await text(page, 'prediction')) === '' && (await text(page, 'confidence')) === '',
        'Clear empties the reading');
  await page.screenshot({ path: path.join(artifacts, 'cleared.png') });

  // A digit written with a finger (touch events -> pointer events).
  const touch = await context.newCDPSession(page);
  await draw(page, DIGITS[7], { touch });
  await settled(page);
  const touched = await text(page, 'prediction');
  check(touched === '7', `touch-drawn 7 is read as ${touched}`);

  // Upload a picture of a number: it is read digit by digit.
  const number = '4725';
  await page.setInputFiles('[data-testid="upload"]', {
    name: 'number.png', mimeType: 'image/png', buffer: await numberPicture(page, number),
  });
  await page.waitForSelector('#photo-panel:not([hidden])');
  await settled(page);
  const readNumber = await text(page, 'prediction');
  const found = await page.locator('[data-testid="digits"] .digit-item').count();
  check(readNumber === number, `uploaded picture of ${number} is read as ${readNumber} (${found} digits)`);
  await page.screenshot({ path: path.join(artifacts, 'upload.png'), fullPage: true });

  // A file that is not a picture: a clear message, no crash.
  await page.setInputFiles('[data-testid="upload"]', {
    name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('this is not a PNG'),
  });
  await settled(page);
  const status = await text(page, 'status');
  check(/not a PNG/.test(status), `a broken upload is explained: "${status}"`);

  // The page on a phone-sized screen, for the eye.
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true, reducedMotion: 'reduce',
  });
  const small = await phone.newPage();
  await small.goto(url);
  await small.waitForSelector('body[data-ready="true"]');
  await draw(small, DIGITS[3]);
  await settled(small);
  check((await text(small, 'prediction')) === '3', 'the narrow layout works too');
  await small.screenshot({ path: path.join(artifacts, 'phone.png'), fullPage: true });
  await phone.close();

  // The browser logs the deliberate 422 above as a failed resource; anything else is a real error.
  const errors = pageErrors.filter((e) => !/status of 422/.test(e));
  check(errors.length === 0, `no errors in the page${errors.length ? ': ' + errors.join(' | ') : ''}`);
  const health = await fetch(url + 'healthz');
  check(health.ok, 'the server is still healthy');
  await cleanup();
  check(server.exitCode === 0, `lenet serve stopped cleanly on SIGTERM (exit ${server.exitCode})`);
  const logLines = serverLog.split('\n').filter((l) => / (GET|POST) \S+ \d{3} \d+B/.test(l)).length;
  check(logLines >= browserRequests, `one log line per request (${logLines} lines, ${browserRequests} from the page)`);
  writeFileSync(path.join(artifacts, 'server.log'), serverLog);
  return misread;
}

let status = 1;
try {
  await main();
  status = failures.length ? 1 : 0;
} catch (e) {
  console.error(`e2e: ${e.stack || e}`);
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
console.log(status === 0 ? 'e2e: all checks passed' : `e2e: ${failures.length || 'an error and'} failing checks`);
process.exit(status);
