"""Course 2, week 1: gradient checking, 1-D (J = theta * x) and N-D (a 4-5-3-1 net).

Commands:
  python experiments/c2w1_gradient_checking.py
  python experiments/c2w1_gradient_checking.py --config.case=cats --data_dir ../shared/data
  python experiments/c2w1_gradient_checking.py --config.case=batchnorm
Course results: 1-D difference ~2.9e-11 (correct); N-D with the planted bug (dW2 doubled,
db1 scaled by 4): difference 0.2850931567761624 ("there is a mistake"); threshold 2e-7.
Ours also compares with jax.grad and names the disagreeing parameters (W2, b1).
Batch norm (C2W3, no course number): a [5, 4, 3, 3] net with batch norm on its hidden
layers, 6 examples; the correct backward passes (~1e-9 against finite differences); the
planted bug (dZ's path through sigma^2 left out) is flagged at W2 and every parameter of
layer 1 (W1, gamma1, beta1), while gamma2, beta2, W3 and b3 pass.
"""
import ml_collections

from experiments.runner.rows import no_variants


def DATA_FILES(config):  # pylint: disable=invalid-name
  return ("train_catvnoncat.h5", "test_catvnoncat.h5") if config.case == "cats" else ()


REPORT = ()  # the report has its own gradient-check section


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.case = "course"   # "course": the notebook's 4-5-3-1 net; "cats": any model and batch,
                           # here the L-layer cat net on a batch of the cat pictures;
                           # "batchnorm": a small net with batch norm (bn_dense)
  config.bn_layer_dims = (5, 4, 3, 3)        # case "batchnorm"
  config.bn_batch_size = 6                   # case "batchnorm": examples in the batch
  config.layer_dims = (12288, 20, 7, 5, 1)   # case "cats"
  config.batch_size = 8                      # case "cats": the first examples
  config.max_coordinates = 50                # case "cats": sampled coordinates per parameter
  config.cats_epsilon = 1e-5                 # case "cats": the cat net's dW1 entries are
                                             # ~1e-5, so eps = 1e-7 drowns them in rounding
  config.epsilon = 1e-7
  config.threshold = 2e-7
  config.theta = 4.0       # 1-D case: J(theta) = theta * x
  config.x = 2.0
  config.data_seed = 1     # the notebook's gradient_check_n_test_case: np.random.seed(1)
  config.plant_bug = True  # dW2 * 2 and db1 * 4, as in the notebook
  return config
