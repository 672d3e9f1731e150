"""An approved phrasing written into its article's file in content/, in place.

The file is HR's: its comments, key order, quoting and body stay as they
were; only one line is appended to `questions:` (ruamel.yaml's round trip).
A case always has the list; an SOP may have none yet (its `questions:` is
optional), and gets one after its last header key but `published:`.
It is written to a temporary file, checked as `kb build` will check it,
then renamed over the original, so a failure leaves the file untouched. A
file that does not parse is reported with its name and line, and left alone.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Literal

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from kb_builder.errors import ContentError, Problem
from kb_builder.sources import FOLDERS, FRONT_MATTER, read_source


def article_file(content_dir: Path, article_id: str) -> Path | None:
    """The content file of an article id: the case whose `id:` it is, or the SOP `sop-<file name>`."""
    found = case_file(content_dir, article_id)
    if found is None and article_id.startswith("sop-"):
        sop = content_dir / "sops" / f"{article_id.removeprefix('sop-')}.md"
        # The id comes from outside: only a plain file name inside sops/ (SOP ids are file names).
        if "/" not in article_id and "\\" not in article_id and ".." not in article_id and sop.is_file():
            found = sop
    return found


def kind_of(path: Path) -> Literal["case", "sop"]:
    return "sop" if path.parent.name == FOLDERS["sop"] else "case"


def case_file(content_dir: Path, article_id: str) -> Path | None:
    """The case file whose `id:` is article_id (named after it, as `kb publish` writes them, or any other name)."""
    cases = content_dir / "cases"
    named = cases / f"{article_id}.md"
    candidates = [named] if named.is_file() else []
    candidates += [p for p in sorted(cases.glob("*.md")) if p != named]
    for path in candidates:
        try:
            head = path.read_text(encoding="utf-8")[:4000]
        except (OSError, UnicodeDecodeError):
            continue
        match = FRONT_MATTER.match(head)
        if match and any(line.strip() in (f"id: {article_id}", f"id: '{article_id}'", f'id: "{article_id}"')
                         for line in match.group(1).splitlines()):
            return path
    return None


def questions_of(path: Path) -> list[str]:
    """The file's phrasings as they are now (none when it has no list or does not parse: the approval says why)."""
    try:
        match = FRONT_MATTER.match(path.read_text(encoding="utf-8"))
        data = YAML(typ="safe").load(match.group(1)) if match else None
    except (OSError, UnicodeDecodeError, YAMLError):
        return []
    questions = data.get("questions") if isinstance(data, dict) else None
    return [str(q) for q in questions] if isinstance(questions, list) else []


def _yaml(header: str) -> YAML:
    """A round-trip YAML (comments, order and quoting kept) that indents lists as this file does."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long phrasing onto two lines
    dash = re.search(r"^questions:[ \t]*\r?\n(?:[ \t]*#.*\r?\n)*([ \t]*)- ", header, re.M)
    offset = len(dash.group(1)) if dash else 0
    yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    return yaml


def add_question(path: Path, text: str, categories: list[str]) -> bool:
    """Append text to the file's `questions:` (a case's or an SOP's); False when it is there already.

    ContentError names the file and line."""
    raw = path.read_text(encoding="utf-8")
    match = FRONT_MATTER.match(raw)
    if not match:
        raise ContentError([Problem(path, "no front matter found", line=1,
                                    fix="start the file with a line '---', the fields, and another line '---'")])
    yaml = _yaml(match.group(1))
    try:
        data = yaml.load(match.group(1))
    except (MarkedYAMLError, YAMLError) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ContentError([Problem(path, f"the front matter is not valid YAML ({getattr(exc, 'problem', exc)})",
                                    line=mark.line + 2 if mark is not None else None,
                                    fix="correct the file, then approve again")]) from None
    kind = kind_of(path)
    questions = data.get("questions") if hasattr(data, "get") else None
    if questions is None and kind == "sop" and isinstance(data, CommentedMap):
        keys = list(data)
        at = keys.index("published") if "published" in keys else len(keys)
        data.insert(at, "questions", CommentedSeq())
        questions = data["questions"]
    if not isinstance(questions, list):
        raise ContentError([Problem(path, "has no 'questions:' list", line=2, field="questions",
                                    fix="add 'questions:' with the phrasings, one per line starting with '- '")])
    if text.strip() in (str(q).strip() for q in questions):
        return False
    questions.append(text.strip())
    out = io.StringIO()
    yaml.dump(data, out)
    new = raw[:match.start(1)] + out.getvalue().rstrip("\n") + "\n" + raw[match.end(1):]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(new, encoding="utf-8")
    try:
        read_source(tmp, kind, categories)  # the same validation as kb build
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return True
