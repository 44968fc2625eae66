#!/usr/bin/python3
"""The real-picture evaluation of `lenet predict` and `lenet read` (issue 11): a seeded generator of
pictures as people take them, then a table of how lenet reads them, per category.

Written apart from tests/helpers/* and from the pipeline's parameters: its own renderer (numpy, Pillow,
OpenCV from Debian), its own pens, papers, cameras and fonts. Two sets that never mix:

  --set dev     MNIST *training* digits, the dev fonts, seed 1000 + N: the set to develop and tune on.
  --set report  MNIST *test* digits, the other fonts, seed N: only looked at to report.

Usage (after `make build` and scripts/fetch_mnist.sh):
  /usr/bin/python3 tools/eval_pictures.py --lenet build/lenet [--set report] [--per-category 100]
or `make eval-pictures`. The pictures are written under --out (default build/eval-pictures/SET) and kept
for inspection; a manifest.jsonl there lists each file with its category and truth.
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont, ImageOps

# Handwriting-like fonts from Debian's fonts-* packages (scripts/install_deps.sh), split in two so
# that nothing tuned on the dev set's letterforms is measured on them.
DEV_FONTS = [
    "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf",
    "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf",
    "/usr/share/fonts/opentype/bwht/BecauseWeLearn-Regular.otf",
    "/usr/share/fonts/opentype/bwht/BecauseWeBuild-Regular.otf",
    "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf",
]
REPORT_FONTS = [
    "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf",
    "/usr/share/fonts/truetype/breip/Breip.ttf",
    "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf",
    "/usr/share/fonts/opentype/kaushanscript/KaushanScript-Regular.otf",
    "/usr/share/fonts/opentype/bwht/BecauseWeCreate-Regular.otf",
    "/usr/share/fonts/opentype/bwht/BecauseWeMentor-Regular.otf",
    "/usr/share/fonts/opentype/comic-neue/ComicNeue-BoldItalic.otf",
    "/usr/share/fonts/truetype/fifthhorseman/dkgIt.ttf",
]
# Letters that no reader of digits could tell from one (O/0, I/l/1, S/5, Z/2, B/8, G/6, g/q/9, b/6...)
# are left out of the "letters" junk.
# Bumped whenever what generate() makes changes, so that --reuse never reuses stale pictures.
GENERATOR_VERSION = 2
JUNK_LETTERS = "ACEFHKLMNPRTUVWXYacefhkmnprtuvwxy"


def die(msg):
    print(f"eval_pictures.py: error: {msg}", file=sys.stderr)
    sys.exit(2)


# ----------------------------------------------------------------------------------------------------
# Sources of handwriting: MNIST digits re-drawn with a pen, and fonts. Each returns an ink mask in
# 0..1 (float32), tight around the ink, about `height` px high.


def read_idx(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = magic & 0xFF
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def disc(r):
    r = max(1, int(round(r)))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def skeleton(mask):
    """Lantuéjoul's morphological skeleton of a binary mask (uint8 0/1)."""
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    skel = np.zeros_like(mask)
    m = mask.copy()
    while m.any():
        eroded = cv2.erode(m, kernel)
        skel |= m & ~cv2.dilate(eroded, kernel) & 1
        m = eroded
    return skel


def tight(mask, level=0.08):
    ys, xs = np.nonzero(mask > level)
    if len(ys) == 0:
        return mask
    return mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def redraw_mnist(digit28, pen, rng):
    """An MNIST digit re-drawn at 8× with a pen: 'pencil' (its own grey levels, smoothed), 'ballpoint'
    (the skeleton traced with a thin line), 'marker' (thickened) or 'pen' (the shape as it is)."""
    big = cv2.resize(digit28.astype(np.float32) / 255.0, (224, 224), interpolation=cv2.INTER_CUBIC)
    big = np.clip(big, 0, 1)
    shape = (big > rng.uniform(0.35, 0.55)).astype(np.uint8)
    if pen == "pencil":
        ink = cv2.GaussianBlur(big, (0, 0), 2.0) * rng.uniform(0.55, 0.85)
    elif pen == "ballpoint":
        ink = cv2.dilate(skeleton(shape), disc(rng.uniform(1.5, 3.0))).astype(np.float32)
    elif pen == "marker":
        ink = cv2.dilate(shape, disc(rng.uniform(6, 12))).astype(np.float32)
    else:
        ink = cv2.dilate(shape, disc(rng.uniform(1, 4))).astype(np.float32)
    ink = cv2.GaussianBlur(ink, (0, 0), 1.2)
    return tight(np.clip(ink, 0, 1))


def render_glyph(font_path, char, rng, px=160):
    font = ImageFont.truetype(font_path, px)
    img = Image.new("L", (px * 3, px * 3), 0)
    ImageDraw.Draw(img).text((px // 2, px // 2), char, fill=255, font=font)
    ink = np.asarray(img, dtype=np.float32) / 255.0
    return tight(ink)


def deform(mask, rng, rot_deg=6, shear=0.12):
    """A small random rotation and shear, as a hand varies from one digit to the next."""
    h, w = mask.shape
    pad = int(0.3 * max(h, w)) + 4
    m = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    c = (m.shape[1] / 2, m.shape[0] / 2)
    a = cv2.getRotationMatrix2D(c, rng.uniform(-rot_deg, rot_deg), 1.0)
    s = rng.uniform(-shear, shear)
    a[0, 1] += s
    a[0, 2] -= s * c[1]  # shear about the centre
    out = cv2.warpAffine(m, a, (m.shape[1], m.shape[0]), flags=cv2.INTER_LINEAR)
    return tight(out)


def scale_to_height(mask, height):
    h, w = mask.shape
    f = height / h
    nw, nh = max(1, int(round(w * f))), max(1, int(round(height)))
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return np.clip(cv2.resize(mask, (nw, nh), interpolation=interp), 0, 1)


def shear_mask(mask, s):
    """Italic writing: x' = x + s·(h − y), so the tops lean right for s > 0."""
    h, w = mask.shape
    extra = int(abs(s) * h) + 2
    a = np.float32([[1, -s, s * h if s > 0 else 0], [0, 1, 0]])
    a[0, 2] = s * h if s > 0 else 0
    out = cv2.warpAffine(mask, a, (w + extra, h), flags=cv2.INTER_LINEAR)
    return tight(out)


class Hand:
    """Where digit shapes come from: MNIST digits of the set's split, and the set's fonts."""

    def __init__(self, images, labels, fonts, rng):
        self.images, self.labels, self.fonts, self.rng = images, labels, fonts, rng
        self.by_label = [np.nonzero(labels == d)[0] for d in range(10)]

    def mnist(self, digit=None, pen=None):
        rng = self.rng
        d = int(rng.integers(10)) if digit is None else digit
        i = int(rng.choice(self.by_label[d]))
        pen = pen or rng.choice(["pen", "pen", "pencil", "ballpoint", "marker"])
        return d, redraw_mnist(self.images[i], pen, rng)

    def font(self, digit=None):
        rng = self.rng
        d = int(rng.integers(10)) if digit is None else digit
        f = self.fonts[int(rng.integers(len(self.fonts)))]
        return d, deform(render_glyph(f, str(d), rng), rng)

    def any(self, digit=None, font_share=0.25):
        return self.font(digit) if self.rng.random() < font_share else self.mnist(digit)


# ----------------------------------------------------------------------------------------------------
# Paper, pens, cameras. Pictures are float32 RGB in 0..1 until saved.


def paper(h, w, rng, ruling="plain"):
    tint = np.array([rng.uniform(0.88, 1.0), rng.uniform(0.86, 0.99), rng.uniform(0.80, 0.97)], np.float32)
    img = np.ones((h, w, 3), np.float32) * tint
    img += rng.normal(0, 0.012, (h, w, 1)).astype(np.float32)  # paper grain
    if ruling in ("ruled", "squared"):
        step = int(rng.uniform(0.07, 0.12) * min(h, w)) if ruling == "ruled" else int(rng.uniform(0.04, 0.07) * min(h, w))
        step = max(step, 6)
        colour = np.array(rng.choice([[0.55, 0.70, 0.90], [0.60, 0.60, 0.65], [0.45, 0.65, 0.85]]), np.float32)
        thick = max(1, int(round(rng.uniform(0.6, 2.2))))
        off = int(rng.integers(step))
        for y in range(off, h, step):
            img[y:y + thick] = img[y:y + thick] * 0.3 + colour * 0.7
        if ruling == "squared":
            for x in range(int(rng.integers(step)), w, step):
                img[:, x:x + thick] = img[:, x:x + thick] * 0.3 + colour * 0.7
        elif rng.random() < 0.5:  # a red margin
            x = int(rng.uniform(0.05, 0.2) * w)
            img[:, x:x + thick + 1] = img[:, x:x + thick + 1] * 0.3 + np.float32([0.9, 0.35, 0.35]) * 0.7
    return img, (step if ruling != "plain" else 0)


def ink_colour(rng):
    return np.array(rng.choice([[0.05, 0.05, 0.08], [0.08, 0.12, 0.45], [0.15, 0.15, 0.15], [0.05, 0.2, 0.6]]),
                    np.float32)


def lay(img, mask, x, y, colour, strength=1.0):
    h, w = mask.shape
    H, W = img.shape[:2]
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    m = mask[y0 - y:y1 - y, x0 - x:x1 - x, None] * strength
    img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - m) + colour * m


def lighting(img, rng, shadows=True):
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= h
    xx /= w
    g = 1 - rng.uniform(0, 0.35) * (rng.uniform(-1, 1) * xx + rng.uniform(-1, 1) * yy + 1) / 2
    cx, cy = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8)
    g *= 1 - rng.uniform(0, 0.3) * ((xx - cx) ** 2 + (yy - cy) ** 2)
    img *= g[..., None]
    if shadows and rng.random() < 0.6:
        # A hard or soft shadow (the phone, a hand): a half-plane darker by 20-45 %.
        a = rng.uniform(0, 2 * math.pi)
        d = np.cos(a) * (xx - rng.uniform(0.2, 0.8)) + np.sin(a) * (yy - rng.uniform(0.2, 0.8))
        s = (d > 0).astype(np.float32)
        if rng.random() < 0.5:  # soft: blurred at an eighth of the size (the same, and far cheaper)
            small = cv2.resize(s, (max(2, w // 8), max(2, h // 8)), interpolation=cv2.INTER_AREA)
            small = cv2.GaussianBlur(small, (0, 0), rng.uniform(0.01, 0.06) * max(h, w) / 8)
            s = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
        img *= (1 - rng.uniform(0.2, 0.45) * s)[..., None]
    return img


def table(h, w, rng):
    base = np.array(rng.choice([[0.45, 0.30, 0.18], [0.25, 0.25, 0.27], [0.60, 0.45, 0.30], [0.12, 0.12, 0.12],
                                [0.75, 0.75, 0.72]]), np.float32)
    grain = cv2.resize(rng.normal(0, 1, (max(2, h // 40), max(2, w // 4))).astype(np.float32), (w, h))
    img = np.ones((h, w, 3), np.float32) * base
    img += (0.06 * grain)[..., None]
    return img


def photograph(sheet, rng, with_table=False, out_size=None):
    """The sheet seen by a phone: perspective, the table around it (or the sheet filling the frame),
    uneven light and shadows, focus blur, sensor noise. Returns float RGB."""
    sh, sw = sheet.shape[:2]
    if out_size is None:
        out_size = (sw, sh)
    W, H = out_size
    if with_table:
        # The sheet covers 55-85 % of the frame, its outline and corners visible, turned and in perspective.
        cover = rng.uniform(0.55, 0.85)
        cw, ch = W * cover, H * cover
        cx, cy = W / 2 + rng.uniform(-0.08, 0.08) * W, H / 2 + rng.uniform(-0.08, 0.08) * H
        ang = rng.uniform(-0.15, 0.15)
        corners = []
        for sx, sy in [(-1, -1), (1, -1), (1, 1), (-1, 1)]:
            x = sx * cw / 2 * math.cos(ang) - sy * ch / 2 * math.sin(ang)
            y = sx * cw / 2 * math.sin(ang) + sy * ch / 2 * math.cos(ang)
            corners.append([cx + x + rng.uniform(-0.04, 0.04) * W, cy + y + rng.uniform(-0.04, 0.04) * H])
        dst = np.float32(corners)
        src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
        m = cv2.getPerspectiveTransform(src, dst)
        back = table(H, W, rng)
        warped = cv2.warpPerspective(sheet, m, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                     borderValue=(-1, -1, -1))
        inside = warped[..., :1] >= 0
        img = np.where(inside, warped, back)
        # The sheet's own shadow on the table, along one side.
        sm = cv2.warpPerspective(np.ones((sh, sw), np.float32), m, (W, H))
        shadow = cv2.GaussianBlur(sm, (0, 0), 0.01 * W + 1)
        shadow = np.roll(shadow, (int(rng.uniform(2, 0.015 * W + 3)), int(rng.uniform(2, 0.015 * W + 3))), (0, 1))
        img = np.where(inside, img, img * (1 - 0.5 * shadow[..., None]))
    else:
        # The sheet fills the frame: a mild perspective of a region inside it.
        j = 0.06
        src = np.float32([[rng.uniform(0, j) * sw, rng.uniform(0, j) * sh],
                          [sw - rng.uniform(0, j) * sw, rng.uniform(0, j) * sh],
                          [sw - rng.uniform(0, j) * sw, sh - rng.uniform(0, j) * sh],
                          [rng.uniform(0, j) * sw, sh - rng.uniform(0, j) * sh]])
        dst = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
        img = cv2.warpPerspective(sheet, cv2.getPerspectiveTransform(src, dst), (W, H), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)
    img = lighting(img, rng)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.4))
    img += rng.normal(0, rng.uniform(0.005, 0.025), img.shape).astype(np.float32)
    return np.clip(img, 0, 1)


def to_u8(img):
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def save(img, path, fmt=None, quality=None, exif_orientation=None):
    """Saves float RGB (or grey) in the format of the extension (or `fmt`)."""
    a = to_u8(img)
    pil = Image.fromarray(a)
    ext = fmt or os.path.splitext(path)[1][1:].lower()
    if ext in ("jpg", "jpeg"):
        kw = {"quality": int(quality or 85)}
        if exif_orientation:
            exif = Image.Exif()
            exif[0x0112] = exif_orientation
            kw["exif"] = exif.tobytes()
        pil.save(path, "JPEG", **kw)
    elif ext == "pgm" or ext == "pgm-ascii":
        g = pil.convert("L")
        if ext == "pgm-ascii":
            arr = np.asarray(g)
            with open(path, "w") as f:
                f.write(f"P2\n# eval_pictures.py\n{arr.shape[1]} {arr.shape[0]}\n255\n")
                for row in arr:
                    f.write(" ".join(str(int(v)) for v in row) + "\n")
        else:
            g.save(path, "PPM")
    elif ext == "ppm":
        pil.convert("RGB").save(path, "PPM")
    elif ext == "gif":
        pil.convert("P", palette=Image.ADAPTIVE, colors=64).save(path, "GIF")
    elif ext == "webp":
        pil.save(path, "WEBP", quality=int(quality or 80))
    elif ext == "tiff":
        pil.save(path, "TIFF", compression="tiff_deflate")
    elif ext == "bmp":
        pil.save(path, "BMP")
    else:
        pil.save(path, "PNG")


# ----------------------------------------------------------------------------------------------------
# Single digits: one picture per call, (image, save options).


def digit_sheet(hand, rng, ruling="plain", digit_px=None, size=None, pen=None, source=None):
    W, H = size or (int(rng.uniform(500, 900)), int(rng.uniform(400, 700)))
    sheet, step = paper(H, W, rng, ruling)
    if source == "font":
        d, mask = hand.font()
    else:
        d, mask = hand.mnist(pen=pen) if source == "mnist" else hand.any()
    if digit_px is None:
        digit_px = rng.uniform(1.3, 2.2) * step if step else rng.uniform(0.18, 0.45) * H
    mask = scale_to_height(mask, digit_px)
    x = int(rng.uniform(0.25, 0.75) * W - mask.shape[1] / 2)
    if step:  # written on the line, as people do: the base sits near a ruled line
        y0 = int(rng.uniform(0.45, 0.7) * H)
        y = y0 - mask.shape[0] + int(rng.uniform(-0.1, 0.15) * step)
    else:
        y = int(rng.uniform(0.3, 0.7) * H - mask.shape[0] / 2)
    lay(sheet, mask, x, y, ink_colour(rng))
    return d, sheet


def single_digit(cat, hand, rng):
    """Returns (label, picture float RGB, file extension, save options)."""
    if cat == "photo-ruled":
        d, s = digit_sheet(hand, rng, "ruled")
        return d, photograph(s, rng), "jpg", {"quality": rng.integers(60, 92)}
    if cat == "photo-squared":
        d, s = digit_sheet(hand, rng, "squared")
        return d, photograph(s, rng), "jpg", {"quality": rng.integers(60, 92)}
    if cat == "photo-table":
        d, s = digit_sheet(hand, rng, rng.choice(["plain", "ruled", "squared"]))
        W, H = s.shape[1], s.shape[0]
        return d, photograph(s, rng, with_table=True, out_size=(W, H)), "jpg", {"quality": rng.integers(60, 92)}
    if cat == "photo-plain":
        d, s = digit_sheet(hand, rng, "plain")
        return d, photograph(s, rng), "jpg", {"quality": rng.integers(60, 92)}
    if cat in ("pen-marker", "pen-ballpoint"):
        pen = "marker" if cat == "pen-marker" else "ballpoint"
        d, s = digit_sheet(hand, rng, "plain", pen=pen, source="mnist")
        return d, photograph(s, rng), "jpg", {"quality": rng.integers(70, 95)}
    if cat == "fonts":
        d, s = digit_sheet(hand, rng, rng.choice(["plain", "ruled"]), source="font")
        return d, photograph(s, rng), "jpg", {"quality": rng.integers(70, 95)}
    if cat in ("tiny-scan", "tiny-upscaled"):
        d, mask = hand.any()
        side = int(rng.integers(8, 17))
        fill = rng.uniform(0.7, 0.95)
        g = scale_to_height(mask, side * fill)
        if g.shape[1] > side:
            g = cv2.resize(g, (side, g.shape[0]), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((side, side), np.float32)
        y, x = (side - g.shape[0]) // 2, (side - g.shape[1]) // 2
        canvas[y:y + g.shape[0], x:x + g.shape[1]] = g
        if rng.random() < 0.5:
            canvas = np.round(canvas * 16) / 16  # 4-bit scanners (8×8 digit sets)
        white_on_black = rng.random() < 0.5
        grey = canvas if white_on_black else 1 - canvas
        if cat == "tiny-upscaled":
            up = int(rng.integers(32, 129))
            grey = cv2.resize(grey, (up, up), interpolation=rng.choice([cv2.INTER_LINEAR, cv2.INTER_CUBIC]))
            grey = cv2.GaussianBlur(grey, (0, 0), rng.uniform(0.3, 1.5))
        return d, np.clip(grey, 0, 1), "png", {}
    if cat == "tight-crop":
        d, s = digit_sheet(hand, rng, "plain", digit_px=rng.uniform(24, 160), size=(400, 300))
        grey = s.mean(axis=2)
        ys, xs = np.nonzero(grey < grey.max() - 0.25)
        inset = int(rng.integers(0, 2))
        crop = s[ys.min() + inset:ys.max() + 1 - inset, xs.min() + inset:xs.max() + 1 - inset]
        crop = np.clip(crop + rng.normal(0, 0.01, crop.shape).astype(np.float32), 0, 1)
        return d, crop, rng.choice(["png", "jpg"]), {"quality": 90}
    if cat == "exif-rotated":
        d, s = digit_sheet(hand, rng, rng.choice(["plain", "ruled"]))
        upright = photograph(s, rng)
        o = int(rng.choice([3, 6, 8]))
        stored = {3: np.rot90(upright, 2), 6: np.rot90(upright, 1), 8: np.rot90(upright, -1)}[o]
        return d, np.ascontiguousarray(stored), "jpg", {"quality": 88, "exif_orientation": o}
    if cat.startswith("format-"):
        fmt = cat[len("format-"):]
        d, s = digit_sheet(hand, rng, "plain", size=(int(rng.uniform(200, 400)), int(rng.uniform(200, 400))))
        pic = photograph(s, rng) if rng.random() < 0.5 else s
        if rng.random() < 0.3:
            pic = 1 - pic  # light ink on a dark board
        return d, pic, fmt, {"quality": 85}
    raise ValueError(cat)


SINGLE = ["photo-plain", "photo-ruled", "photo-squared", "photo-table", "pen-marker", "pen-ballpoint", "fonts",
          "tiny-scan", "tiny-upscaled", "tight-crop", "exif-rotated", "format-png", "format-jpg", "format-bmp",
          "format-pgm", "format-pgm-ascii", "format-ppm", "format-gif", "format-webp", "format-tiff"]


# ----------------------------------------------------------------------------------------------------
# Numbers: (truth text with its separators as written, picture, ext, options).


def separator_mask(kind, h, stroke, rng):
    if kind == "-":
        w = int(rng.uniform(0.35, 0.6) * h)
        m = np.zeros((h, w), np.float32)
        y = int(rng.uniform(0.45, 0.6) * h)
        cv2.line(m, (1, y), (w - 2, y + int(rng.uniform(-0.05, 0.05) * h)), 1.0, max(1, stroke))
        return m
    if kind == ".":
        w = max(4, int(stroke * 2.5) + 2)
        m = np.zeros((h, w), np.float32)
        r = max(1, int(round(stroke * rng.uniform(0.5, 0.8))))
        cv2.circle(m, (w // 2, h - r - 1), r, 1.0, -1)
        return m
    if kind == ",":
        w = max(5, int(stroke * 2.5))
        m = np.zeros((h + int(0.2 * h), w), np.float32)
        cv2.line(m, (w // 2 + 1, h - stroke), (w // 2 - 2, h + int(0.15 * h)), 1.0, max(1, stroke))
        return m
    raise ValueError(kind)


def compose(masks, gaps, h):
    """Places masks left to right, bottoms aligned at `h`, with the given gaps (negative: overlap)."""
    width = sum(m.shape[1] for m in masks) + sum(gaps) + 4
    height = max(m.shape[0] for m in masks) + 4
    out = np.zeros((height, max(width, 8)), np.float32)
    x = 2
    for i, m in enumerate(masks):
        y = 2 + h - min(m.shape[0], h) if m.shape[0] <= h else 2
        region = out[y:y + m.shape[0], x:x + m.shape[1]]
        region[:] = np.maximum(region, m[:region.shape[0], :region.shape[1]])
        x += m.shape[1] + (gaps[i] if i < len(gaps) else 0)
    return tight(out)


def make_number(cat, hand, rng):
    n = int(rng.integers(3, 8))
    h = int(rng.uniform(40, 90))
    font_share = 1.0 if cat == "number-fonts" else 0.0
    digits, masks = [], []
    for _ in range(n):
        d, m = hand.any(font_share=font_share) if font_share else hand.mnist(pen=rng.choice(["pen", "pencil", "marker"]))
        digits.append(str(d))
        masks.append(scale_to_height(m, h * rng.uniform(0.9, 1.05)))
    # The pen's width, as written in these digits (2·area / perimeter of the ink), for dashes and points.
    strokes = []
    for m in masks:
        on = m > 0.5
        edges = np.count_nonzero(on[:, 1:] != on[:, :-1]) + np.count_nonzero(on[1:] != on[:-1])
        if edges:
            strokes.append(2.0 * on.sum() / edges)
    stroke = max(2, int(round(np.median(strokes)))) if strokes else max(2, int(0.1 * h))
    seps = {}
    if cat == "number-dash":
        seps[int(rng.integers(1, n))] = "-"
    elif cat == "number-decimal":
        seps[int(rng.integers(1, n))] = rng.choice([".", ","])
    elif cat == "number-groups":
        k = int(rng.integers(1, n))
        seps[k] = " "
    text, parts, gaps = "", [], []
    for i in range(n):
        if i in seps:
            s = seps[i]
            text += s
            if s == " ":
                gaps[-1] = int(rng.uniform(0.7, 1.1) * h)
            else:
                parts.append(separator_mask(s, h, stroke, rng))
                gaps.append(int(rng.uniform(0.1, 0.25) * h))
        text += digits[i]
        parts.append(masks[i])
        if cat == "number-touching":
            gaps.append(-int(rng.uniform(0.02, 0.08) * h))
        else:
            gaps.append(int(rng.uniform(0.12, 0.35) * h))
    mask = compose(parts, gaps, h)
    if cat == "number-touching":
        mask = np.clip(cv2.dilate(mask, disc(1)), 0, 1)
    if cat == "number-slanted":
        mask = shear_mask(mask, rng.uniform(0.25, 0.5) * rng.choice([1, 1, 1, -1]))
    ruling = "ruled" if cat == "number-ruled-photo" else "plain"
    W = int(mask.shape[1] * rng.uniform(1.3, 1.8))
    H = int(max(mask.shape[0] * rng.uniform(2.0, 3.5), 120))
    sheet, step = paper(H, W, rng, ruling)
    if step:  # re-rule at a step that suits the writing's height
        sheet, step = paper(H, W, rng, "plain")
        line_step = int(h * rng.uniform(1.2, 1.6))
        colour = np.float32([0.55, 0.7, 0.9])
        for y in range(int(rng.integers(line_step)), H, line_step):
            sheet[y:y + 2] = sheet[y:y + 2] * 0.3 + colour * 0.7
    x = (W - mask.shape[1]) // 2
    y = (H - mask.shape[0]) // 2
    lay(sheet, mask, x, y, ink_colour(rng))
    if cat in ("number-ruled-photo", "number-photo"):
        return text, photograph(sheet, rng), "jpg", {"quality": rng.integers(65, 92)}
    pic = sheet
    if rng.random() < 0.5:
        pic = photograph(sheet, rng)
    return text, pic, rng.choice(["png", "jpg"]), {"quality": 90}


NUMBERS = ["number-apart", "number-photo", "number-ruled-photo", "number-dash", "number-decimal", "number-groups",
           "number-touching", "number-slanted", "number-fonts"]


# ----------------------------------------------------------------------------------------------------
# Things that are not digits (for predict): noise, lines, letters, checkerboards.


def junk(cat, hand, rng):
    W, H = int(rng.uniform(200, 500)), int(rng.uniform(200, 500))
    sheet, _ = paper(H, W, rng, "plain")
    colour = ink_colour(rng)
    if cat == "junk-noise":
        if rng.random() < 0.5:
            n = rng.random((H, W)).astype(np.float32)
            sheet = np.repeat(n[..., None], 3, axis=2)
        else:
            m = (rng.random((H, W)) < rng.uniform(0.01, 0.08)).astype(np.float32)
            m = cv2.dilate(m, disc(rng.uniform(1, 3)))
            lay(sheet, m, 0, 0, colour)
    elif cat == "junk-lines":
        m = np.zeros((H, W), np.float32)
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.5:
                y = int(rng.uniform(0.2, 0.8) * H)
                cv2.line(m, (int(rng.uniform(0, 0.3) * W), y), (int(rng.uniform(0.7, 1) * W), y + int(rng.uniform(-0.1, 0.1) * H)),
                         1.0, int(rng.uniform(2, 8)))
            else:
                pts = np.int32([[int(rng.uniform(0, W)), int(rng.uniform(0, H))] for _ in range(4)])
                cv2.polylines(m, [pts], False, 1.0, int(rng.uniform(2, 8)))
        lay(sheet, cv2.GaussianBlur(m, (0, 0), 1.0), 0, 0, colour)
    elif cat == "junk-letters":
        f = hand.fonts[int(rng.integers(len(hand.fonts)))]
        m = deform(render_glyph(f, str(rng.choice(list(JUNK_LETTERS))), rng), rng)
        m = scale_to_height(m, rng.uniform(0.25, 0.5) * H)
        lay(sheet, m, int(W / 2 - m.shape[1] / 2), int(H / 2 - m.shape[0] / 2), colour)
    elif cat == "junk-checker":
        c = int(rng.uniform(6, 40))
        yy, xx = np.mgrid[0:H, 0:W]
        m = (((yy // c) + (xx // c)) % 2).astype(np.float32)
        lay(sheet, m, 0, 0, colour)
    else:
        raise ValueError(cat)
    pic = photograph(sheet, rng) if rng.random() < 0.5 else sheet
    return pic, rng.choice(["png", "jpg"]), {"quality": 90}


JUNK = ["junk-noise", "junk-lines", "junk-letters", "junk-checker"]


# ----------------------------------------------------------------------------------------------------


def generate(args, out):
    split = "train" if args.set == "dev" else "t10k"
    images = read_idx(os.path.join(args.data, f"{split}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(args.data, f"{split}-labels-idx1-ubyte"))
    fonts = [f for f in (DEV_FONTS if args.set == "dev" else REPORT_FONTS) if os.path.exists(f)]
    if not fonts:
        die("none of the set's fonts is installed (scripts/install_deps.sh installs them)")
    seed = args.seed + (1000 if args.set == "dev" else 0)
    os.makedirs(out, exist_ok=True)
    manifest = []
    n = args.per_category
    for ci, cat in enumerate(SINGLE + NUMBERS + JUNK):
        rng = np.random.default_rng([seed, ci])
        hand = Hand(images, labels, fonts, rng)
        for i in range(n):
            if cat in SINGLE:
                label, pic, ext, opt = single_digit(cat, hand, rng)
                kind, truth = "digit", int(label)
            elif cat in NUMBERS:
                truth, pic, ext, opt = make_number(cat, hand, rng)
                kind = "number"
            else:
                pic, ext, opt = junk(cat, hand, rng)
                kind, truth = "junk", None
            fmt = ext
            ext = "pgm" if ext == "pgm-ascii" else ext
            path = os.path.join(out, f"{cat}-{i:04d}.{ext}")
            save(pic, path, fmt=fmt, quality=opt.get("quality"), exif_orientation=opt.get("exif_orientation"))
            manifest.append({"file": path, "category": cat, "kind": kind, "truth": truth})
    with open(os.path.join(out, "manifest.jsonl"), "w") as f:
        for m in manifest:
            f.write(json.dumps(m) + "\n")
    return manifest


def run_lenet(lenet, command, files, model):
    """Runs `lenet COMMAND --json` over the files in chunks; returns {file: answer} and the CPU seconds."""
    answers = {}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for k in range(0, len(files), 200):
        chunk = files[k:k + 200]
        cmd = [lenet, command, "--json"] + (["--model", model] if model else []) + chunk
        p = subprocess.run(cmd, capture_output=True, text=True)
        for line in p.stdout.splitlines():
            try:
                j = json.loads(line)
            except json.JSONDecodeError:
                continue
            answers[j.get("file")] = j
        for f in chunk:
            if f not in answers:
                answers[f] = {"file": f, "error": f"no answer (exit {p.returncode}): {p.stderr.strip()[-200:]}"}
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return answers, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)


def is_not_digit(a):
    return a.get("not_digit") is True or ("error" not in a and a.get("digit", 0) is None)


def no_ink(a):
    return "error" in a and "ink" in a["error"]


def number_text(a):
    if "error" in a:
        return None
    return a.get("text", "")


def digits_only(s):
    return "".join(c for c in s if c.isdigit())


def pct(k, n):
    return f"{100.0 * k / n:5.1f}%" if n else "    -"


def tally(p, cats, names, columns, count):
    """The rows of one table of the report: for each category of `names` that has items, the items'
    counts summed by column (`count(item)` gives an item's {column: 0 or 1}), printed as percentages of the
    category's items in columns of the given widths. Returns ({category: counts}, counts over them all)."""
    per_category, total = {}, dict.fromkeys(["n", *columns], 0)
    for cat in names:
        items = cats.get(cat, [])
        if not items:
            continue
        counts = dict.fromkeys(["n", *columns], 0)
        counts["n"] = len(items)
        for m in items:
            for column, k in count(m).items():
                counts[column] += k
        for key in total:
            total[key] += counts[key]
        per_category[cat] = counts
        p(f"{cat:<18} {counts['n']:>5} " + " ".join(f"{pct(counts[c], counts['n']):>{w}}" for c, w in columns.items()))
    return per_category, total


def overall(p, total, columns):
    p(f"{'overall':<18} {total['n']:>5} " + " ".join(f"{pct(total[c], total['n']):>{w}}" for c, w in columns.items()))


def report(manifest, pred, read, out_json=None):
    lines = []
    p = lines.append
    cats = {}
    for m in manifest:
        cats.setdefault(m["category"], []).append(m)
    summary = {}

    p("Single digits (lenet predict): right = the digit named; no ink = refused as holding no ink;")
    p("not-digit = answered 'not a digit'; other err = any other error")
    p(f"{'category':<18} {'n':>5} {'right':>7} {'no ink':>7} {'not-digit':>9} {'other err':>9}")
    confs = []  # (confidence, right) for every real digit that got a digit answer

    def single(m):
        a = pred[m["file"]]
        if no_ink(a):
            return {"no_ink": 1}
        if "error" in a:
            return {"other_error": 1}
        if is_not_digit(a):
            return {"not_digit": 1}
        ok = a["digit"] == m["truth"]
        confs.append((a.get("confidence", 0.0), ok))
        return {"right": int(ok)}

    summary["single"], summary["single_overall"] = tally(
        p, cats, SINGLE, {"right": 7, "no_ink": 7, "not_digit": 9, "other_error": 9}, single)
    overall(p, summary["single_overall"], {"right": 7})

    p("")
    p("Numbers (lenet read): exact = text equal to what is written, separators included;")
    p("digits exact = the same with every non-digit removed from both")
    p(f"{'category':<18} {'n':>5} {'exact':>7} {'digits exact':>13} {'error':>7}")

    def number(m):
        t = number_text(read[m["file"]])
        if t is None:
            return {"error": 1}
        return {"exact": int(t == m["truth"]),
                "digits_exact": int(digits_only(t) == digits_only(m["truth"]) and "?" not in t)}

    summary["numbers"], summary["numbers_overall"] = tally(
        p, cats, NUMBERS, {"exact": 7, "digits_exact": 13, "error": 7}, number)
    overall(p, summary["numbers_overall"], {"exact": 7, "digits_exact": 13})

    p("")
    p("Not digits (lenet predict): rejected = answered 'not a digit' (or refused as holding no ink)")
    p(f"{'category':<18} {'n':>5} {'rejected':>9} {'no ink':>7} {'as a digit':>10}")

    def not_digit(m):
        a = pred[m["file"]]
        if is_not_digit(a):
            return {"rejected": 1}
        if no_ink(a):
            return {"rejected": 1, "no_ink": 1}
        return {"as_digit": int("error" not in a)}

    summary["junk"], summary["junk_overall"] = tally(
        p, cats, JUNK, {"rejected": 9, "no_ink": 7, "as_digit": 10}, not_digit)
    overall(p, summary["junk_overall"], {"rejected": 9})

    # Risk-coverage over the single digits that got a digit answer: keep the most confident share.
    if confs:
        confs.sort(key=lambda c: -c[0])
        errors = sum(1 for c in confs if not c[1])
        p("")
        p("Risk-coverage (single digits answered with a digit, least confident rejected first):")
        p(f"{'coverage':>9} {'kept':>6} {'errors':>7} {'error rate':>10} {'errors removed':>15}")
        rc = []
        for cov in (1.0, 0.98, 0.95, 0.90, 0.80):
            k = int(round(cov * len(confs)))
            e = sum(1 for c in confs[:k] if not c[1])
            removed = (errors - e) / errors if errors else 1.0
            rc.append({"coverage": cov, "kept": k, "errors": e, "errors_removed": removed})
            p(f"{100 * cov:8.0f}% {k:>6} {e:>7} {pct(e, k):>10} {100 * removed:14.1f}%")
        summary["risk_coverage"] = rc
    text = "\n".join(lines)
    if out_json:
        with open(out_json, "w") as f:
            json.dump(summary, f, indent=1)
    return text


def time_big_photo(args, out, hand_rng_seed):
    """CPU time of `lenet read` on one 12-Mpixel (4000×3000) phone photo, less that of the same command
    on a tiny picture (program start and model load)."""
    rng = np.random.default_rng([hand_rng_seed, 999])
    split = "train" if args.set == "dev" else "t10k"
    images = read_idx(os.path.join(args.data, f"{split}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(args.data, f"{split}-labels-idx1-ubyte"))
    hand = Hand(images, labels, [], rng)
    sheet, _ = paper(1500, 2000, rng, "ruled")
    x = 500
    for _ in range(4):
        _, m = hand.mnist()
        m = scale_to_height(m, 260)
        lay(sheet, m, x, 600, ink_colour(rng))
        x += m.shape[1] + 60
    big = photograph(sheet, rng, with_table=True, out_size=(4000, 3000))
    big_path = os.path.join(out, "perf-12mp.jpg")
    save(big, big_path, quality=90)
    small_path = os.path.join(out, "perf-small.png")
    save(cv2.resize(big, (200, 150), interpolation=cv2.INTER_AREA), small_path)

    def cpu(path, reps=3):
        best = float("inf")
        for _ in range(reps):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            cmd = [args.lenet, "read", "--json"] + (["--model", args.model] if args.model else []) + [path]
            subprocess.run(cmd, capture_output=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            best = min(best, (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime))
        return best

    return cpu(big_path) - cpu(small_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lenet", default="build/lenet", help="the lenet program (default build/lenet)")
    ap.add_argument("--model", default="", help="model file (default: lenet's own, the shipped model)")
    ap.add_argument("--data", default="data/mnist", help="MNIST idx directory (default data/mnist)")
    ap.add_argument("--set", choices=["dev", "report"], default="report",
                    help="dev: MNIST training digits, dev fonts; report: MNIST test digits, report fonts")
    ap.add_argument("--per-category", type=int, default=100, help="pictures per category (default 100)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="", help="directory for the pictures (default build/eval-pictures/SET)")
    ap.add_argument("--json", default="", help="also write the figures as JSON to this file")
    ap.add_argument("--answers", default="",
                    help="also write lenet's answer for every picture to this file, one JSON line each in file "
                    "order (to compare two builds byte for byte)")
    ap.add_argument("--no-timing", action="store_true", help="skip the 12-Mpixel photo timing")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the pictures already in --out if they were made with the same set, seed, count "
                    "and GENERATOR_VERSION")
    ap.add_argument("--smoke", action="store_true",
                    help="exit 1 unless lenet answered every picture (a digit, a text or an error of its own)")
    args = ap.parse_args()
    if args.per_category < 1:
        die("--per-category must be at least 1")
    if not os.access(args.lenet, os.X_OK):
        die(f"{args.lenet} is not an executable lenet program (build first: make build)")
    for f in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        if not os.path.exists(os.path.join(args.data, f)):
            die(f"{os.path.join(args.data, f)} not found (fetch MNIST first: scripts/fetch_mnist.sh)")
    out = args.out or os.path.join("build", "eval-pictures", args.set)

    t0 = time.time()
    params = {"set": args.set, "seed": args.seed, "per_category": args.per_category,
              "generator": GENERATOR_VERSION}
    params_path = os.path.join(out, "params.json")
    manifest = None
    if args.reuse and os.path.exists(params_path):
        with open(params_path) as f:
            if json.load(f) == params:
                with open(os.path.join(out, "manifest.jsonl")) as m:
                    manifest = [json.loads(line) for line in m]
    if manifest is None:
        manifest = generate(args, out)
        with open(params_path, "w") as f:
            json.dump(params, f)
    t1 = time.time()
    digit_files = [m["file"] for m in manifest if m["kind"] in ("digit", "junk")]
    number_files = [m["file"] for m in manifest if m["kind"] == "number"]
    pred, pred_cpu = run_lenet(args.lenet, "predict", digit_files, args.model)
    read, read_cpu = run_lenet(args.lenet, "read", number_files, args.model)
    t2 = time.time()
    if args.answers:
        with open(args.answers, "w") as f:
            for name in sorted(pred) + sorted(read):
                f.write(json.dumps((pred if name in pred else read)[name], sort_keys=True) + "\n")
    print(f"Real-picture evaluation, set '{args.set}' (MNIST {'training' if args.set == 'dev' else 'test'} "
          f"digits), {args.per_category} pictures per category, seed {args.seed}; pictures in {out}")
    print(f"(generated in {t1 - t0:.1f} s; lenet predict {pred_cpu:.1f} s CPU for {len(digit_files)} pictures, "
          f"lenet read {read_cpu:.1f} s CPU for {len(number_files)})")
    print()
    print(report(manifest, pred, read, args.json or None))
    unanswered = [f for f, a in list(pred.items()) + list(read.items()) if a.get("error", "").startswith("no answer")]
    if args.smoke and (unanswered or len(pred) + len(read) != len(manifest)):
        die(f"lenet gave no answer for {len(unanswered)} of {len(manifest)} pictures, e.g. "
            f"{unanswered[0] if unanswered else '?'}: {pred.get(unanswered[0], read.get(unanswered[0], {})) if unanswered else ''}")
    if not args.no_timing:
        ms = 1000 * time_big_photo(args, out, args.seed)
        print()
        print(f"A 12-Mpixel (4000x3000) phone photo of a number: lenet read takes {ms:.0f} ms of CPU "
              "(best of 3, less the same command on a 200x150 picture)")


if __name__ == "__main__":
    main()
