"""Course 1, week 1: a house's price from one ReLU neuron, then a small net on four features.

Commands:
  python -m experiments c1w1_relu_neuron
  python -m experiments c1w1_relu_neuron --config.net.n_h=5 --config.net.num_iterations=5000
  python experiments/c1w1_relu_neuron.py --config=experiments/configs/c1w1_relu_neuron.py \\
      --workdir runs/neuron
The course draws the picture and states no numbers. Data (generated, seed 0): 300 houses,
size ~ U(20, 250) m^2, bedrooms, a district index 0-4 standing in for the zip code and the
district's wealth; price = max(2.5 size + 12 bedrooms + 25 zip + 2 wealth - 300, 0) + noise
of std 15 k$ (``dlcourse.intro.houses``).
Expected result: the neuron fits price = max(2.72 size - 125, 0) (kink near 46 m^2) with
test RMSE about 73 k$ (size alone misses the other features); the [4, 3, 1] net gets
to the noise level, test RMSE about 12 k$ (train 14). Hand-derived and jax.grad
gradients agree to 1e-15 relative, also with an example exactly at z = 0 (both take
g'(0) = 0).
"""
import ml_collections

from experiments.runner.rows import Course, Row, no_variants

DATA_FILES = ()
REPORT = (
    Row("c1w1_relu_neuron", "C1W1 one ReLU neuron, house price from size; then a [4, 3, 1] net",
        Course(), note="no course number; RMSEs in the section below"),
)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.seed = 0
  config.num_houses = 300
  config.num_test_houses = 100    # drawn with seed + 1
  config.init = (1.0, 1.0)        # (a, b) on the standardized size: the unit starts active
  config.learning_rate = 0.5
  config.num_iterations = 300
  config.record_every = 1
  config.dtype = "float64"
  config.net = ml_collections.ConfigDict()
  config.net.n_h = 3              # the lecture's three hidden units
  config.net.learning_rate = 0.1
  config.net.num_iterations = 3000
  config.net.record_every = 100
  config.net.dtype = "float64"
  config.net.method = "manual"
  config.net.seed = 0
  return config
