"""The command line: ``python -m experiments <name>`` and ``python experiments/<name>.py``.

    python -m experiments                                   # list the experiments
    python -m experiments <name> --help                     # its config fields and flags
    python -m experiments <name> --config.<field>=<value> --workdir DIR
    python experiments/<name>.py --config=experiments/configs/<name>.py --config.<f>=<v>
    python experiments/<name>.py --config=experiments/configs/<name>.py:<variant>

The config is read by ``ml_collections.config_flags`` (``--config`` defaults to the
experiment's own file); around it sits a thin check: a misspelt field, a wrong type
or an out-of-range value is one ``error:`` line and exit status 2.

Order of a run (``run_command``): parse, check the config, the data files and the
workdir (nothing is written until every check has passed), lock the workdir, then
train. Reruns: a workdir that holds a run of the same config is continued from its
latest sound checkpoint (flax's and big_vision's default); one that holds another
config's run is refused unless ``--overwrite`` says to replace it. Exit status: 0 done,
1 the run failed (diverged, a write failed), 2 bad input, 130/143 interrupted (after a
checkpoint at the current chunk; the same command resumes).
"""
import gc
import os
import pathlib
import signal
import sys

from absl import app, flags, logging
import ml_collections
from ml_collections import config_flags

from experiments.runner import registry, rules

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
DATA_DIR_ENV = "DLCOURSE_DATA_DIR"
CACHE_ENV = "DLCOURSE_COMPILATION_CACHE"

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "The experiment's config file (default: experiments/configs/<name>.py); "
    "'path.py:variant' passes the variant to get_config.", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for the run's files "
                               "(default: runs/<experiment name>).")
_DATA_DIR = flags.DEFINE_string("data_dir", None, "Directory holding the course data files "
                                f"(default: ${DATA_DIR_ENV}).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a run of another config in "
                               "--workdir (its checkpoints, metrics and results).")
_CHECKPOINT_EVERY = flags.DEFINE_integer(
    "checkpoint_every", -1, "Iterations (epochs) between checkpoints, a multiple of "
    "config.record_every; -1: chunks of about a tenth of each fit, saved at most every "
    "10 s, at the fit's end and on a stop; 0: no checkpoints (one compiled program).")
_KEEP = flags.DEFINE_integer("keep_checkpoints", 3, "How many checkpoints to keep per fit.",
                             lower_bound=1)
_PROGRESS = flags.DEFINE_enum("progress", "auto", ["auto", "on", "off"],
                              "Progress line; auto: only when stdout is a terminal.")
_TENSORBOARD = flags.DEFINE_bool("tensorboard", True, "Write TensorBoard scalars to "
                                 "<workdir>/tensorboard when tensorboardX is installed.")
_STOP_ON_NONFINITE = flags.DEFINE_bool("stop_on_nonfinite", True, "Stop training at the "
                                       "first NaN/inf cost, naming the iteration.")
_COMPILATION_CACHE = flags.DEFINE_bool(
    "compilation_cache", True, "JAX's persistent compilation cache in "
    f"~/.cache/dlcourse/jax (off: --nocompilation_cache or {CACHE_ENV}=0).")

PLATFORM_FLAGS = ("config", "workdir", "data_dir", "overwrite", "checkpoint_every",
                  "keep_checkpoints", "progress", "tensorboard", "stop_on_nonfinite",
                  "compilation_cache")


class UsageError(Exception):
  """A command line that cannot be parsed (exit 2)."""


# --------------------------------------------------------------------------------------
# Listing and help (no JAX)


def listing():
  """The usage text: one line per experiment, from its config's docstring."""
  exps = registry.experiments()
  commands = {"report": "The reproduction report: course numbers vs ours, gradient checks, "
                        "timings (report.md + PNGs)."}
  width = max(len(n) for n in list(exps) + list(commands))
  lines = ["usage: python -m experiments <name> [--config.<field>=<value> ...] [flags]",
           "       python -m experiments <name> --help   (its config fields and flags)", "",
           "experiments:"]
  lines += [f"  {name:<{width}}  {e.summary}" for name, e in sorted(exps.items())]
  lines += ["", "commands:"]
  lines += [f"  {name:<{width}}  {text}" for name, text in commands.items()]
  return "\n".join(lines)


def wants_help(args):
  return any(a in ("-h", "--help", "-help", "--helpfull", "--helpshort") for a in args)


def help_text(experiment, config):
  fields = "\n".join(f"  --config.{k}={v!r}" for k, v in sorted(_flat_items(config)))
  flag_lines = "\n".join(f"  --{n}: {flags.FLAGS[n].help} (default: {flags.FLAGS[n].default!r})"
                         for n in PLATFORM_FLAGS)
  return (f"usage: python -m experiments {experiment.name} [--config.<field>=<value> ...] "
          f"[flags]\n\n{experiment.doc}\n\nconfig fields (defaults):\n{fields}\n\n"
          f"flags:\n{flag_lines}\n")


def _flat_items(config, prefix=""):
  for key, value in config.items():
    if hasattr(value, "items"):
      yield from _flat_items(value, f"{prefix}{key}.")
    else:
      yield f"{prefix}{key}", value


# --------------------------------------------------------------------------------------
# Parsing


def _config_arg(args):
  """The value of --config in ``args`` (or None)."""
  for i, arg in enumerate(args):
    if arg.startswith("--config="):
      return arg.split("=", 1)[1]
    if arg == "--config" and i + 1 < len(args):
      return args[i + 1]
  return None


def with_default_config(experiment, args):
  """``args`` with ``--config=<the experiment's file>`` when no --config is given."""
  if _config_arg(args) is not None:
    return list(args)
  return [f"--config={experiment.config_path}"] + list(args)


def _variant(config_arg):
  path, _, variant = str(config_arg).partition(":")
  return path, (variant or None)


def default_config(experiment, args):
  """The config that --config names before overrides (for help and hints)."""
  _, variant = _variant(_config_arg(args))
  return experiment.get_config(variant)


def check_override_names(config, args):
  """UsageError for a ``--config.<field>`` that the config lacks, with a hint."""
  known = [k for k, _ in _flat_items(config)]
  for arg in args:
    if arg.startswith("--config.") and not arg.startswith("--config.="):
      field = arg[len("--config."):].split("=", 1)[0]
      if field not in known:
        raise UsageError(rules.unknown_field_message(field, known))


def parse(argv, experiment):
  """Parses absl flags (``argv[0]`` is the program); returns the overridden config."""
  args = argv[1:]
  config_file, _ = _variant(_config_arg(args))
  if not pathlib.Path(config_file).is_file():
    raise UsageError(f"--config: no config file {config_file}")
  check_override_names(default_config(experiment, args), args)
  flags.FLAGS.unparse_flags()
  # A previous parse in this process (tests, the report) left its --config.<field>
  # flags defined; config_flags defines them anew for this argv.
  for name in [n for n in flags.FLAGS if n.startswith(f"{_CONFIG.name}.")]:
    delattr(flags.FLAGS, name)
  # config_flags finds the --config.<field> overrides in the argv it was given at
  # definition (default: sys.argv, read at parse time); hand it the one parsed here, so
  # an in-process caller's argv (tests, the report) is read, not the interpreter's.
  flags.FLAGS[_CONFIG.name]._sys_argv = [argv[0]] + args  # pylint: disable=protected-access
  try:
    leftover = flags.FLAGS([argv[0]] + args)
  except flags.Error as e:
    flags.FLAGS.mark_as_parsed()  # absl's exit path reads flags; let it, with defaults
    raise UsageError(str(e).replace("flag --config.", "config.")) from None
  except (AttributeError, KeyError, ValueError, TypeError, OSError) as e:
    flags.FLAGS.mark_as_parsed()
    raise UsageError(f"--config: {e}") from None
  if len(leftover) > 1:
    raise UsageError(f"unexpected arguments: {leftover[1:]} (config fields are set with "
                     "--config.<field>=<value>)")
  config = _CONFIG.value
  if not isinstance(config, ml_collections.ConfigDict):
    # config_flags defers a file's load error until the config is first touched.
    try:
      config.keys()
    except OSError as e:
      reason = str(e).strip().splitlines()[-1].strip()
      raise UsageError(f"--config: cannot load {config_file}: {reason}") from None
    raise UsageError(f"--config: {config_file}'s get_config() returned "
                     f"{type(config).__name__}, not a ConfigDict")
  return config


# --------------------------------------------------------------------------------------
# Running


def resolve_data_dir(flag_value):
  value = flag_value or os.environ.get(DATA_DIR_ENV) or None
  return None if value is None else pathlib.Path(value).expanduser()


def enable_compilation_cache(enabled):
  """JAX's persistent compilation cache under the user's cache directory."""
  if not enabled or os.environ.get(CACHE_ENV, "1") == "0":
    return None
  import jax  # pylint: disable=import-outside-toplevel
  base = pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache"))
  path = base / "dlcourse" / "jax"
  try:
    path.mkdir(parents=True, exist_ok=True)
  except OSError:
    return None  # an unwritable home: run without the cache rather than fail
  jax.config.update("jax_compilation_cache_dir", str(path))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
  return path


# XLA:CPU options this project runs with (before JAX starts; the user's own XLA_FLAGS
# win, and DLCOURSE_XLA_DEFAULTS=0 leaves XLA_FLAGS alone). Both shorten compiling and
# give the same numbers here (tests/conftest.py runs the suite with them):
# - the legacy fusion emitters compile the small nets' programs in about 60 % of the
#   time of the new ones (moons with Adam: 0.94 -> 0.56 s);
# - LLVM at -O2 instead of XLA's default -O3: most of a program's compile time is LLVM
#   on ~100-200 fused kernels, and -O3 buys them little here (the MNIST-1D MLP
#   program: 1.61 -> 0.66 s to compile; the random search's step, the cats' and
#   logistic regression's training times unchanged within noise, their time being in
#   the matrix library; MNIST-1D's all-tools row trained 3-5 % slower, 31 -> 32 s, and
#   compiled 1.6 s faster). The option names no backend: on a GPU it sets the
#   LLVM level of the kernels there too (not measured on one).
XLA_DEFAULTS = ("--xla_cpu_use_fusion_emitters=false", "--xla_backend_optimization_level=2")
XLA_DEFAULTS_ENV = "DLCOURSE_XLA_DEFAULTS"
# A process pinned to one core (a report worker) compiles a program as one LLVM module:
# XLA splits it into 32 parts to compile them in parallel, which one core cannot do, and
# the parts' own set-up cost the C2W2 programs ~10 % of their compile time there (on two
# cores the split saves about as much, so the command line keeps it).
ONE_CORE_XLA_DEFAULTS = ("--xla_cpu_parallel_codegen_split_count=1",)


# A program that trains for minutes (MNIST-1D's trainers) compiles with XLA's own fusion
# emitters instead of the legacy ones above: it takes ~1 s longer to compile and its
# elementwise kernels (batch norm, Adam, dropout's random bits) run faster. The MNIST-1D
# programs, 10 epochs on one core (2026-12-06, Xeon AVX-512): compile 1.2-1.5 -> 2.1-2.5 s,
# training 10-17 % shorter (the MLP 0.56 -> 0.48 s, all tools 1.13 -> 0.98 s). The small
# nets' programs keep the legacy emitters: C2W2's Adam compiled 0.31 -> 0.80 s with them,
# for a run of ~0.1 s. Such a program is also lowered with its random bits' hash unrolled
# (``long_runs``, which compiles with these options).
LONG_RUN_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": True}
# Below this much training arithmetic (about 2 s of one core) the emitters' extra compile
# costs more than they save: MNIST-1D's softmax regression (1.6e10 FLOPs), pinned to one
# core, compiled 1.03 -> 1.54 s with them and trained 0.44 -> 0.36 s; the search's
# 64-wide bucket (1.6e11) broke even (2.05 + 8.46 s against 3.14 + 7.15 s).
LONG_RUN_MIN_FLOPS = 1e11


def takes_long_run_choices(backend, environ=os.environ, flops=None):
  """Whether a program that trains for minutes gets this project's choices for one
  (these compiler options, ``long_runs``' lowering): on the CPU, unless
  DLCOURSE_XLA_DEFAULTS=0 or ``flops``, the training's arithmetic when known, is under
  ``LONG_RUN_MIN_FLOPS``."""
  return (takes_our_choices(backend, environ)
          and (flops is None or flops >= LONG_RUN_MIN_FLOPS))


def takes_our_choices(backend, environ=os.environ):
  """The CPU, and not DLCOURSE_XLA_DEFAULTS=0: where this project's per-program XLA
  choices apply (and ``env``'s dropout masks drawn ahead)."""
  return backend == "cpu" and environ.get(XLA_DEFAULTS_ENV, "1") != "0"


def _flags_setting(option, environ):
  """The flags in ``environ``'s XLA_FLAGS that set ``option`` (``--option=...``)."""
  return [f for f in environ.get("XLA_FLAGS", "").split()
          if f.split("=", 1)[0] == "--" + option]


def long_run_compiler_options(backend, environ=os.environ, flops=None):
  """``compiler_options`` for ``.compile()`` of a program that trains for minutes:
  ``LONG_RUN_COMPILER_OPTIONS`` where ``takes_long_run_choices``, unless the user's
  XLA_FLAGS chose the emitters (then {}: their choice stands)."""
  if not takes_long_run_choices(backend, environ, flops):
    return {}
  ours = XLA_DEFAULTS[0]   # configure_xla's emitters flag; another value is the user's
  chosen = _flags_setting(ours.split("=", 1)[0][2:], environ)
  if chosen and chosen != [ours]:
    return {}
  return dict(LONG_RUN_COMPILER_OPTIONS)


# A float32 mini-batch program whose largest parameter is this big also hands its
# elementwise work to the matrix library (YNNPACK's elementwise fusions, beside its dot
# products). The legacy emitters' kernels check at run time that their output buffer
# differs from every input's and fall back to a scalar loop when XLA updates an array in
# place, as it does each step's parameters and optimizer state: intro_letters' Adam
# update of W1 (64 x 1210) took 178 us per step that way. With YNNPACK's elementwise
# fusions (2026-12-07, Zen 4, one core) its softmax net trained in 1.03-1.04 instead of
# 1.63-1.64 s and compiled in 0.24 instead of 0.29 s, its float32 cost equal to 7
# digits. Process-wide the same option slowed the float64 course-compatible cat nets
# (~5 %), C2W1's football nets (10-30 %, small arrays) and the float32 logistic
# regression (~2 %), and left the float32 cat nets within noise: hence only here, where
# a small batch makes each step's optimizer update a large part of the step.
ELEMENTWISE_MIN_ENTRIES = 1 << 14
ELEMENTWISE_COMPILER_OPTIONS = {
    "xla_cpu_experimental_ynn_fusion_type":
        "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_ELTWISE"}


def elementwise_compiler_options(backend, dtype_name, largest_entries, environ=os.environ):
  """``compiler_options`` for a mini-batch training program: ``ELEMENTWISE_COMPILER_
  OPTIONS`` on the CPU for float32 parameters (``dtype_name`` "float32") of which the
  largest has at least ``ELEMENTWISE_MIN_ENTRIES`` entries, unless
  DLCOURSE_XLA_DEFAULTS=0 or the user's XLA_FLAGS chose YNNPACK's fusions themselves;
  else {}."""
  if (not takes_our_choices(backend, environ) or dtype_name != "float32"
      or largest_entries < ELEMENTWISE_MIN_ENTRIES
      or any(_flags_setting(option, environ) for option in ELEMENTWISE_COMPILER_OPTIONS)):
    return {}
  return dict(ELEMENTWISE_COMPILER_OPTIONS)


def _pinned_to_one_core():
  return hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) == 1


def configure_xla(environ=os.environ, one_core=None):
  """Adds ``XLA_DEFAULTS`` (and for a process pinned to one core,
  ``ONE_CORE_XLA_DEFAULTS``) to ``XLA_FLAGS``, each unless the user set that flag.
  ``one_core``: None asks the OS (a process whose affinity holds one core, as under
  ``taskset -c 0``)."""
  if one_core is None:
    one_core = _pinned_to_one_core()
  if environ.get(XLA_DEFAULTS_ENV, "1") == "0":
    return environ.get("XLA_FLAGS", "")
  flags_now = environ.get("XLA_FLAGS", "")
  for flag in XLA_DEFAULTS + (ONE_CORE_XLA_DEFAULTS if one_core else ()):
    if flag.split("=", 1)[0] not in flags_now:
      flags_now = f"{flags_now} {flag}".strip()
  environ["XLA_FLAGS"] = flags_now
  return flags_now


# CPython's cyclic garbage collector, in a process that has done its imports and now runs
# experiments: JAX's, matplotlib's and the runner's objects live as long as the process,
# yet every full collection walked them all again (~65 ms each once JAX and matplotlib
# are in), and tracing makes enough short-lived objects to start one every few hundred
# milliseconds. Measured on the five first-lesson rows run back to back on one core
# (2026-12-06, gc.callbacks): 0.34 s of collecting, 0.17 s with the threshold alone,
# 0.17-0.19 s with the freeze alone, 0.08 s with both (and one full collection before
# the freeze, once per process).
GC_YOUNG_THRESHOLD = 10_000   # CPython's default: 700 net allocations


def settle_gc():
  """After the imports: their objects leave the collector's reach (``gc.freeze``, after
  one collection, so that no garbage is frozen with them), and the youngest generation
  is collected every ``GC_YOUNG_THRESHOLD`` net allocations. Once per process: a later
  call (a test running several commands in one process) changes nothing."""
  if gc.get_threshold()[0] == GC_YOUNG_THRESHOLD:
    return
  gc.collect()
  gc.freeze()
  gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


class _Signals:
  """SIGINT / SIGTERM set the env's stop flag (a fit checkpoints and stops at its next
  chunk boundary); a second signal stops at once."""

  def __init__(self, stop):
    self.stop, self.previous = stop, {}

  def __enter__(self):
    for sig in (signal.SIGINT, signal.SIGTERM):
      self.previous[sig] = signal.signal(sig, self._handle)
    return self

  def _handle(self, signum, frame):
    del frame
    name = signal.Signals(signum).name
    if self.stop.requested:
      raise KeyboardInterrupt(name)
    self.stop.request(name)

  def __exit__(self, *exc):
    for sig, handler in self.previous.items():
      signal.signal(sig, handler)


def run_command(experiment, argv, run=None):
  """Parses ``argv`` and runs ``experiment``; returns the exit status."""
  name = experiment.name
  argv = [argv[0]] + with_default_config(experiment, argv[1:])
  try:
    if wants_help(argv[1:]):
      print(help_text(experiment, default_config(experiment, argv[1:])))
      return 0
    config = parse(argv, experiment)
  except (UsageError, ValueError) as e:  # ValueError: get_config refused a variant
    print(f"error: {name}: {e}", file=sys.stderr)
    return EXIT_BAD_INPUT
  return _run_parsed(experiment, config, run)


def _run_parsed(experiment, config, run):
  """Checks, then runs, a parsed command; returns the exit status."""
  # Heavy imports (JAX) only now, after listing and --help have had their chance.
  from dlcourse.errors import DLCourseError  # pylint: disable=import-outside-toplevel
  from experiments.runner import (checkpoints, env as env_lib,  # pylint: disable=import-outside-toplevel
                                  session)
  name = experiment.name
  stop = env_lib.StopFlag()
  try:
    request = session.Request(
        experiment=experiment, config=config, run=run,
        workdir=pathlib.Path(_WORKDIR.value or pathlib.Path("runs") / name),
        data_dir=resolve_data_dir(_DATA_DIR.value), overwrite=_OVERWRITE.value,
        checkpoint_every=_CHECKPOINT_EVERY.value, keep_checkpoints=_KEEP.value,
        progress=_PROGRESS.value, tensorboard=_TENSORBOARD.value,
        stop_on_nonfinite=_STOP_ON_NONFINITE.value)
    plan = session.prepare(request)          # every check; touches nothing
    enable_compilation_cache(_COMPILATION_CACHE.value)
    settle_gc()   # JAX and the app (matplotlib with it) are imported by now
    with _Signals(stop):
      record = session.execute(request, plan, stop)
  except env_lib.Interrupted as e:
    print(f"{name}: interrupted by {e}", file=sys.stderr)
    return 130 if stop.signal_name == "SIGINT" else 143
  except KeyboardInterrupt:
    print(f"{name}: interrupted outside a fit (or twice); nothing more was checkpointed",
          file=sys.stderr)
    return 130
  except (env_lib.TrainingDiverged, checkpoints.CheckpointError) as e:
    print(f"error: {name}: {e}", file=sys.stderr)
    return EXIT_FAILED
  except DLCourseError as e:
    print(f"error: {name}: {e}", file=sys.stderr)
    return EXIT_BAD_INPUT
  except (OSError, MemoryError) as e:  # e.g. the disk filled up while writing results
    print(f"error: {name}: {_os_error_line(e)}", file=sys.stderr)
    return EXIT_FAILED
  print(f"{name}: {session.summary_line(record)} -> {record['run']['workdir']}/result.json")
  return 0


def _os_error_line(error):
  """One line for an OSError or MemoryError, naming the file when there is one."""
  if isinstance(error, OSError) and error.filename and error.strerror:
    return f"cannot write {error.filename}: {error.strerror}"
  return f"{type(error).__name__}: {error}"


def _quiet_flags_parser(argv):
  """absl's flags_parser: run_command parses (and reports errors) itself."""
  def parser(_):
    if not flags.FLAGS.is_parsed():
      flags.FLAGS.mark_as_parsed()
    # Orbax logs every save at INFO; keep the console to warnings unless asked.
    if flags.FLAGS["verbosity"].using_default_value:
      flags.FLAGS.verbosity = logging.WARNING
    return argv
  return parser


def launch(name, run):
  """An app's entry point (``python experiments/<name>.py ...``)."""
  experiment = registry.get(name)
  argv = list(sys.argv)
  configure_xla()
  app.run(lambda args: sys.exit(run_command(experiment, args, run)), argv=argv,
          flags_parser=_quiet_flags_parser(argv))


def main(argv=None):
  """``python -m experiments``: list, dispatch to an experiment or to the report."""
  argv = list(sys.argv if argv is None else argv)
  configure_xla()
  if len(argv) < 2 or argv[1] in ("-h", "--help", "help", "list"):
    print(listing())
    return 0
  name, rest = argv[1], argv[2:]
  if name == "report":
    from experiments.runner import report  # pylint: disable=import-outside-toplevel
    return report.main([f"{argv[0]} report"] + rest)
  try:
    experiment = registry.get(name)
  except KeyError as e:
    print(f"error: {e.args[0]}", file=sys.stderr)
    return EXIT_BAD_INPUT
  args = [f"python -m experiments {name}"] + rest
  status = {}

  def absl_main(parsed):
    status["code"] = run_command(experiment, parsed)
  try:
    app.run(absl_main, argv=args, flags_parser=_quiet_flags_parser(args))
  except SystemExit as e:
    return status.get("code", e.code or 0)
  return status.get("code", 0)
