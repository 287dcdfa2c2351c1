"""The run directory: one run at a time (a lock), and files that are whole or absent.

* ``lock(workdir)``: an exclusive ``fcntl.flock`` on ``<workdir>/.lock``, whose content is
  the holder's pid. The kernel drops a flock when its process dies, so a lock file left by
  a killed run is simply taken over; a live holder is named in the error.
* ``check_writable(workdir)``: proves, before a run starts, that the workdir (or, when it
  does not exist yet, the directory it would be created in) takes a file, without
  leaving one (an unnamed ``O_TMPFILE`` probe) and without creating the workdir.
* ``write_bytes`` / ``write_text`` / ``write_json``: the data go to a temporary file in
  the same directory, are fsynced, then ``os.replace``d over the target. A reader, a
  crash or a full disk never sees a half-written file; on failure the temporary file is
  removed, the previous file is left as it was, and a ``WriteError`` (an ``OSError``)
  says ``cannot write <path>: <reason>`` in one line.
"""
import contextlib
import errno
import fcntl
import json
import math
import os
import pathlib
import secrets
import tempfile
import time

import numpy as np

from dlcourse.errors import DLCourseError

LOCK_FILE = ".lock"


class WorkdirError(DLCourseError):
  """The run directory is in use, or cannot be created or written."""


class WriteError(OSError):
  """A file could not be written (e.g. the disk is full); the previous one is intact.

  ``filename`` is the target (not the temporary file), ``strerror`` the OS's reason,
  ``errno`` its code; ``str()`` is the one line ``cannot write <path>: <reason>``.
  """

  def __init__(self, path, cause):
    reason = getattr(cause, "strerror", None) or str(cause) or type(cause).__name__
    super().__init__(getattr(cause, "errno", None) or errno.EIO, reason, os.fspath(path))

  def __str__(self):
    return f"cannot write {self.filename}: {self.strerror}"


# --------------------------------------------------------------------------------------
# Lock


def _read_pid(fd):
  """The pid recorded in an open lock file, or None while the holder has not written it."""
  raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
  return int(raw) if raw.isdigit() else None


def _holder(fd):
  """The holder's pid, waiting briefly: it writes the pid right after taking the lock."""
  for _ in range(20):
    pid = _read_pid(fd)
    if pid is not None:
      return pid
    time.sleep(0.01)
  return None


def _open_locked(lock_path):
  """An fd holding an exclusive flock on ``lock_path``, the file now at that name.

  A releasing holder unlinks the file while it still holds the flock, so a waiter may
  end up holding an unlinked file: the inode is compared after the flock and the open
  retried until the name and the descriptor agree.
  """
  while True:
    # os.open's descriptors are not inherited by child processes (PEP 446), so a
    # report worker started inside the lock does not keep it alive after we exit.
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      pid = _holder(fd)
      os.close(fd)
      who = f"pid {pid}" if pid is not None else "another process (pid not yet recorded)"
      if pid == os.getpid():
        who += " (this process)"
      raise WorkdirError(f"{lock_path.parent} is in use by {who} (another run); wait for "
                         "it or use another --workdir") from None
    except BaseException:
      os.close(fd)
      raise
    try:
      same = os.stat(lock_path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
      same = False
    if same:
      return fd
    os.close(fd)


@contextlib.contextmanager
def lock(workdir):
  """Holds an exclusive lock on ``workdir`` for the ``with`` body.

  The lock is an ``fcntl.flock`` on ``<workdir>/.lock``, whose content is the holder's
  pid; the kernel drops it when its process dies, so a lock left by a killed run is
  taken over, and a live holder is named in the WorkdirError. On release the file is
  removed, and so is ``workdir`` when this lock created it and nothing was written into
  it: a run refused inside the lock leaves no trace.
  """
  path = pathlib.Path(workdir)
  created = not path.exists()
  lock_path = path / LOCK_FILE
  try:
    path.mkdir(parents=True, exist_ok=True)
    fd = _open_locked(lock_path)
  except OSError as e:
    raise WorkdirError(f"cannot lock workdir {path}: {e.strerror or e}; choose another "
                       "--workdir") from None
  try:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
    yield path
  finally:
    with contextlib.suppress(OSError):
      os.unlink(lock_path)      # still holding the flock: see _open_locked
    os.close(fd)                # closing the descriptor releases the flock
    if created:
      with contextlib.suppress(OSError):
        path.rmdir()            # only succeeds when empty


# --------------------------------------------------------------------------------------
# Checks before a run


def _nearest_existing(path):
  for candidate in (path, *path.parents):
    if candidate.exists():
      return candidate
  return pathlib.Path(".")


def check_writable(workdir):
  """Raises WorkdirError unless ``workdir`` can take files; creates and leaves nothing.

  When ``workdir`` does not exist, its nearest existing parent must let it be created.
  The probe writes one byte to an unnamed temporary file (``O_TMPFILE`` on Linux), so a
  full disk or a read-only mount is found before any training.
  """
  path = pathlib.Path(workdir)
  where = _nearest_existing(path.absolute())
  try:
    if not where.is_dir():
      raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), os.fspath(where))
    if not os.access(where, os.W_OK | os.X_OK):
      raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(where))
    with tempfile.TemporaryFile(dir=where) as probe:
      probe.write(b"\0")
      probe.flush()
      os.fsync(probe.fileno())
  except OSError as e:
    inside = "" if where == path.absolute() else f" (checked {where}, where it would be created)"
    raise WorkdirError(f"workdir {path} is not writable{inside}: {e.strerror or e}; "
                       "choose another --workdir") from None
  return path


# --------------------------------------------------------------------------------------
# Atomic writes


def _fsync_dir(directory):
  """Makes a rename in ``directory`` durable (best effort: not every file system allows it)."""
  try:
    fd = os.open(directory, os.O_RDONLY)
  except OSError:
    return
  try:
    os.fsync(fd)
  except OSError:
    pass
  finally:
    os.close(fd)


def write_bytes(path, data):
  """Writes ``data`` to ``path`` atomically (temporary file, fsync, rename); returns ``path``.

  Raises WriteError naming ``path`` on any OSError (full disk, missing directory,
  permissions); the temporary file is removed and a previous ``path`` is untouched.
  """
  path = pathlib.Path(path)
  # A unique name in the same directory (so the rename is atomic); created with mode
  # 0o666 so the umask applies as for any other file (mkstemp would force 0o600).
  tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
  try:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
      view = memoryview(data).cast("B")
      while view:
        written = os.write(fd, view)
        view = view[written:]
      os.fsync(fd)
    finally:
      os.close(fd)
    os.replace(tmp, path)
  except OSError as e:
    with contextlib.suppress(OSError):
      os.unlink(tmp)
    raise WriteError(path, e) from e
  _fsync_dir(path.parent)
  return path


def write_text(path, text):
  """Writes ``text`` (UTF-8) to ``path`` atomically; see ``write_bytes``."""
  return write_bytes(path, text.encode("utf-8"))


def nonfinite_paths(obj, path=""):
  """Key paths (``costs[3][1]``, ``metrics.theta``) of the NaN/inf floats inside ``obj``."""
  if isinstance(obj, (float, np.floating)):
    return [] if math.isfinite(obj) else [path or "<root>"]
  if isinstance(obj, dict):
    return [p for k, v in obj.items() for p in nonfinite_paths(v, f"{path}.{k}" if path
                                                                else str(k))]
  if isinstance(obj, np.ndarray):
    return nonfinite_paths(obj.tolist(), path)
  if isinstance(obj, (list, tuple)):
    return [p for i, v in enumerate(obj) for p in nonfinite_paths(v, f"{path}[{i}]")]
  return []


def _json_default(value):
  """NumPy scalars and arrays as their Python values; anything else is refused."""
  if isinstance(value, (np.generic, np.ndarray)):
    return value.tolist()
  raise TypeError(f"{type(value).__name__} is not JSON serializable")


def write_json(path, obj):
  """Writes ``obj`` as strict JSON (indented) to ``path`` atomically.

  NaN and infinities are refused with a ValueError naming their key path, before
  anything is written (strict JSON has no such values: callers write None instead).
  """
  bad = nonfinite_paths(obj)
  if bad:
    raise ValueError(f"cannot write {path}: {', '.join(bad[:5])}"
                     f"{f' (and {len(bad) - 5} more)' if len(bad) > 5 else ''} "
                     f"{'is' if len(bad) == 1 else 'are'} NaN or infinite, which strict JSON "
                     "cannot hold; replace by None first")
  text = json.dumps(obj, indent=2, allow_nan=False, default=_json_default) + "\n"
  return write_text(path, text)
