"""The one registry of experiments, read by the CLI, the report and the tests.

An experiment ``<name>`` is two files, found by convention: the app
``experiments/<name>.py`` (``run(config, env)``) and the config
``experiments/configs/<name>.py`` (``get_config(variant=None)``, its docstring, its
``REPORT`` rows and its ``DATA_FILES``). Registering it is one line in ``NAMES``.

Config modules are light (ml_collections only); an app, which imports JAX, is imported
only when it runs, so listing the experiments and ``<name> --help`` load no JAX.
"""
import dataclasses
import difflib
import importlib
import pathlib

EXPERIMENTS_DIR = pathlib.Path(__file__).resolve().parent.parent
CONFIG_DIR = EXPERIMENTS_DIR / "configs"

NAMES = (
    "intro_circle_area",
    "intro_learning_rate",
    "intro_letters",
    "c1w1_relu_neuron",
    "c1w2_vectorization",
    "c1w2_logistic_cats",
    "c1w3_planar",
    "c1w4_deep_cats",
    "c2w1_initialization",
    "c2w1_regularization",
    "c2w1_gradient_checking",
    "c2w1_digits",
    "c2w2_optimization",
    "random_search",
    "mnist1d",
)


@dataclasses.dataclass(frozen=True)
class Experiment:
  name: str

  @property
  def config_path(self) -> pathlib.Path:
    return CONFIG_DIR / f"{self.name}.py"

  @property
  def config_module(self):
    return importlib.import_module(f"experiments.configs.{self.name}")

  def app(self):
    """The app module (imports JAX)."""
    return importlib.import_module(f"experiments.{self.name}")

  def get_config(self, variant=None):
    getter = self.config_module.get_config
    return getter(variant) if variant is not None else getter()

  @property
  def doc(self) -> str:
    return (self.config_module.__doc__ or "").strip()

  @property
  def summary(self) -> str:
    """The first sentence of the config docstring's first paragraph."""
    paragraph = " ".join(self.doc.split("\n\n")[0].split())
    return paragraph.split(". ")[0].rstrip(".") + "."

  def data_files(self, config) -> tuple:
    """The course files this config reads (checked by SHA-256 before anything runs)."""
    files = getattr(self.config_module, "DATA_FILES", ())
    return tuple(files(config) if callable(files) else files)

  @property
  def rows(self) -> tuple:
    return tuple(getattr(self.config_module, "REPORT", ()))


def experiments():
  return {name: Experiment(name) for name in NAMES}


def get(name) -> Experiment:
  """The experiment called ``name``; KeyError with a "did you mean" otherwise."""
  if name in NAMES:
    return Experiment(name)
  close = difflib.get_close_matches(name, NAMES, n=1)
  hint = f"; did you mean {close[0]!r}?" if close else ""
  raise KeyError(f"unknown experiment {name!r}{hint} (run `python -m experiments` for "
                 "the list)")
