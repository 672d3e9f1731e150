"""What a build may read from the content, docs and theme-override trees, checked before it reads them.

Whoever can write a content file can otherwise make `kb build` publish any
file the builder can read (MkDocs copies what a symlink in docs/ points at
into the public site), or exhaust its memory with one huge file. So: a
symlink that leads out of its tree, or to nothing, is refused; a Markdown
file above `build.max_file_bytes` is refused without being read; and a file
name that makes a poor URL (spaces, capitals, '%', '#', '?', non-ASCII) is
reported as a warning, because the file name is the page's address.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .config import KbConfig
from .errors import Problem

# Characters that stay readable and need no escaping in a URL path.
_URL_SAFE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


@dataclass
class TreeReport:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refused: set[Path] = field(default_factory=set)  # never to be read


def trees(config: KbConfig) -> list[Path]:
    """The folders a build reads: content, hand-written docs, theme overrides (when they exist)."""
    found = [config.content_dir, config.docs_dir, config.root / "overrides"]
    return [t for t in found if t.is_dir()]


def check_trees(config: KbConfig) -> TreeReport:
    """Walk every tree once (not the generated faq/ and sop/ of docs/: the build writes those itself).

    By directory listings (os.scandir: a file's kind comes with its name), folders in name order, each
    folder's subfolders before its files, as os.walk gave them: at 10,000 articles making a Path and
    asking the file system twice for each file took 0.4 s of every rebuild.
    """
    from .pages import GENERATED as skip_top

    report = TreeReport()
    limit = config.build.max_file_bytes
    for root in trees(config):
        real_root = root.resolve()
        pending = [root]
        while pending:
            here = pending.pop()
            try:
                with os.scandir(here) as listing:
                    entries = sorted(listing, key=lambda e: e.name)
            except OSError:
                continue
            # Hidden folders are never published (and docs/ holds the build's own staging ones);
            # hidden files are checked too: a content glob would still read `.x.md`.
            dirs = [e for e in entries if e.is_dir(follow_symlinks=True) and not e.name.startswith(".")
                    and not (here == root and root == config.docs_dir and e.name in skip_top)]
            files = [e for e in entries if not e.is_dir(follow_symlinks=True)]
            walk = []
            for entry in dirs:
                path = here / entry.name
                if entry.is_symlink():  # checked, never walked into (as os.walk does not follow links)
                    _check_link(path, real_root, root, report)
                    continue
                walk.append(path)
            pending.extend(reversed(walk))  # depth first, in name order
            in_cases = here == root / "cases"
            for entry in files:
                path = here / entry.name
                if entry.is_symlink():
                    _check_link(path, real_root, root, report)
                    if path in report.refused:
                        continue
                if entry.name.endswith(".md"):
                    try:
                        size = entry.stat().st_size
                    except OSError:
                        continue
                    if size > limit:
                        report.refused.add(path)
                        report.problems.append(Problem(
                            path, f"is {size:,} bytes, above the limit of {limit:,} bytes (build.max_file_bytes)",
                            fix="split it into smaller articles, or raise build.max_file_bytes in kb.yml"))
                    if not entry.name.startswith(".") and not in_cases:
                        _check_name(path, root, report)
    return report


def _check_link(path: Path, real_root: Path, root: Path, report: TreeReport) -> None:
    target = os.readlink(path)
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        report.refused.add(path)
        report.problems.append(Problem(path, f"is a symbolic link to '{target}', which does not exist",
                                       fix="remove the link or copy the file it should point to into the folder"))
        return
    if not resolved.is_relative_to(real_root):
        report.refused.add(path)
        report.problems.append(Problem(
            path, f"is a symbolic link to '{target}', outside {root}; a build publishes only what is inside",
            fix="copy the file into the folder instead of linking to it"))


def _check_name(path: Path, root: Path, report: TreeReport) -> None:
    """Pages get their address from their path: warn about parts that make a poor one."""
    rel = path.relative_to(root)
    if rel.parts and rel.parts[0] == "cases":
        return  # a case's address is its `id:`, validated as a slug
    bad = [part for part in rel.with_suffix("").parts if not _URL_SAFE.match(part)]
    if bad:
        report.warnings.append(
            f"{path}: the name '{'/'.join(rel.parts)}' makes a poor page address ('{bad[0]}'); "
            "use lowercase letters, digits and hyphens, e.g. leave-policy.md")
