"""Course 1, week 4: a two-layer and an L-layer ReLU net on the cat pictures.

Commands:
  python experiments/c1w4_deep_cats.py --data_dir ../shared/data --config.course_compat=True
  python experiments/c1w4_deep_cats.py --config=experiments/configs/c1w4_deep_cats.py:two_layer \\
      --data_dir ../shared/data --config.course_compat=True
Course results: L-layer [12288, 20, 7, 5, 1] (randn / sqrt(n_prev), seed 1): train 98.56 %,
test 80 %, cost 0.771749 at 0 and 0.092878 at 2400. Two-layer 12288-7-1 (randn * 0.01,
seed 1): train 100 %, test 72 %, cost 0.693050 at 0.
"""
import ml_collections

from experiments.runner.rows import Course, Row

DATA_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")
REPORT = (
    Row("c1w4_two_layer", "C1W4 two-layer net, cats", Course(100.0, 72.0, (0, 0.693050)),
        variant="two_layer", expected_s=8.0),
    Row("c1w4_l_layer", "C1W4 L-layer net [12288, 20, 7, 5, 1], cats",
        Course(98.56, 80.0, (2400, 0.092878)), expected_s=10.0),
)


VARIANTS = ("l_layer", "two_layer")


def get_config(variant=None):
  """``variant``: "l_layer" (default) or "two_layer" (``--config=...py:two_layer``)."""
  variant = variant or "l_layer"
  if variant not in VARIANTS:
    raise ValueError(f"unknown variant {variant!r} of c1w4_deep_cats; one of {VARIANTS}")
  config = ml_collections.ConfigDict()
  config.model = variant        # "l_layer" or "two_layer"
  config.hidden_dims = (20, 7, 5)  # l_layer's hidden sizes
  config.n_h = 7                   # two_layer's hidden size
  config.learning_rate = 0.0075
  config.num_iterations = 2500
  config.record_every = 100
  config.course_compat = False  # True: float64 and the notebook's NumPy initializer
  config.dtype = "float32"
  config.method = "manual"
  config.seed = 1
  return config
