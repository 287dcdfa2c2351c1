"""The 26 letters as 22 x 55 grey images, generated from matplotlib's bundled fonts.

No letter set ships with any package, so one is rendered deterministically from a seed.
Each image is 22 pixels wide and 55 tall (``HEIGHT`` x ``WIDTH`` = 55 x 22 rows x
columns), flattened row by row into a column of X: n_x = 1210 grey values in [0, 1],
ink = 1 on a background of 0. Classes 0..25 are A..Z.

How one example is made:

1. The capital is rendered once per font face with FreeType (matplotlib's ``FT2Font``,
   into memory; no file is written), about 96 px tall, and cropped to its ink.
2. It is condensed horizontally by ``CONDENSE`` (the frame is 2.5 times taller than
   wide), then scaled to fit the frame less a margin, keeping its aspect ratio.
3. A random similarity transform: scale x U(0.75, 1), rotation U(-8, 8) degrees,
   shift within the free space left by the scaled glyph (at most 3 px each way).
4. The frame is sampled on a 2 x 2 sub-pixel grid per pixel with bilinear
   interpolation of the glyph and averaged (anti-aliasing).
5. Pixel noise N(0, ``noise``^2) is added and the values clipped to [0, 1].

All randomness comes from ``numpy.random.default_rng(SeedSequence([seed, stream]))``,
so a (seed, stream, face list, count) always gives the same images.

Fonts (``FACES``): DejaVu Sans / Serif / Sans Mono and STIX General in regular, bold,
oblique (italic) and bold oblique; Computer Modern roman, bold, italic, sans and
typewriter (cmr10, cmb10, cmti10, cmss10, cmtt10).
"""
import os
from typing import NamedTuple

import numpy as np

from dlcourse import validation
from dlcourse.errors import ConfigError, ShapeError

HEIGHT, WIDTH = 55, 22          # rows, columns
N_X = HEIGHT * WIDTH            # 1210
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
NUM_CLASSES = len(LETTERS)
CONDENSE = 0.6                  # horizontal squeeze of every glyph before fitting
MARGIN = 2.0                    # pixels kept free around the fitted glyph
RENDER_PX = 96                  # em size of the one-off FreeType rendering
SUPERSAMPLE = 2                 # sub-pixels per pixel side


class Face(NamedTuple):
  name: str        # "DejaVu Sans Bold"
  file: str        # file in matplotlib's mpl-data/fonts/ttf


FACES = (
    Face("DejaVu Sans", "DejaVuSans.ttf"),
    Face("DejaVu Sans Bold", "DejaVuSans-Bold.ttf"),
    Face("DejaVu Sans Oblique", "DejaVuSans-Oblique.ttf"),
    Face("DejaVu Sans Bold Oblique", "DejaVuSans-BoldOblique.ttf"),
    Face("DejaVu Serif", "DejaVuSerif.ttf"),
    Face("DejaVu Serif Bold", "DejaVuSerif-Bold.ttf"),
    Face("DejaVu Serif Italic", "DejaVuSerif-Italic.ttf"),
    Face("DejaVu Serif Bold Italic", "DejaVuSerif-BoldItalic.ttf"),
    Face("DejaVu Sans Mono", "DejaVuSansMono.ttf"),
    Face("DejaVu Sans Mono Bold", "DejaVuSansMono-Bold.ttf"),
    Face("DejaVu Sans Mono Oblique", "DejaVuSansMono-Oblique.ttf"),
    Face("DejaVu Sans Mono Bold Oblique", "DejaVuSansMono-BoldOblique.ttf"),
    Face("STIX General", "STIXGeneral.ttf"),
    Face("STIX General Bold", "STIXGeneralBol.ttf"),
    Face("STIX General Italic", "STIXGeneralItalic.ttf"),
    Face("STIX General Bold Italic", "STIXGeneralBolIta.ttf"),
    Face("Computer Modern Roman", "cmr10.ttf"),
    Face("Computer Modern Bold", "cmb10.ttf"),
    Face("Computer Modern Italic", "cmti10.ttf"),
    Face("Computer Modern Sans", "cmss10.ttf"),
    Face("Computer Modern Typewriter", "cmtt10.ttf"),
)
FACE_NAMES = tuple(face.name for face in FACES)

# Held out by default: every Computer Modern face and the bold-oblique styles of two
# other families, so the test set asks for a new family and a new style of known ones.
DEFAULT_TEST_ONLY = ("Computer Modern Roman", "Computer Modern Bold", "Computer Modern Italic",
                     "Computer Modern Sans", "Computer Modern Typewriter",
                     "DejaVu Serif Bold Italic", "DejaVu Sans Mono Bold Oblique")


class LetterSet(NamedTuple):
  """X (1210, m) float32 in [0, 1]; labels (1, m) int32 in [0, 26); face (m,) int32
  indices into ``FACE_NAMES``."""
  X: np.ndarray
  labels: np.ndarray
  face: np.ndarray


def _fonts_dir():
  import matplotlib  # pylint: disable=import-outside-toplevel
  return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def _load_flags():
  from matplotlib import ft2font  # pylint: disable=import-outside-toplevel
  flags = getattr(getattr(ft2font, "LoadFlags", None), "NO_HINTING", None)
  return ft2font.LOAD_NO_HINTING if flags is None else flags  # matplotlib < 3.10


def render_glyphs(font_file, letters=LETTERS, size_px=RENDER_PX):
  """The anti-aliased glyphs of ``letters`` in one font, each cropped to its ink:
  a list of (h, w) float64 arrays in [0, 1]. FreeType draws into matplotlib's in-memory
  image; nothing is written."""
  from matplotlib import ft2font  # pylint: disable=import-outside-toplevel
  font = ft2font.FT2Font(os.path.join(_fonts_dir(), font_file))
  font.set_size(size_px, 72)  # points at 72 dpi = pixels
  glyphs = []
  for letter in letters:
    font.set_text(letter, 0.0, flags=_load_flags())
    font.draw_glyphs_to_bitmap(antialiased=True)
    image = np.asarray(font.get_image(), dtype=np.float64) / 255.0
    rows = np.flatnonzero(image.max(axis=1) > 0)
    cols = np.flatnonzero(image.max(axis=0) > 0)
    if rows.size == 0:
      raise ConfigError(f"font {font_file} drew no ink for {letter!r}")
    glyphs.append(image[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])
  return glyphs


class Glyphs(NamedTuple):
  """Every face's 26 glyphs padded into one zero array ``table`` (G, Hc, Wc), G =
  len(FACES) * 26 (row f * 26 + k is face f, letter k), and their ink sizes (G, 2)."""
  table: np.ndarray
  sizes: np.ndarray


def render_faces():
  """The Glyphs of all FACES (about a second; pass the result to ``generate`` to reuse)."""
  glyphs = [g for face in FACES for g in render_glyphs(face.file)]
  sizes = np.array([g.shape for g in glyphs], dtype=np.float64)
  # One zero row/column of padding on each side so bilinear reads outside the ink are 0.
  hc, wc = int(sizes[:, 0].max()) + 2, int(sizes[:, 1].max()) + 2
  table = np.zeros((len(glyphs), hc, wc))
  for i, g in enumerate(glyphs):
    table[i, 1:1 + g.shape[0], 1:1 + g.shape[1]] = g
  return Glyphs(table, sizes)


def face_indices(names):
  """Indices into ``FACE_NAMES``; ConfigError names an unknown face."""
  indices = []
  for name in names:
    if name not in FACE_NAMES:
      raise ConfigError(f"unknown font face {name!r}; expected one of {FACE_NAMES}")
    indices.append(FACE_NAMES.index(name))
  return tuple(indices)


class Jitter(NamedTuple):
  """Ranges of the random transform (the defaults of ``generate``)."""
  scale: tuple = (0.75, 1.0)
  max_rotation_deg: float = 8.0
  max_shift_px: float = 3.0
  noise: float = 0.05


def _transforms(rng, sizes, jitter):
  """Per-example (scale_y, scale_x, angle, centre_row, centre_col) from the glyph ink
  sizes (m, 2): fit into the frame less MARGIN, condensed, jittered."""
  h, w = sizes[:, 0], sizes[:, 1] * CONDENSE
  fit = np.minimum((HEIGHT - 2 * MARGIN) / h, (WIDTH - 2 * MARGIN) / w)
  s = fit * rng.uniform(*jitter.scale, size=len(sizes))
  angle = np.deg2rad(rng.uniform(-jitter.max_rotation_deg, jitter.max_rotation_deg,
                                 size=len(sizes)))
  # Free space around the scaled (unrotated) glyph, shared out as a random shift.
  free_r = np.clip((HEIGHT - 2 * MARGIN - s * h) / 2, 0, jitter.max_shift_px)
  free_c = np.clip((WIDTH - 2 * MARGIN - s * w) / 2, 0, jitter.max_shift_px)
  centre_r = HEIGHT / 2 + rng.uniform(-1, 1, size=len(sizes)) * free_r
  centre_c = WIDTH / 2 + rng.uniform(-1, 1, size=len(sizes)) * free_c
  return s, s * CONDENSE, angle, centre_r, centre_c


def _warp(table, sizes, glyph, transform, chunk=16):
  """Samples each example's glyph through its transform: (m, HEIGHT, WIDTH) in [0, 1].

  A frame point (y, x) maps back to the glyph point
      u = R(-angle) ((y, x) - centre) / (scale_y, scale_x) + glyph centre
  read with bilinear interpolation on a SUPERSAMPLE^2 sub-pixel grid, averaged per pixel.
  ``chunk`` examples at a time: 16 keeps each temporary (16 x 110 x 44 points) in the
  cache; 256 took the report's 3588 images 1.1-1.5 s instead of 0.5 (the same values).
  """
  k = SUPERSAMPLE
  sub = (np.arange(k) + 0.5) / k
  ys = (np.arange(HEIGHT)[:, None] + sub[None, :]).ravel()   # (H k,)
  xs = (np.arange(WIDTH)[:, None] + sub[None, :]).ravel()    # (W k,)
  hc, wc = table.shape[1:]
  flat = table.reshape(len(table), -1)
  out = np.empty((len(glyph), HEIGHT, WIDTH))
  for start in range(0, len(glyph), chunk):
    sl = slice(start, start + chunk)
    sy, sx, angle, cr, cc = (t[sl, None, None] for t in transform)
    dy, dx = ys[None, :, None] - cr, xs[None, None, :] - cc
    cos, sin = np.cos(angle), np.sin(angle)
    # Inverse rotation, then inverse scale; +1 for the table's padding row/column.
    v = (cos * dy + sin * dx) / sy + sizes[glyph[sl], 0][:, None, None] / 2 + 1
    u = (-sin * dy + cos * dx) / sx + sizes[glyph[sl], 1][:, None, None] / 2 + 1
    # Bilinear read at pixel-centre coordinates (v - 0.5, u - 0.5), zero outside.
    v, u = np.clip(v - 0.5, 0, hc - 1.001), np.clip(u - 0.5, 0, wc - 1.001)
    v0, u0 = np.floor(v).astype(np.int64), np.floor(u).astype(np.int64)
    fv, fu = v - v0, u - u0
    base = (glyph[sl][:, None, None] * hc + v0) * wc + u0
    rows = flat.ravel()
    value = ((1 - fv) * ((1 - fu) * rows[base] + fu * rows[base + 1])
             + fv * ((1 - fu) * rows[base + wc] + fu * rows[base + wc + 1]))
    out[sl] = _subpixel_mean(value)
  return out


def _subpixel_mean(value):
  """Each pixel's mean over its SUPERSAMPLE^2 = 2 x 2 sub-pixels, value (n, H k, W k) ->
  (n, H, W): ((top left + top right) + (bottom left + bottom right)) / 4, the sums in
  the order of NumPy's ``mean(axis=(2, 4))`` over the (n, H, 2, W, 2) view (the same
  bits: the tests check it) at a seventh of its time."""
  r = value.reshape(value.shape[0], HEIGHT, SUPERSAMPLE, WIDTH, SUPERSAMPLE)
  if SUPERSAMPLE != 2:
    return r.mean(axis=(2, 4))
  return ((r[:, :, 0, :, 0] + r[:, :, 0, :, 1]) + (r[:, :, 1, :, 0] + r[:, :, 1, :, 1])) / 4


def generate(seed, face_names, per_letter, *, stream=0, jitter=Jitter(), glyphs=None):
  """``per_letter`` random images of each of the 26 letters in each face.

  Returns a LetterSet with m = len(face_names) * 26 * per_letter columns, ordered by
  face, then letter, then draw. ``stream`` separates independent draws from one seed
  (the train and test sets use different streams). ``glyphs``: ``render_faces()``'s
  result, to render the fonts once for several calls (rendered here when None).
  """
  faces = face_indices(face_names)
  per_letter = validation.positive_int("per_letter", per_letter)
  if not faces:
    raise ConfigError("generate needs at least one font face")
  table, sizes = glyphs if glyphs is not None else render_faces()
  rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(stream)]))
  # Rows of the glyph table: face f's letter k is row f * 26 + k.
  glyph = np.repeat((np.asarray(faces)[:, None] * NUM_CLASSES
                     + np.arange(NUM_CLASSES)[None, :]).ravel(), per_letter)
  transform = _transforms(rng, sizes[glyph], jitter)
  images = _warp(table, sizes, glyph, transform)
  images = np.clip(images + jitter.noise * rng.standard_normal(images.shape), 0.0, 1.0)
  X = images.reshape(len(glyph), N_X).T.astype(np.float32)
  labels = (glyph % NUM_CLASSES).astype(np.int32)[None, :]
  face = (glyph // NUM_CLASSES).astype(np.int32)
  return LetterSet(X, labels, face)


class Split(NamedTuple):
  train: LetterSet
  test: LetterSet
  train_faces: tuple
  test_only_faces: tuple


def train_test(seed, *, test_only=DEFAULT_TEST_ONLY, train_per_letter=6, test_per_letter=2,
               jitter=Jitter()):
  """The train/test split. Train: ``train_per_letter`` draws per letter of every face
  not in ``test_only``. Test: ``test_per_letter`` fresh draws (another stream) per letter
  of every face, the ``test_only`` faces included, so the test set holds both new
  images of the training fonts and fonts/styles never seen in training."""
  test_only = tuple(test_only)
  face_indices(test_only)
  train_faces = tuple(name for name in FACE_NAMES if name not in test_only)
  if not train_faces:
    raise ConfigError("test_only leaves no font face for training")
  glyphs = render_faces()
  train = generate(seed, train_faces, train_per_letter, stream=0, jitter=jitter, glyphs=glyphs)
  test = generate(seed, FACE_NAMES, test_per_letter, stream=1, jitter=jitter, glyphs=glyphs)
  return Split(train, test, train_faces, test_only)


def image_of(X, i):
  """Column i of X (1210, m) as a (55, 22) image."""
  X = np.asarray(X)
  if X.ndim != 2 or X.shape[0] != N_X:
    raise ShapeError(f"expected letter images X of shape ({N_X}, m), got {X.shape}")
  return X[:, i].reshape(HEIGHT, WIDTH)


def confusion_matrix(labels, predictions, num_classes=NUM_CLASSES):
  """C (K, K) with C[i, j] = number of examples of class i predicted as j."""
  labels, predictions = np.ravel(labels).astype(int), np.ravel(predictions).astype(int)
  if labels.shape != predictions.shape:
    raise ShapeError(f"labels {labels.shape} and predictions {predictions.shape} differ")
  C = np.zeros((num_classes, num_classes), dtype=np.int64)
  np.add.at(C, (labels, predictions), 1)
  return C


def scores_accuracy(A, labels, mask=None):
  """Fraction of columns whose argmax over the K rows of A (K, m) equals the label
  (any output: softmax probabilities or the quadratic model's linear scores). ``mask``
  (m,) bool restricts to some columns; None when it selects none."""
  pred = np.argmax(np.asarray(A), axis=0)
  correct = pred == np.ravel(labels)
  if mask is not None:
    correct = correct[np.asarray(mask, bool)]
  return float(np.mean(correct)) if correct.size else None
