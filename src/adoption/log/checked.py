"""Logs checked before: a log folder whose files passed every contract rule is remembered by what the file
system says of those files, so that the next analysis of the same files does not check them again.

Checking every rule is a pass over the whole log (at ten million users, 24 s of an analysis that takes 90 s
without it), and the answer cannot change while the files do not. A check that passed is remembered as a
small mark (the folder, the options, the time) in a cache folder, named by a digest of:

- every file the readers may read (the files in the log folder, and everything under a folder named as a
  table): its path, device, inode, size, and the times of its last change of content (``st_mtime_ns``) and
  of its last change of any kind (``st_ctime_ns``, which no program can set back: the rule ``git`` uses to
  know a file is unchanged without reading it);
- the options that change what the rules see (the amount unit);
- the source of the rules themselves (every module of :mod:`adoption.log`) and the package's version.

Any write to a file, a file added, removed or renamed, another unit, or another version of the rules gives
another digest, and the log is checked again (on a file system that keeps these times, as every POSIX one
does). The digest is taken before the check, so a file changed while it is checked is checked again next
time. A check that found problems is never remembered: those are found, and said, every time.

The cache folder is ``$ADOPTION_CACHE_DIR/checked`` if that variable is set (set to an empty string: nothing
is remembered), else ``$XDG_CACHE_HOME/adoption/checked``, else ``~/.cache/adoption/checked``. Deleting it
forgets every check; ``adoption validate`` always checks. A cache folder that cannot be written is not an
error: nothing is remembered. At most :data:`MAX_MARKS` marks are kept: when a new one would pass that, the
least recently used are forgotten (their logs are checked again when next read).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

_Problem = TypeVar("_Problem")

__all__ = ["CACHE_ENV", "LogFiles", "cache_folder", "check_once", "log_digest"]

#: The environment variable naming the cache folder (an empty value: nothing is remembered).
CACHE_ENV = "ADOPTION_CACHE_DIR"
#: The most marks kept in the cache folder (each a few hundred bytes); the least recently used go first.
MAX_MARKS = 1000


def cache_folder(environ: Mapping[str, str] | None = None) -> Path | None:
    """The folder of the remembered checks, by ``environ`` (default: this process's environment), or None
    where remembering is turned off (``ADOPTION_CACHE_DIR`` set to an empty string).

    Examples
    --------
    >>> cache_folder({"ADOPTION_CACHE_DIR": "/tmp/adoption-cache"})
    PosixPath('/tmp/adoption-cache/checked')
    >>> cache_folder({"XDG_CACHE_HOME": "/tmp/cache"})
    PosixPath('/tmp/cache/adoption/checked')
    >>> cache_folder({"ADOPTION_CACHE_DIR": ""}) is None
    True
    """
    environ = os.environ if environ is None else environ
    value = environ.get(CACHE_ENV)
    if value is not None:
        return Path(value) / "checked" if value else None
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "adoption" / "checked"


@functools.cache
def _rules_digest() -> bytes:
    """A digest of the rules' source (every module of :mod:`adoption.log`), the package's version and the
    versions of the libraries that count them."""
    from importlib.metadata import PackageNotFoundError, version

    from adoption.version import __version__

    digest = hashlib.sha256(__version__.encode())
    for library in ("duckdb", "pandas", "pyarrow", "numpy"):  # (the rules are counted by these)
        with contextlib.suppress(PackageNotFoundError):
            digest.update(f"{library} {version(library)}".encode())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode() + b"\0" + module.read_bytes())
    return digest.digest()


def log_digest(folder: str | os.PathLike[str], options: Mapping[str, str]) -> str | None:
    """The digest that names a check of ``folder``'s files with ``options``, or None where some file cannot
    be looked at (the check then runs, and says what is wrong).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "users.csv").write_text("user_id,joined_at\\n1,2014-01-01\\n")
    >>> before = log_digest(folder, {"amount_unit": "cents"})
    >>> before == log_digest(folder, {"amount_unit": "cents"}), before == log_digest(folder, {"amount_unit": "yuan"})
    (True, False)
    >>> _ = (folder / "users.csv").write_text("user_id,joined_at\\n1,2014-01-02\\n")
    >>> before == log_digest(folder, {"amount_unit": "cents"})
    False
    """
    root = Path(folder)
    digest = hashlib.sha256(_rules_digest())
    digest.update(json.dumps(dict(options), sort_keys=True).encode())
    try:
        digest.update(str(root.resolve(strict=True)).encode())
        for path, stat in _files(root):
            digest.update(f"{os.path.relpath(path, root)}\0{stat.st_dev}\0{stat.st_ino}\0{stat.st_size}\0"
                          f"{stat.st_mtime_ns}\0{stat.st_ctime_ns}\n".encode())
    except OSError:
        return None
    return digest.hexdigest()


def _files(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every file the readers may read, with its status, in a fixed order: the files in ``root`` and
    everything under a folder named as a table (``payments/``), through links as the readers follow them (a
    folder reached twice is listed once); other folders are not looked into."""
    from adoption.log.contract import TABLES

    seen: set[tuple[int, int]] = set()
    folders = [str(root)]
    while folders:
        folder = folders.pop()
        stat = os.stat(folder)
        if (stat.st_dev, stat.st_ino) in seen:
            continue
        seen.add((stat.st_dev, stat.st_ino))
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
        for entry in entries:
            if entry.is_dir():
                if folder != str(root) or entry.name in TABLES:
                    folders.append(entry.path)
            else:
                yield entry.path, os.stat(entry.path)  # (a link's target: what the readers read)


@dataclass(frozen=True)
class LogFiles:
    """A log folder's files as they are when this is made (:meth:`now`), read with ``options``: whether they
    passed every contract rule before, and a way to remember that they did.

    Taken before a check and remembered after it passes, it names the files as they were checked: a file
    changed while the rules were being checked gives another digest next time, and is checked again.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())  # (a new folder: never checked)
    >>> _ = (folder / "users.csv").write_text("user_id,joined_at\\n1,2014-01-01\\n")
    >>> files = LogFiles.now(folder, {"amount_unit": "cents"})
    >>> files.checked_before()
    False
    >>> files.remember_checked()
    >>> LogFiles.now(folder, {"amount_unit": "cents"}).checked_before()
    True
    >>> LogFiles.now(folder, {"amount_unit": "yuan"}).checked_before()
    False
    """

    folder: Path
    options: Mapping[str, str]
    #: :func:`log_digest` of the files (None where some file cannot be looked at: never remembered).
    digest: str | None

    @classmethod
    def now(cls, folder: str | os.PathLike[str], options: Mapping[str, str]) -> LogFiles:
        """The files of ``folder`` as they are now."""
        return cls(Path(folder), dict(options), log_digest(folder, options))

    def checked_before(self) -> bool:
        """Whether these files passed every contract rule with these options before."""
        cache = cache_folder()
        if cache is None or self.digest is None or not (cache / self.digest).is_file():
            return False
        with contextlib.suppress(OSError):  # used now: the last to be forgotten
            os.utime(cache / self.digest)
        return True

    def remember_checked(self) -> None:
        """Remember that these files passed every contract rule with these options.

        The mark is written whole or not at all (a temporary file renamed into place); where the cache
        folder cannot be written, nothing is remembered and nothing is said.
        """
        cache = cache_folder()
        if cache is None or self.digest is None:
            return
        note = {"folder": str(self.folder.resolve()), "options": dict(self.options),
                "checked_at": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            cache.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=cache, prefix=".checking-")
        except OSError:
            return
        try:
            with os.fdopen(handle, "w") as file:
                json.dump(note, file)
            os.replace(temporary, cache / self.digest)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            return
        _forget_least_used(cache)


def _forget_least_used(cache: Path) -> None:
    """Remove the least recently used marks beyond :data:`MAX_MARKS` (errors ignored: another process may
    be doing the same)."""
    with contextlib.suppress(OSError):
        marks = [(entry.stat().st_mtime_ns, entry) for entry in cache.iterdir() if not entry.name.startswith(".")]
        if len(marks) <= MAX_MARKS:
            return
        marks.sort()
        for _, entry in marks[: len(marks) - MAX_MARKS]:
            with contextlib.suppress(OSError):
                entry.unlink()


def check_once(folder: str | os.PathLike[str], options: Mapping[str, str], check: Callable[[], list[_Problem]], *,
               recheck: bool = False) -> list[_Problem] | None:
    """``check()``, the problems of ``folder``'s files, unless these files passed it before (None: not run;
    ``recheck``: run anyway); files it finds nothing in are remembered. The files are named before the check
    runs, so that one changed meanwhile is checked again next time.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "users.csv").write_text("user_id,joined_at\\n1,2014-01-01\\n")
    >>> check_once(folder, {"amount_unit": "cents"}, lambda: []), check_once(folder, {"amount_unit": "cents"}, lambda: [])
    ([], None)
    """
    files = LogFiles.now(folder, options)
    if not recheck and files.checked_before():
        return None
    problems = check()
    if not problems:
        files.remember_checked()
    return problems
