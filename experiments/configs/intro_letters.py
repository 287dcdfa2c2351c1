"""Recognizing the 26 letters (22 x 55 generated images) with softmax or the quadratic loss.

Commands:
  python -m experiments intro_letters
  python -m experiments intro_letters --config.losses="('quadratic',)" --config.num_epochs=80
  python experiments/intro_letters.py --config=experiments/configs/intro_letters.py \\
      --workdir runs/letters
Data: A-Z rendered from matplotlib's fonts (DejaVu Sans/Serif/Sans Mono and STIX General,
regular/bold/oblique/bold oblique; Computer Modern roman/bold/italic/sans/typewriter) with
random scale, rotation (up to 8 degrees), shift and pixel noise from ``seed``
(``dlcourse.letters``); generated in about a second and cached in the run's cache directory.
Faces only in the test set (``test_only``): all five Computer Modern faces, DejaVu Serif
Bold Italic and DejaVu Sans Mono Bold Oblique. Train: 14 faces x 26 letters x 8 = 2912
images; test: 21 faces x 26 x 3 = 1638, 546 of them in the unseen faces.
Expected result: chance is 1/26 = 3.85 % (the untrained net is there); the [1210, 64, 26]
net after 40 epochs of Adam (lr 3e-4, batches of 32) reaches about 100 % train and 90 %
test with softmax (93 % on new images of the training fonts, 88 % on the unseen fonts),
and about 95 % train / 80 % test with the quadratic loss, which learns more slowly and,
at higher rates (1e-3 and up), kills its ReLU units and stalls near chance.
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ()
REPORT = (
    Row("intro_letters", "Intro: 26 letters, [1210, 64, 26] net, softmax vs quadratic loss",
        # One core, cold: 4.6-4.9 s since 2026-12-07 (5.9 s before its elementwise options).
        Course(), expected_s=5.0, note="chance 1/26 = 3.85 %; ours: softmax train / test"),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.train_per_letter = 8    # images per letter per training face
  config.test_per_letter = 3     # images per letter per face (all faces) in the test set
  config.test_only = ("Computer Modern Roman", "Computer Modern Bold",
                      "Computer Modern Italic", "Computer Modern Sans",
                      "Computer Modern Typewriter", "DejaVu Serif Bold Italic",
                      "DejaVu Sans Mono Bold Oblique")
  config.jitter_scale = (0.75, 1.0)  # random scale relative to the fitted glyph
  config.max_rotation_deg = 8.0
  config.max_shift_px = 3.0
  config.noise = 0.05               # std of the added pixel noise
  config.losses = ("softmax", "quadratic")
  config.hidden_dims = (64,)
  config.learning_rate = 3e-4       # Adam
  config.batch_size = 32
  config.num_epochs = 40
  config.record_every = 1
  config.dtype = "float32"
  config.method = "manual"
  return config
