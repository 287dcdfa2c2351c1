"""experiments.runner.rundir: the workdir lock (a live holder is named, a dead one's lock
is taken over), the writability probe, and atomic writes that keep the previous file
when the disk is full, with one line naming the file; strict JSON."""
import errno
import json
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from experiments.runner import rundir

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]

HOLDER = """
import sys, time
sys.path.insert(0, {root!r})
from experiments.runner import rundir
with rundir.lock({workdir!r}):
  print("locked", flush=True)
  sys.stdin.readline()  # hold it until the parent says so
"""


def start_holder(workdir):
  child = subprocess.Popen([sys.executable, "-c", HOLDER.format(root=str(REPO_ROOT),
                                                                workdir=str(workdir))],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
  assert child.stdout.readline() == "locked\n"
  return child


# --------------------------------------------------------------------------------------
# Lock


def test_a_live_holder_is_named_and_the_lock_is_free_after_it_exits(tmp_path):
  workdir = tmp_path / "run"
  workdir.mkdir()
  (workdir / "result.json").write_text("{}")  # a run's file: the workdir stays
  child = start_holder(workdir)
  try:
    with pytest.raises(rundir.WorkdirError) as error:
      with rundir.lock(workdir):
        pytest.fail("took a lock that another process holds")
    assert str(error.value) == (f"{workdir} is in use by pid {child.pid} (another run); "
                                "wait for it or use another --workdir")
  finally:
    child.communicate("\n", timeout=30)
  assert child.returncode == 0
  with rundir.lock(workdir) as path:
    assert path == workdir
    assert (workdir / rundir.LOCK_FILE).read_text() == f"{os.getpid()}\n"
  assert sorted(p.name for p in workdir.iterdir()) == ["result.json"]  # .lock removed


def test_a_workdir_the_lock_created_goes_when_nothing_was_written(tmp_path):
  with rundir.lock(tmp_path / "a" / "run"):
    assert (tmp_path / "a" / "run" / rundir.LOCK_FILE).is_file()
  assert not (tmp_path / "a" / "run").exists()
  with rundir.lock(tmp_path / "b"):
    (tmp_path / "b" / "config.json").write_text("{}")
  assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["config.json"]
  (tmp_path / "c").mkdir()
  with rundir.lock(tmp_path / "c"):  # existed before: never removed
    pass
  assert (tmp_path / "c").is_dir() and not list((tmp_path / "c").iterdir())


CONTENDER = """
import sys, time
from experiments.runner import rundir
taken = 0
for _ in range(200):
  try:
    with rundir.lock(sys.argv[1]):
      taken += 1
      open(sys.argv[1] + "/inside", "a").write("+")
      time.sleep(0.0005)
      open(sys.argv[1] + "/inside", "a").write("-")
  except rundir.WorkdirError:
    pass
print(taken)
"""


def test_contending_processes_never_hold_the_lock_together(tmp_path):
  # The holder unlinks .lock on release; a waiter that opened the old file must not
  # think it holds the lock (the inode check). Enter/exit marks must never interleave.
  workdir = tmp_path / "run"
  workdir.mkdir()
  children = [subprocess.Popen([sys.executable, "-c", CONTENDER, str(workdir)],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
              for _ in range(3)]
  taken = [int(c.communicate(timeout=120)[0]) for c in children]
  assert sum(taken) > 0
  marks = (workdir / "inside").read_text()
  assert marks == "+-" * sum(taken)


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
  workdir = tmp_path / "run"
  child = start_holder(workdir)
  child.kill()  # SIGKILL: no cleanup, its pid stays in the lock file
  child.wait()
  child.stdin.close()
  child.stdout.close()
  assert (workdir / rundir.LOCK_FILE).read_text() == f"{child.pid}\n"
  with rundir.lock(workdir):
    assert (workdir / rundir.LOCK_FILE).read_text() == f"{os.getpid()}\n"


def test_a_second_lock_in_the_same_process_is_refused_too(tmp_path):
  with rundir.lock(tmp_path):
    with pytest.raises(rundir.WorkdirError, match=rf"in use by pid {os.getpid()} \(this "
                       r"process\)"):
      with rundir.lock(tmp_path):
        pass
  with rundir.lock(tmp_path):  # and the first one was released normally
    pass


def test_the_lock_is_released_when_the_body_raises(tmp_path):
  with pytest.raises(KeyError):
    with rundir.lock(tmp_path):
      raise KeyError("boom")
  with rundir.lock(tmp_path):
    pass


def test_a_workdir_that_cannot_be_created_is_a_workdir_error(tmp_path):
  (tmp_path / "file").write_text("x")
  with pytest.raises(rundir.WorkdirError, match="cannot lock workdir .*file/run"):
    with rundir.lock(tmp_path / "file" / "run"):
      pass


# --------------------------------------------------------------------------------------
# check_writable


def test_check_writable_creates_nothing(tmp_path):
  target = tmp_path / "a" / "b"
  assert rundir.check_writable(target) == target
  assert list(tmp_path.iterdir()) == []
  (tmp_path / "existing").mkdir()
  rundir.check_writable(tmp_path / "existing")
  assert list((tmp_path / "existing").iterdir()) == []


def test_check_writable_refuses_a_path_under_a_file(tmp_path):
  (tmp_path / "file").write_text("x")
  with pytest.raises(rundir.WorkdirError, match=r"workdir .*file/run is not writable "
                     r"\(checked .*file, where it would be created\): Not a directory"):
    rundir.check_writable(tmp_path / "file" / "run")


@pytest.fixture
def full_disk(tmp_path, tiny_tmpfs):
  """A mounted 64 KB tmpfs holding ``previous.json``; call ``fill()`` to fill it up."""
  disk = tiny_tmpfs(tmp_path / "disk", "64k")

  def fill():
    with open(disk / "filler", "wb", buffering=0) as f:  # unbuffered: close cannot fail
      with pytest.raises(OSError) as full:
        while True:
          f.write(b"\0" * 4096)
      assert full.value.errno == errno.ENOSPC
  try:
    yield disk, fill
  finally:
    subprocess.run(["umount", str(disk)], check=False)


def test_check_writable_finds_a_full_disk(full_disk):
  disk, fill = full_disk
  rundir.check_writable(disk / "run")
  fill()
  with pytest.raises(rundir.WorkdirError, match="not writable.*No space left on device"):
    rundir.check_writable(disk / "run")
  assert sorted(p.name for p in disk.iterdir()) == ["filler"]


# --------------------------------------------------------------------------------------
# Atomic writes


def test_writes_replace_the_file_and_leave_no_temporaries(tmp_path):
  path = tmp_path / "result.json"
  rundir.write_json(path, {"a": 1})
  rundir.write_json(path, {"a": [1, 2.5, None], "b": np.float32(0.5), "c": np.arange(2)})
  assert json.loads(path.read_text()) == {"a": [1, 2.5, None], "b": 0.5, "c": [0, 1]}
  rundir.write_text(tmp_path / "r.md", "é\n")
  rundir.write_bytes(tmp_path / "f.png", b"\x89PNG")
  assert (tmp_path / "r.md").read_bytes() == "é\n".encode()
  assert (tmp_path / "f.png").read_bytes() == b"\x89PNG"
  assert sorted(p.name for p in tmp_path.iterdir()) == ["f.png", "r.md", "result.json"]
  umask = os.umask(0)
  os.umask(umask)
  assert (tmp_path / "f.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_real_full_disk_keeps_the_previous_file(full_disk):
  disk, fill = full_disk
  path = disk / "result.json"
  rundir.write_json(path, {"run": 1})
  fill()
  with pytest.raises(rundir.WriteError) as error:
    rundir.write_bytes(path, b"x" * 20000)
  assert str(error.value) == f"cannot write {path}: No space left on device"
  assert isinstance(error.value, OSError) and error.value.errno == errno.ENOSPC
  assert error.value.filename == str(path)
  assert json.loads(path.read_text()) == {"run": 1}
  assert sorted(p.name for p in disk.iterdir()) == ["filler", "result.json"]


@pytest.mark.parametrize("fails", ["write", "fsync"])
def test_a_simulated_full_disk_keeps_the_previous_file(tmp_path, monkeypatch, fails):
  path = tmp_path / "result.json"
  path.write_text("previous")
  real_write = os.write

  def half_then_full(fd, data):
    real_write(fd, bytes(data[:len(data) // 2]))  # some bytes reach the temporary file
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  def full(_fd):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

  if fails == "write":
    monkeypatch.setattr(rundir.os, "write", half_then_full)
  else:
    monkeypatch.setattr(rundir.os, "fsync", full)
  with pytest.raises(rundir.WriteError, match=rf"^cannot write {path}: No space left on "
                     "device$"):
    rundir.write_json(path, {"new": list(range(100))})
  monkeypatch.undo()
  assert path.read_text() == "previous"
  assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_a_missing_directory_names_the_file(tmp_path):
  with pytest.raises(rundir.WriteError, match=r"cannot write .*/nodir/x.png: No such file"):
    rundir.write_bytes(tmp_path / "nodir" / "x.png", b"x")


def test_strict_json_refuses_nan_and_inf_naming_the_key_path(tmp_path):
  path = tmp_path / "result.json"
  path.write_text("previous")
  with pytest.raises(ValueError, match=r"costs\[1\]\[1\] is NaN or infinite"):
    rundir.write_json(path, {"costs": [[0, 0.5], [10, math.nan]]})
  with pytest.raises(ValueError, match=r"metrics.theta, metrics.arr\[1\] are NaN"):
    rundir.write_json(path, {"metrics": {"theta": -math.inf, "ok": 1.0,
                                         "arr": np.array([1.0, np.inf])}})
  with pytest.raises(ValueError, match=r"x is NaN"):
    rundir.write_json(path, {"x": np.float32("nan")})
  assert path.read_text() == "previous"  # refused before anything was written
  assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
  assert rundir.nonfinite_paths({"a": [1.0, None, "nan"], "b": {"c": 2}}) == []
