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

import { DIGITS, draw, numberPicture, settled, text } from './page_helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const bin = process.env.LENET_BIN || path.join(root, 'build/lenet');
const model = process.env.LENET_MODEL || path.join(root, 'models/lenet5.bin');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifacts = path.join(here, 'artifacts');
const timeoutS = Number(process.env.E2E_TIMEOUT_S || 180);

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
  check(/not a picture/.test(status), `a broken upload is explained: "${status}"`);

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
