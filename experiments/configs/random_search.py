"""Course 2, week 3: random hyperparameter search, learning rate = 10^r, r ~ U[-4, 0].

All num_points models train at once (one vmapped, compiled program) and are ranked by
dev accuracy. One problem per run:

Commands:
  python experiments/random_search.py --data_dir ../shared/data --config.problem=cats
  python experiments/random_search.py --config.problem=moons
  # also sample L2 lambda = 10^s, s ~ U[-3, 1]:
  python experiments/random_search.py --config.problem=moons --config.search_lambd=True

cats: the L-layer net [12288, 20, 7, 5, 1] (ReLU, sigmoid output, randn / sqrt(n_prev)),
  2500 full-batch GD iterations; dev = the course's test set (50 pictures).
moons: [2, 5, 2, 1] (ReLU, He init) on make_moons(300, noise=.2) seed 3 (the C2W2
  notebook's set), 10000 full-batch GD iterations; dev = a fresh make_moons(300,
  noise=.2) sample drawn with seed 4 (config.moons.dev_seed): same distribution,
  independent draws.
Expected (default config, float32; exact numbers in the run's result.json: table, best):
  cats: best lr 0.0070 (train 100 %, dev 78 %; the course's hand-picked 0.0075 gets 80 %
  with its own initialization); lr 0.005-0.06 reaches 60-78 % dev; lr < 0.001 underfits
  (dev 34-58 %); from lr ~0.03 up, runs collapse to predicting "non-cat" everywhere
  (cost 0.644, dev 34 %). The first layer runs in its Gram form (config.first_layer
  "auto"): 64 x 2500 iterations take ~10 s here instead of ~6 min. It has the same
  iterates as the vmapped trainer, but at these learning rates float32 training is
  sensitive to rounding, so --config.first_layer=primal ranks a little differently
  (best lr 0.015, dev 76 %).
  moons: best lr 0.016 (dev 96.3 %, train 93.3 %); every lr above ~0.012 gives 93-96 %
  dev; lr < 0.002 stays near a linear boundary (82-84 %). The fresh dev sample happens to
  be a little easier than the training set.

Several devices (see dlcourse/parallel.py): --config.parallel=models splits the models
over every device (on a CPU, JAX_NUM_CPU_DEVICES=2 makes each core a device: the moons
sweep then runs about twice as fast); --config.parallel=data splits the training columns
instead (m must be a multiple of the device count: moons' 300 works with 2, 3, 4, 5 or 6
devices, cats' 209 = 11 * 19 does not). Several hosts: add
--config.distributed.coordinator_address=HOST:PORT --config.distributed.num_processes=N
--config.distributed.process_id=I on each host (process 0 runs the coordinator).
"""
import ml_collections

from experiments.runner.rows import no_variants


def DATA_FILES(config):  # pylint: disable=invalid-name
  return ("train_catvnoncat.h5", "test_catvnoncat.h5") if config.problem == "cats" else ()


REPORT = ()  # a sweep: see its ranked table (python -m experiments random_search)


def get_config(variant=None):
  no_variants(variant)
  config = ml_collections.ConfigDict()
  config.problem = "cats"              # or "moons"
  config.num_points = 64
  config.search_seed = 0               # RandomState seed of the sampled configurations
  config.learning_rate_log10 = (-4.0, 0.0)
  config.search_lambd = False          # also sample lambda = 10^s
  config.lambd_log10 = (-3.0, 1.0)
  config.record_every = 100
  config.seed = 1                      # every model's initial params: jax.random.key(seed)
  # Per-problem settings, e.g. --config.moons.num_iterations=20000
  config.cats = ml_collections.ConfigDict(dict(num_iterations=2500))
  config.moons = ml_collections.ConfigDict(dict(num_iterations=10000, dev_seed=4))
  config.dtype = "float32"
  config.method = "manual"             # or "autodiff"
  # "auto": the first layer in Gram form (sweep.train_gram: same iterates, m^2 instead of
  # n_x m work) where valid and cheaper (cats), else "primal" (vmap of train.train_gd).
  config.first_layer = "auto"
  config.parallel = "none"             # "data": split examples, "models": split models
  config.distributed = ml_collections.ConfigDict()
  config.distributed.coordinator_address = ""
  config.distributed.num_processes = 1
  config.distributed.process_id = 0
  return config
