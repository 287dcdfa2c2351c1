"""Course 2, week 1: no regularization vs L2 vs dropout on the football data.

Commands (the data directory holds football.mat):
  python experiments/c2w1_regularization.py --data_dir ../shared/data --config.course_compat=True --config.regularization=none
  python experiments/c2w1_regularization.py --data_dir ../shared/data --config.course_compat=True --config.regularization=l2
  python experiments/c2w1_regularization.py --data_dir ../shared/data --config.course_compat=True --config.regularization=dropout
Course results (train / test): none 94.79 % / 91.5 %; L2 (lambda 0.7) 93.84 % / 93 %;
dropout (keep_prob 0.86 on layers 1-2) 92.89 % / 95 %.
Course-compatible dropout reuses the notebook's masks (it re-seeds NumPy with 1 at every
forward pass, so its masks never change); otherwise masks are fresh at every step, drawn
from jax.random.fold_in(key(seed), step).
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ("football.mat",)
REPORT = (
    Row("c2w1_reg_none", "C2W1 no regularization, football", Course(94.79, 91.5),
        {"regularization": "none"}),
    Row("c2w1_reg_l2", "C2W1 L2 (lambda 0.7), football", Course(93.84, 93.0),
        {"regularization": "l2"}),
    Row("c2w1_reg_dropout", "C2W1 dropout (keep_prob 0.86), football", Course(92.89, 95.0),
        {"regularization": "dropout"}, note="JAX-keyed mode draws fresh masks every step"),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.regularization = "none"  # none | l2 | dropout
  config.layer_dims = (2, 20, 3, 1)
  config.lambd = 0.7
  config.keep_prob = 0.86
  config.dropout_layers = (1, 2)
  config.learning_rate = 0.3
  config.num_iterations = 30000
  config.record_every = 1000
  config.course_compat = False   # True: float64, the notebook's init and dropout masks
  config.dtype = "float32"
  config.method = "manual"
  config.seed = 3
  return config
