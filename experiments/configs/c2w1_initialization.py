"""Course 2, week 1: what initialization does to a [2, 10, 5, 1] ReLU net on the circles.

Commands:
  python experiments/c2w1_initialization.py --config.course_compat=True --config.initialization=zeros
  python experiments/c2w1_initialization.py --config.course_compat=True --config.initialization=random
  python experiments/c2w1_initialization.py --config.course_compat=True --config.initialization=he
Course results (train / test): zeros 50 % / 50 %; random (randn * 10, seed 3) 83 % / 86 %;
He (randn * sqrt(2 / n_prev), seed 3) 99.33 % / 96 %.
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ()
REPORT = (
    Row("c2w1_init_zeros", "C2W1 zeros initialization, circles", Course(50.0, 50.0),
        {"initialization": "zeros"}),
    Row("c2w1_init_random", "C2W1 random x10 initialization, circles", Course(83.0, 86.0),
        {"initialization": "random"}, tolerance=1.0,
        note="passes through an infinite cost in the notebook: platform-sensitive"),
    Row("c2w1_init_he", "C2W1 He initialization, circles", Course(99.33, 96.0),
        {"initialization": "he"}),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.initialization = "he"   # zeros | random | he
  config.layer_dims = (2, 10, 5, 1)
  config.random_scale = 10.0     # "random": randn * 10
  config.learning_rate = 0.01
  config.num_iterations = 15000
  config.record_every = 1000
  config.course_compat = False   # True: float64 and the notebook's NumPy draws
  config.dtype = "float32"
  config.method = "manual"
  config.seed = 3
  return config
