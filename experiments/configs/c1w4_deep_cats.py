"""Course 1, week 4: a two-layer and an L-layer ReLU net on the cat pictures.

Commands:
  python experiments/c1w4_deep_cats.py --data_dir ../shared/data --config.course_compat=True
  python experiments/c1w4_deep_cats.py --data_dir ../shared/data --config.course_compat=True \\
      --config.model=two_layer
Course results: L-layer [12288, 20, 7, 5, 1] (randn / sqrt(n_prev), seed 1): train 98.56 %,
test 80 %, cost 0.771749 at 0 and 0.092878 at 2400. Two-layer 12288-7-1 (randn * 0.01,
seed 1): train 100 %, test 72 %, cost 0.693050 at 0.
"""
import ml_collections


def get_config():
  config = ml_collections.ConfigDict()
  config.model = "l_layer"      # or "two_layer"
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
