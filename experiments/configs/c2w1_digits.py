"""Course 2, week 1 practice on 10 classes: scikit-learn's bundled 8x8 digits (no download).

Command:
  python experiments/c2w1_digits.py
A [64, 64, 10] ReLU/softmax net (softmax cross-entropy, dZ = A - Y with one-hot Y), inputs
standardized with training-set statistics, a 60/20/20 train/dev/test split, full-batch GD
with early stopping on the dev cost. The course has no number for this set; expect about
97-98 % test accuracy (train 100 %).
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ()
REPORT = (
    Row("c2w1_digits", "C2W1 softmax net + early stopping, 8x8 digits", Course(),
        note="no course number"),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.hidden_dims = (64,)
  config.initialization = "he"
  config.learning_rate = 0.3
  config.lambd = 0.0
  config.max_iterations = 5000
  config.eval_every = 50      # iterations between dev evaluations
  config.patience = 10        # evaluations without improvement before stopping
  config.split = (0.6, 0.2, 0.2)
  config.split_seed = 0
  config.course_compat = False  # no course numbers here; True only switches to float64
  config.dtype = "float32"
  config.method = "manual"
  config.seed = 0
  return config
