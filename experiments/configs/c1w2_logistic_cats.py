"""Course 1, week 2: logistic regression on the cat pictures.

Command:
  python experiments/c1w2_logistic_cats.py --data_dir ../shared/data --config.course_compat=True
Course result: train 99.04 %, test 70.0 %; cost 0.693147 at iteration 0, 0.140872 at 1900.
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")
REPORT = (
    Row("c1w2_logistic", "C1W2 logistic regression, cats", Course(99.04, 70.0, (1900, 0.140872))),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.learning_rate = 0.005
  config.num_iterations = 2000
  config.record_every = 100
  config.course_compat = False  # True: float64, as the notebook (zeros init either way)
  config.dtype = "float32"
  config.method = "manual"      # or "autodiff": jax.grad instead of the hand-written backward
  config.seed = 0               # unused: zero initialization draws nothing
  return config
