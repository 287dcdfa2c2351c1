"""The reproduction report: every registered experiment's rows, in both modes.

    python -m experiments report [--data_dir DIR] [--workdir runs/report] [--only c1w3]
                                 [--jobs 2] [--skip_gradcheck]

Writes ``report.md``, ``report.json`` (the same rows and timings, for programs) and PNGs
into ``--workdir``: for each row that a config module declares in ``REPORT``
(``experiments.runner.rows``), the published numbers beside ours in course-compatible
mode (float64, the notebooks' NumPy initializer) and in JAX-keyed mode
(``jax.random.key(seed)``, float32) -- or the config as it is, for experiments without
a course-compatible mode; an app's optional ``report_summary({row id: record})`` or
``report_markdown(record)`` adds its own section. Then the gradient checks and the
timings (per row, per experiment and per section). Generated data always runs; rows
whose course files are missing are listed as skipped, with the reason. Independent rows
and the gradient checks run in ``--jobs`` worker processes (one per core), the longest
first.
"""
import concurrent.futures
import dataclasses
import datetime
import math
import multiprocessing
import os
import pathlib
import platform
import sys
import time
from typing import Optional

import numpy as np
from absl import flags

# JAX, the maths and matplotlib are imported where they are used: this process starts
# the workers first (each imports JAX itself), and only then needs them.
from dlcourse import data
from dlcourse.errors import DLCourseError
from experiments.runner import cli, registry, report_worker, rundir, schema
from experiments.runner.rows import REPORT_MODES, Row

_ONLY = flags.DEFINE_list("only", None, "Report only the rows whose id starts with one of "
                          "these prefixes (e.g. c1w3,c1w4_two).")
_SKIP_GRADCHECK = flags.DEFINE_bool("skip_gradcheck", False, "Leave out the gradient checks.")
_JOBS = flags.DEFINE_integer("jobs", min(2, os.cpu_count() or 1), "Worker processes for "
                             "the rows (1: run them in this process).", lower_bound=1)

GRADCHECK_S = 5.0   # about what the three gradient checks take on one core

# The labels of rows.REPORT_MODES ("course", "jax"), in that order.
COURSE_MODES = dict(zip(REPORT_MODES, ("course-compatible (float64, NumPy init)",
                                       "JAX-keyed (float32, jax.random.key)")))
PLAIN_MODES = {"default": "as configured"}


@dataclasses.dataclass(frozen=True)
class Entry:
  """One report row of one experiment."""
  experiment: registry.Experiment
  row: Row

  @property
  def id(self):
    return self.row.id

  @property
  def title(self):
    return self.row.title

  @property
  def course(self):
    return self.row.course

  @property
  def tolerance(self):
    return self.row.tolerance

  @property
  def note(self):
    return self.row.note

  def modes(self):
    config = self.experiment.get_config(self.row.variant)
    if "course_compat" not in config:
      return PLAIN_MODES
    return {mode: COURSE_MODES[mode] for mode in self.row.modes or COURSE_MODES}

  def config(self, mode):
    config = self.experiment.get_config(self.row.variant)
    config.update(self.row.overrides)
    if mode == "jax":
      config.update(self.row.jax_overrides)
    if mode in COURSE_MODES:
      config.course_compat = mode == "course"
    return config


def all_entries():
  return tuple(Entry(e, row) for e in registry.experiments().values() for row in e.rows)


@dataclasses.dataclass
class Outcome:
  entry: Entry
  mode: str
  record: Optional[dict] = None
  figures: Optional[dict] = None
  error: Optional[str] = None
  wall_s: float = 0.0


def missing_data(entry, data_dir):
  """Why ``entry`` cannot run with ``data_dir`` (None when it can)."""
  needs = entry.experiment.data_files(entry.config("jax" if "jax" in entry.modes()
                                                   else "default"))
  if not needs:
    return None
  if data_dir is None:
    return (f"needs {', '.join(needs)}: no data directory (pass --data_dir or set "
            f"{data.DATA_DIR_ENV})")
  for filename in needs:
    try:
      data.verify_sha256(data_dir / filename)
    except DLCourseError as e:
      return str(e)
  return None


def replaced_figures(entry):
  """The figures of each mode that ``entry_figures`` replaces (not drawn at all): the
  cost curve, when the entry has two modes to overlay."""
  return ("cost.png",) if len(entry.modes()) > 1 else ()


def run_all(jobs, data_dir, workers, echo, gradcheck_on=False, entry_done=None,
            compilation_cache=False):
  """({(id, mode): Outcome} of every (entry, mode), the gradient checks or []), over
  ``workers`` processes, the longest rows first (``Row.expected_s``).

  ``entry_done(entry, outcomes)`` runs in this process as soon as all of an entry's
  modes are done (the report draws its figures there, while the workers go on).
  ``compilation_cache``: JAX's persistent compilation cache in whichever process
  compiles (the workers, or this one with one worker).
  """
  tasks = sorted(((entry, mode) for entry in jobs for mode in entry.modes()),
                 key=lambda task: -task[0].row.expected_s)
  outcomes = {}

  def done(entry, mode, result):
    record, figures, error, wall_s = result
    outcome = Outcome(entry, mode, record, figures, error, wall_s)
    outcomes[(entry.id, mode)] = outcome
    echo(f"{entry.id} [{mode}]: {_ours_text(outcome)} ({wall_s:.1f} s)")
    if entry_done is not None and all((entry.id, m) in outcomes for m in entry.modes()):
      entry_done(entry, outcomes)

  if workers <= 1:
    cli.enable_compilation_cache(compilation_cache)
    for entry, mode in tasks:
      done(entry, mode, report_worker.run_row(entry.experiment, entry.config(mode),
                                              data_dir, replaced_figures(entry)))
    return outcomes, (report_worker.gradient_checks() if gradcheck_on else [])
  context = multiprocessing.get_context("spawn")
  cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
  pin = cores if cores and workers <= len(cores) else None  # more workers than cores: unpinned
  with concurrent.futures.ProcessPoolExecutor(
      max_workers=workers, mp_context=context, initializer=report_worker.init_worker,
      initargs=(context.Value("i", 0), pin, compilation_cache)) as pool:
    futures, checks = {}, None
    for entry, mode in tasks:
      if gradcheck_on and checks is None and entry.row.expected_s < GRADCHECK_S:
        # Queued behind the rows longer than it, so the workers finish together.
        checks = pool.submit(report_worker.gradient_checks)
      futures[pool.submit(report_worker.run_row, entry.experiment, entry.config(mode),
                          data_dir, replaced_figures(entry))] = (entry, mode)
    if gradcheck_on and checks is None:
      checks = pool.submit(report_worker.gradient_checks)
    for future in concurrent.futures.as_completed(futures):
      done(*futures[future], future.result())
    return outcomes, (checks.result() if checks is not None else [])


# --------------------------------------------------------------------------------------
# Writing


def _pct(x):
  return "–" if x is None else f"{100 * x:.2f}"


def _course_text(course):
  if course.train is None and course.test is None:
    return "–"
  train = "–" if course.train is None else f"{course.train:g}"
  return train + ("" if course.test is None else f" / {course.test:g}")


def _ours_text(outcome):
  if outcome is None:
    return "–"
  if outcome.error:
    return f"error: {outcome.error}"
  r = outcome.record
  headline = schema.headline(r)
  if headline:
    return headline.replace("|", "\\|")  # an app that classifies nothing: its one line
  dev = "" if r.get("dev_accuracy") is None else f" / dev {_pct(r['dev_accuracy'])}"
  test = "" if r["test_accuracy"] is None else f" / {_pct(r['test_accuracy'])}"
  return f"{_pct(r['train_accuracy'])}{dev}{test}"


def cost_at(record, iteration):
  return dict((int(i), c) for i, c in record.get("costs", [])).get(iteration)


def reproduced(outcome):
  """'yes' / 'no (...)' for the course-compatible outcome against the course."""
  if outcome is None or outcome.error:
    return "–"
  entry, r = outcome.entry, outcome.record
  if entry.course.train is None and entry.course.test is None:
    return "n/a (no course number)"
  problems = []
  if entry.course.train is not None and \
      abs(100 * r["train_accuracy"] - entry.course.train) > entry.tolerance + 0.005:
    problems.append("train")
  if entry.course.test is not None and \
      abs(100 * r["test_accuracy"] - entry.course.test) > entry.tolerance + 0.005:
    problems.append("test")
  if entry.course.cost is not None:
    ours = cost_at(r, entry.course.cost[0])
    if ours is None or abs(ours - entry.course.cost[1]) > 1e-6:
      problems.append("cost")
  if problems:
    return f"no ({', '.join(problems)})"
  return "yes" if entry.tolerance == 0 else f"yes (±{entry.tolerance:g} pt)"


def _cost_text(entry, outcome):
  if entry.course.cost is None:
    return "–"
  iteration, course = entry.course.cost
  ours = None if outcome is None or outcome.error else cost_at(outcome.record, iteration)
  ours_text = "–" if ours is None else f"{ours:.6f}"
  return f"{course:.6f} / {ours_text} (it. {iteration})"


def results_table(entries, outcomes, skipped):
  rows = ["| experiment | published train / test % | ours, course-compatible | reproduced | "
          "ours, JAX-keyed float32 (or as configured) | cost, published / ours |",
          "| --- | --- | --- | --- | --- | --- |"]
  for entry in entries:
    if entry.id in skipped:
      rows.append(f"| {entry.title} | {_course_text(entry.course)} | skipped | – | skipped "
                  "| – |")
      continue
    if "default" in entry.modes():  # no course-compatible mode: the config as it is
      plain = outcomes.get((entry.id, "default"))
      rows.append(f"| {entry.title} | {_course_text(entry.course)} | – | {reproduced(plain)} "
                  f"| {_ours_text(plain)} | {_cost_text(entry, plain)} |")
      continue
    course, jaxed = outcomes.get((entry.id, "course")), outcomes.get((entry.id, "jax"))
    jax_text = _ours_text(jaxed) if "jax" in entry.modes() else "the same run (no mode applies)"
    rows.append(f"| {entry.title} | {_course_text(entry.course)} | {_ours_text(course)} | "
                f"{reproduced(course)} | {jax_text} | {_cost_text(entry, course)} |")
  return "\n".join(rows)


def timings_table(outcomes):
  rows = ["| experiment | mode | compile s | train s | wall s (incl. data, plots) |",
          "| --- | --- | --- | --- | --- |"]
  for (_, mode), o in outcomes.items():
    if o.error:
      continue
    t = o.record.get("timings", {})
    rows.append(f"| {o.entry.title} | {mode} | {t.get('compile_s', 0):.2f} | "
                f"{t.get('train_s', 0):.2f} | {o.wall_s:.2f} |")
  return "\n".join(rows)


def entry_figures(entry, outcomes):
  """{filename: (caption, png)}: every mode's cost curves overlaid, and each mode's other
  figures as the app drew them."""
  figures, series, xlabel = {}, {}, "iteration"
  modes, replaced = entry.modes(), replaced_figures(entry)
  for mode, label in modes.items():
    o = outcomes.get((entry.id, mode))
    if o is None or o.error:
      continue
    costs = [c for c in o.record.get("costs") or [] if c[1] is not None]
    if costs:
      series[label] = costs
      xlabel = o.record.get("cost_unit", xlabel)
    for filename, png in o.figures.items():
      if filename not in replaced:
        caption = f"{entry.title}, {label}: {filename.rsplit('.', 1)[0].replace('_', ' ')}"
        figures[f"{entry.id}_{mode}_{filename}"] = (caption, png)
  if series and len(modes) > 1:
    from dlcourse import plots  # pylint: disable=import-outside-toplevel
    config = entry.config("course")
    png = plots.cost_curve(None, series=series, title=f"{entry.title}\ncost J, both modes",
                           learning_rate=config.get("learning_rate"), xlabel=xlabel)
    figures = {f"{entry.id}_cost.png": (f"{entry.title}: cost curves, both modes", png),
               **figures}
  return figures


def custom_sections(entries, outcomes):
  """Markdown from each app's optional ``report_summary({row id: record})``, once per
  experiment over all its rows, or else its ``report_markdown(record)`` once per row and
  mode."""
  lines, summarized = [], set()
  for entry in entries:
    app = entry.experiment.app()
    summary_fn = getattr(app, "report_summary", None)
    if summary_fn is not None:
      name = entry.experiment.name
      if name not in summarized:
        summarized.add(name)
        records = {e.id: o.record for e in entries if e.experiment.name == name
                   for o in [outcomes.get((e.id, "default"))] if o and not o.error}
        text = summary_fn(records) if records else ""
        if text:
          lines += [f"### {entry.experiment.summary.rstrip('.')}", "", text, ""]
      continue
    render_fn = getattr(app, "report_markdown", None)
    if render_fn is None:
      continue
    for mode in entry.modes():
      o = outcomes.get((entry.id, mode))
      if o is not None and not o.error:
        lines += [f"### {entry.title}" + (f" ({mode})" if len(entry.modes()) > 1 else ""),
                  "", render_fn(o.record), ""]
  return lines


def environment():
  import jax  # pylint: disable=import-outside-toplevel
  devices = ", ".join(str(d) for d in jax.devices())
  return (f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}\n"
          f"- python {platform.python_version()}, jax {jax.__version__} "
          f"({jax.default_backend()}: {devices}), numpy {np.__version__}\n"
          f"- machine: {platform.machine()}, {os.cpu_count()} CPU cores")


def sections_table(sections):
  rows = ["| section | wall s |", "| --- | --- |"]
  rows += [f"| {name} | {seconds:.1f} |" for name, seconds in sections.items()]
  return "\n".join(rows)


def experiment_times(outcomes):
  """{experiment name: summed wall seconds of its rows} (the rows run in parallel)."""
  times = {}
  for o in outcomes.values():
    times[o.entry.experiment.name] = times.get(o.entry.experiment.name, 0.0) + o.wall_s
  return times


def render(entries, outcomes, skipped, checks, figures, data_dir, sections):
  lines = ["# Reproduction report", "",
           "Published numbers (from each config's docstring) beside ours. "
           "*Course-compatible*: float64 and the notebooks' NumPy initializer, expected to "
           "match. *JAX-keyed*: float32 and `jax.random.key(seed)` initialization, a "
           "different (equally valid) draw, so not expected to match digit for digit. "
           "Experiments without a course-compatible mode run as configured.", "",
           f"Data directory: `{data_dir}`" if data_dir else
           "Data directory: none (generated data only)", "",
           "## Results (train / test accuracy, %)", "",
           results_table(entries, outcomes, skipped), ""]
  notes = [f"- {e.title}: {e.note}" for e in entries if e.note and e.id not in skipped]
  if notes:
    lines += ["Notes:", ""] + notes + [""]
  custom = custom_sections([e for e in entries if e.id not in skipped], outcomes)
  if custom:
    lines += ["## Experiment details", ""] + custom
  if skipped:
    lines += ["## Skipped", ""] + [f"- {next(e.title for e in entries if e.id == i)}: {why}"
                                   for i, why in skipped.items()] + [""]
  if checks:
    from dlcourse import gradcheck  # pylint: disable=import-outside-toplevel
    lines += ["## Gradient checks", "",
              "Relative differences ||g - g'|| / (||g|| + ||g'||) in float64, two-sided "
              f"finite differences with eps = {gradcheck.DEFAULT_EPSILON:g}; a parameter "
              f"fails above {gradcheck.DEFAULT_THRESHOLD:g}.", ""]
    for title, report, seconds in checks:
      verdict = "passed" if report.passed else f"FAILED: {report.disagreeing}"
      lines += [f"### {title}: {verdict} ({seconds:.1f} s)", "", "```", report.table(), "```",
                ""]
  per_experiment = "\n".join(f"| {name} | {t:.1f} |" for name, t in
                              experiment_times(outcomes).items())
  lines += ["## Timings", "", timings_table(outcomes), "",
            "Per experiment (its rows' wall time, summed over the workers):", "",
            "| experiment | wall s |", "| --- | --- |", per_experiment, "",
            "Per section of this report (wall time):", "", sections_table(sections), "",
            environment(), ""]
  if figures:
    lines += ["## Figures", ""]
    for name, (caption, _) in figures.items():
      lines += [f"**{caption}**", "", f"![{caption}]({name})", ""]
  return "\n".join(lines)


def _finite_or_none(x):
  return x if isinstance(x, (int, float)) and math.isfinite(x) else None


def _total(timings, name):
  """The row's ``name`` seconds (``compile_s``, ``train_s``): the record's total, else
  the sum of its parts ``<part>_<name>`` (None when there is neither)."""
  if _finite_or_none(timings.get(name)) is not None:
    return float(timings[name])
  parts = _parts(timings, name)
  return float(sum(parts.values())) if parts else None


def _parts(timings, name):
  """{part: seconds} of the finite ``<part>_<name>`` timings (a row that fits in stages
  times each: search_compile_s, softmax_compile_s, ...)."""
  return {k[:-len(name) - 1]: float(v) for k, v in timings.items()
          if k.endswith("_" + name) and _finite_or_none(v) is not None}


def summary_json(outcomes, skipped, checks, sections, data_dir):
  """report.json: what report.md shows, for programs (benchmarks/benchmark.py reads the
  per-row timings from it). Strict JSON: a non-finite number is null."""
  rows = []
  for (row_id, mode), o in outcomes.items():
    record = o.record or {}
    timings = record.get("timings") or {}
    rows.append({"id": row_id, "mode": mode, "experiment": o.entry.experiment.name,
                 "error": o.error, "wall_s": o.wall_s,
                 "compile_s": _total(timings, "compile_s"),
                 "train_s": _total(timings, "train_s"),
                 # A row that compiles in stages (one program each) times each stage.
                 "compile_parts_s": _parts(timings, "compile_s"),
                 "train_accuracy": _finite_or_none(record.get("train_accuracy")),
                 "test_accuracy": _finite_or_none(record.get("test_accuracy"))})
  return {"data_dir": None if data_dir is None else str(data_dir), "rows": rows,
          "skipped": dict(skipped), "sections_s": dict(sections),
          "gradient_checks": [{"title": t, "passed": r.passed, "seconds": sec}
                              for t, r, sec in checks]}


# --------------------------------------------------------------------------------------
# Main


def select(entries, only):
  if not only:
    return list(entries)
  return [e for e in entries if any(e.id.startswith(prefix) for prefix in only)]


def build_report(workdir, data_dir=None, *, entries=None, only=None, gradcheck_on=True,
                 workers=1, echo=print, compilation_cache=False):
  """Runs the entries, writes report.md and the PNGs into ``workdir``; returns the text.

  ``compilation_cache``: JAX's persistent compilation cache on in the processes that
  compile (the command line passes ``--[no]compilation_cache``; a library call that
  says nothing leaves the cache as the process has it).
  """
  start = time.perf_counter()
  workdir = pathlib.Path(workdir)
  rundir.check_writable(workdir)
  entries = select(all_entries() if entries is None else entries, only)
  sections, skipped = {}, {}
  runnable = []
  for entry in entries:
    why = missing_data(entry, data_dir)
    if why:
      skipped[entry.id] = why
      echo(f"skip {entry.id}: {why}")
    else:
      runnable.append(entry)
  with rundir.lock(workdir):
    begin = time.perf_counter()
    by_entry, drawing = {}, [0.0]

    def draw(entry, outcomes):
      # Each entry's figures as soon as its modes are done: drawn here while the
      # workers train the other rows, rather than all of them after the last row.
      began = time.perf_counter()
      by_entry[entry.id] = entry_figures(entry, outcomes)
      for name, (_, png) in by_entry[entry.id].items():
        rundir.write_bytes(workdir / name, png)
      drawing[0] += time.perf_counter() - began

    outcomes, checks = run_all(runnable, data_dir, workers, echo, gradcheck_on,
                               entry_done=draw, compilation_cache=compilation_cache)
    sections[f"experiments, gradient checks and figures ({len(outcomes)} runs, {workers} "
             "worker(s))"] = time.perf_counter() - begin
    sections["gradient checks"] = sum(seconds for _, _, seconds in checks)
    sections["figures (while the rows ran)"] = drawing[0]
    # In the entries' order, not the order in which they finished.
    figures = {name: figure for entry in runnable
               for name, figure in by_entry.get(entry.id, {}).items()}
    sections["whole report"] = time.perf_counter() - start
    text = render(entries, outcomes, skipped, checks, figures, data_dir, sections)
    rundir.write_text(workdir / "report.md", text)
    rundir.write_json(workdir / "report.json", summary_json(outcomes, skipped, checks,
                                                            sections, data_dir))
  for name, seconds in sections.items():
    echo(f"{name}: {seconds:.1f} s")
  return text


def main(argv=None):
  argv = list(sys.argv if argv is None else argv)
  if cli.wants_help(argv[1:]):
    print(__doc__)
    return 0
  try:
    flags.FLAGS.unparse_flags()
    try:
      leftover = flags.FLAGS(argv)
    except flags.Error as e:
      flags.FLAGS.mark_as_parsed()
      raise cli.UsageError(str(e)) from None
    if len(leftover) > 1 or any(a.startswith("--config") for a in argv[1:]):
      raise cli.UsageError("the report takes no --config or positional arguments (each row "
                           "has its own config); use --only to choose rows")
    data_dir = cli.resolve_data_dir(flags.FLAGS.data_dir)
    workdir = pathlib.Path(flags.FLAGS.workdir or "runs/report")
    if _JOBS.value <= 1:
      report_worker.settle()  # the rows run in this process
    build_report(workdir, data_dir, only=_ONLY.value, gradcheck_on=not _SKIP_GRADCHECK.value,
                 workers=_JOBS.value, compilation_cache=flags.FLAGS.compilation_cache)
  except (cli.UsageError, DLCourseError) as e:
    print(f"error: report: {e}", file=sys.stderr)
    return cli.EXIT_BAD_INPUT
  except OSError as e:
    print(f"error: report: {e}", file=sys.stderr)
    return cli.EXIT_FAILED
  print(f"wrote {workdir / 'report.md'}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
