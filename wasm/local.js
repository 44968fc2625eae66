// The page's API without a server: `make web` loads this before app.js, and app.js sends its requests to
// window.lenetLocal.fetch instead of the network. Each is answered by the lenet library compiled to
// WebAssembly (wasm/lenet_wasm.cpp) with the JSON and status codes of `lenet serve`.
'use strict';
(() => {
  let module = null;

  // "<status>\n<json>" from the C++ side, as a fetch Response.
  function response(text) {
    const nl = text.indexOf('\n');
    return new Response(text.slice(nl + 1), {
      status: Number(text.slice(0, nl)),
      headers: { 'Content-Type': 'application/json' },
    });
  }

  function withBytes(M, bytes, fn) {
    const ptr = M._malloc(Math.max(bytes.length, 1));
    try {
      M.HEAPU8.set(bytes, ptr);
      return fn(ptr, bytes.length);
    } finally {
      M._free(ptr);
    }
  }

  function withString(M, s, fn) {
    const n = M.lengthBytesUTF8(s) + 1;
    const ptr = M._malloc(n);
    try {
      M.stringToUTF8(s, ptr, n);
      return fn(ptr);
    } finally {
      M._free(ptr);
    }
  }

  // The module, then the model file beside the page.
  const ready = (async () => {
    const M = await createLenetModule();
    const res = await fetch('lenet5.bin');
    if (!res.ok) throw new Error(`lenet5.bin: HTTP ${res.status}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const answer = withString(M, 'lenet5.bin', (name) =>
      withBytes(M, bytes, (ptr, n) => M.UTF8ToString(M._lenet_wasm_load(ptr, n, name))));
    if (!answer.startsWith('200\n')) throw new Error(JSON.parse(answer.slice(answer.indexOf('\n') + 1)).error);
    module = M;
    return M;
  })();

  // Milliseconds of each POST /api/predict: the whole WebAssembly call (grey levels, preprocessing, the
  // network, the JSON with the feature maps), its inference (the network) and its picture preprocessing.
  const predictMs = [];
  const inferenceMs = [];
  const preprocessMs = [];

  // A picture file decoded by the browser (PNG, JPEG, WebP, GIF, BMP...), as the C++ side takes it: u32 width,
  // u32 height (little-endian), then the RGBA pixels, not premultiplied and without colour management.
  async function pictureBody(blob) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
    } catch (_) {
      return null;
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const g = canvas.getContext('2d', { colorSpace: 'srgb' });
    g.drawImage(bitmap, 0, 0);
    const rgba = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
    const body = new Uint8Array(8 + rgba.length);
    new DataView(body.buffer).setUint32(0, bitmap.width, true);
    new DataView(body.buffer).setUint32(4, bitmap.height, true);
    body.set(rgba, 8);
    return body;
  }

  async function localFetch(url, init = {}) {
    const M = await ready;
    const target = new URL(url, location.href);
    const method = (init.method || 'GET').toUpperCase();
    const headers = new Headers(init.headers || {});
    let type = headers.get('Content-Type') || '';
    let body = init.body == null ? new Uint8Array(0) : new Uint8Array(await new Response(init.body).arrayBuffer());
    if (method === 'POST' && (type.startsWith('image/') || type === 'application/octet-stream')) {
      const pixels = await pictureBody(new Blob([body], { type }));
      if (!pixels) {
        return response('422\n' + JSON.stringify({
          error: 'uploaded image: not a picture this browser can decode (PNG, JPEG, WebP, GIF, BMP ...)',
        }));
      }
      body = pixels;
      type = 'application/x-lenet-rgba';
    }
    const t0 = performance.now();
    const text = withString(M, method, (m) => withString(M, target.pathname + target.search, (t) =>
      withString(M, type, (ty) => withBytes(M, body, (ptr, n) =>
        M.UTF8ToString(M._lenet_wasm_request(m, t, ty, ptr, n))))));
    if (target.pathname === '/api/predict') {
      predictMs.push(performance.now() - t0);
      inferenceMs.push(M._lenet_wasm_inference_ms());
      preprocessMs.push(M._lenet_wasm_preprocess_ms());
    }
    return response(text);
  }

  window.lenetLocal = { fetch: localFetch, ready, predictMs, inferenceMs, preprocessMs, loaded: () => module !== null };
})();
