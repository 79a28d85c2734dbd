"""Output folders that never lose a user's file and never mix two runs.

Every command that writes an ``--out`` folder claims it with :func:`claim_output` before any work starts, and
calls :meth:`OutputFolder.commit` when it is done. The claim checks the path (not a file, writable, not inside
the input data), and reads the folder's manifest (``.rerank-fix.json``), which lists what a previous run of the
same command wrote. Only those files are removed before the new run writes, so a rerun never leaves the last
run's ``dense.trec`` or plots beside the new report; a folder holding anything else, or another command's
output, is refused: nothing this project did not write is ever deleted.

A run that was interrupted leaves its manifest marked ``incomplete`` with its start time; the next run treats
the files written since then as that run's (they are removed like any previous output), so an interrupted
run's temporary files are cleaned up by the next one.

Example:
    >>> out = claim_output("runs/diagnose/scifact", "diagnose", inputs=["../data/scifact"])  # doctest: +SKIP
    >>> out.commit()  # after writing report.md, runs/*.trec ... into out.path  # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from rerank_fix.errors import OutputError, quote

MANIFEST = ".rerank-fix.json"
# Outputs written before manifests existed are recognised by a file only that command writes (and, for JSON, a key
# in it), so upgrading does not lock users out of their own folders (``make demo`` reruns into runs/demo).
_LEGACY_MARKERS = {"export": ("export_info.json", "sha256"), "finetune": ("data_stats.json", "triples"),
                   "diagnose": ("report.json", "systems"), "compare": ("report.json", "pipelines")}
# Temporary folders beside an export target: ``.NAME.tmp-1a2b3c4d`` and ``.NAME.old-1a2b3c4d``.
TEMP_SIBLING = re.compile(r"^\..+\.(tmp|old)-[0-9a-f]{8}$")


@dataclass
class OutputFolder:
    """A claimed output folder.

    Args:
        path: The folder.
        command: The command that owns it (``diagnose``, ``compare``, ...).
        removed: Files of the previous run removed by the claim (relative paths).
    """

    path: Path
    command: str
    removed: list[str]

    def commit(self, extra: dict | None = None) -> None:
        """Record every file now in the folder as this run's output."""
        files = _list_files(self.path)
        _write_manifest(self.path, {"command": self.command, "status": "complete", "finished": time.time(),
                                    "files": files, **(extra or {})})


def check_output_path(path: str | Path, inputs: Iterable[str | Path | None] = (), option: str = "--out") -> Path:
    """Refuse an output path that is a file, cannot be written, or lies inside (or contains) the input data."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise OutputError(f"{path}: {option} is a broken symbolic link — point it at a folder or remove the link")
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: {option} is an existing file, not a folder — give a folder path")
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise OutputError(f"{path}: {option} cannot be resolved ({exc}) — fix the symbolic links or choose "
                          "another folder") from None
    for item in inputs:
        if item is None or str(item) in ("", "demo"):
            continue
        source = Path(item)
        if not source.exists():
            continue
        source = source.resolve()
        if source.is_dir() and (resolved == source or source in resolved.parents):
            raise OutputError(f"{path}: {option} lies inside the input data {source} — write outputs outside "
                              "the data folder")
        if resolved in source.parents or resolved == source:
            raise OutputError(f"{path}: {option} contains the input {source} — choose a folder that does not "
                              "hold the input")
    existing = resolved
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{path}: {existing} is a file, so {option} cannot be created there — choose another "
                          "folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: {option} is not writable ({existing} is read-only for you) — choose a "
                          "folder you can write to")
    return path


def claim_output(path: str | Path, command: str, inputs: Iterable[str | Path | None] = (),
                 option: str = "--out", keep_previous: bool = False) -> OutputFolder:
    """Check ``path`` and make it ready for a new run of ``command``, before any work starts.

    Args:
        path: The output folder (created if missing).
        command: Owner recorded in the manifest; another command's folder is refused.
        inputs: Input files or folders the output must not lie inside.
        option: How the user named the path, for messages (``--out``, ``output_dir``).
        keep_previous: Keep the previous run's files (a resumed run continues them).
    """
    path = check_output_path(path, inputs, option)
    removed: list[str] = []
    if path.is_dir():
        ours, unknown = _split_files(path, command, option)
        if unknown:
            raise OutputError(f"{path}: {option} holds {len(unknown)} file(s) rerank-fix did not write, e.g. "
                              f"{quote(unknown[0])} — choose a new or empty folder, or move those files away")
        if not keep_previous:
            for rel in ours:
                _remove(path / rel)
                removed.append(rel)
            _prune_empty_dirs(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        manifest = _read_manifest(path) if keep_previous else None
        _write_manifest(path, {"command": command, "status": "incomplete", "started": time.time(),
                               "files": (manifest or {}).get("files", [])})
    except OSError as exc:
        raise OutputError(f"{path}: {option} cannot be written ({exc.strerror or exc}) — choose a folder you can "
                          "write to") from None
    return OutputFolder(path, command, removed)


def previous_owner(path: str | Path) -> str | None:
    """The command whose output ``path`` holds, or ``None`` if it holds no rerank-fix output."""
    path = Path(path)
    manifest = _read_manifest(path)
    if manifest is not None:
        return str(manifest.get("command"))
    for command in _LEGACY_MARKERS:
        if _has_legacy_marker(path, command):
            return command
    return None


def _has_legacy_marker(path: Path, command: str) -> bool:
    marker = _LEGACY_MARKERS.get(command)
    if marker is None or not (path / marker[0]).is_file():
        return False
    if marker[1] is None:
        return True
    try:
        data = json.loads((path / marker[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and marker[1] in data


def clean_temp_siblings(target: str | Path) -> list[Path]:
    """Remove temporary folders that an interrupted export left beside ``target``'s parent.

    Only folders named like ours (``.NAME.tmp-xxxxxxxx``) whose manifest says ``incomplete`` and whose
    process is gone are removed.
    """
    parent = Path(target).parent
    removed = []
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        if not (TEMP_SIBLING.match(entry.name) and entry.is_dir() and not entry.is_symlink()):
            continue
        manifest = _read_manifest(entry)
        if manifest is None or manifest.get("status") != "incomplete" or _alive(manifest.get("pid")):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def mark_temp(folder: str | Path, command: str) -> None:
    """Mark a temporary folder as this process's, so a later run can clean it if this one is killed."""
    _write_manifest(Path(folder), {"command": command, "status": "incomplete", "started": time.time(),
                                   "pid": os.getpid(), "files": []})


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _split_files(path: Path, command: str, option: str) -> tuple[list[str], list[str]]:
    """``(files a previous run of command wrote, files nobody accounts for)``; another command's folder is refused."""
    present = _list_files(path)
    manifest = _read_manifest(path)
    if manifest is None:
        if _has_legacy_marker(path, command):
            return present, []
        return [], present
    owner = manifest.get("command")
    if owner != command:
        raise OutputError(f"{path}: {option} holds the output of `rerank-fix {owner}` — choose another folder for "
                          f"`rerank-fix {command}`")
    listed = set(manifest.get("files") or [])
    if manifest.get("status") == "complete":
        ours = [f for f in present if f in listed]
    else:
        # An interrupted run: what it wrote is newer than its start.
        started = float(manifest.get("started") or 0)
        ours = [f for f in present if f in listed or _mtime(path / f) >= started - 1]
    owned = set(ours)
    return ours, [f for f in present if f not in owned]


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0


def _list_files(path: Path) -> list[str]:
    files = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(root, name), path)
            if not rel.startswith(MANIFEST):
                files.append(rel.replace(os.sep, "/"))
        # A symlink to a folder is listed as an entry, not followed.
        for d in list(dirs):
            full = os.path.join(root, d)
            if os.path.islink(full):
                dirs.remove(d)
                files.append(os.path.relpath(full, path).replace(os.sep, "/"))
    return files


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.is_dir():
        shutil.rmtree(path)


def _prune_empty_dirs(path: Path) -> None:
    for root, dirs, names in os.walk(path, topdown=False):
        if Path(root) != path and not os.listdir(root):
            os.rmdir(root)


def _read_manifest(path: Path) -> dict | None:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_manifest(path: Path, data: dict) -> None:
    tmp = path / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path / MANIFEST)
