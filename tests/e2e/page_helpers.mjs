// What both browser tests share: digits as pen strokes, drawing them on the page's pad, waiting for the
// reading, and a picture of a number drawn like a photo of paper.

// ---- digits as pen strokes, in pad units (0..1, y down) ----
const arc = (cx, cy, rx, ry, from, to, n = 24) =>
  Array.from({ length: n + 1 }, (_, i) => {
    const t = ((from + ((to - from) * i) / n) * Math.PI) / 180;
    return [cx + rx * Math.cos(t), cy + ry * Math.sin(t)];
  });
export const DIGITS = {
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

export async function draw(page, strokes, { touch = null } = {}) {
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

export const settled = (page) => page.waitForSelector('body[data-busy="false"]', { timeout: 15000 });
export const text = (page, id) => page.locator(`[data-testid="${id}"]`).innerText();

// A picture of a number, drawn in the browser like a photo of paper: tinted, unevenly lit, blue pen.
export async function numberPicture(page, digits) {
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
