"""HR's own words: groups of words that mean the same thing here (`content/synonyms.yml`).

Employees write 出粮, 人工 or 薪金 for 工资, "OT pay" for 加班费. Neither BM25
nor the sentence encoder knows that a Cantonese or an in-house word means
the same as the article's. Each group in the file names one thing; its first
word is the group's canonical word. Wherever any word of a group occurs, in
an article (index side) or in a text typed into the form (query side), the
canonical word is added, so the two meet. The site's own search gets every
word of the group added to a page that uses one of them.

    # content/synonyms.yml
    - [工资, 薪金, 薪水, 人工, 出粮, salary]
    - [加班费, OT, overtime pay]

Validated like the rest of the content: a problem names the file and line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .analysis import normalize
from .errors import ContentError, Problem
from .yamlsrc import YamlSyntaxError, load

FILE = "synonyms.yml"
INDEX_FILE = "synonyms.json"  # beside the index: the query side reads the groups the index was built with
MAX_WORD = 40


@dataclass(frozen=True)
class Synonyms:
    groups: tuple[tuple[str, ...], ...] = ()
    _patterns: list = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self):
        for group in self.groups:
            words = sorted({normalize(w) for w in group}, key=len, reverse=True)
            # English words match whole words only ("pay" is not in "payslip"); Chinese anywhere.
            parts = [rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])" if w.isascii() else re.escape(w) for w in words]
            self._patterns.append(re.compile("|".join(parts)))

    def groups_in(self, text: str) -> list[tuple[str, ...]]:
        folded = normalize(text)
        return [g for g, p in zip(self.groups, self._patterns) if p.search(folded)]

    def canonical(self, text: str) -> str:
        """The canonical words of the groups text mentions, space-separated ('' when none)."""
        return " ".join(g[0] for g in self.groups_in(text))

    def expand(self, text: str) -> str:
        """text with the canonical words of its groups added (what is indexed and searched for)."""
        extra = self.canonical(text)
        return f"{text} {extra}" if extra else text

    def save(self, folder: Path) -> None:
        (Path(folder) / INDEX_FILE).write_text(json.dumps([list(g) for g in self.groups], ensure_ascii=False),
                                                encoding="utf-8")

    @classmethod
    def of_index(cls, folder: Path) -> Synonyms:
        try:
            return cls(tuple(tuple(g) for g in json.loads((Path(folder) / INDEX_FILE).read_text(encoding="utf-8"))))
        except (OSError, ValueError, TypeError):
            return cls()


def read(content_dir: Path) -> Synonyms:
    """content/synonyms.yml, validated (none: no synonyms). Raises ContentError naming file and line."""
    path = Path(content_dir) / FILE
    if not path.is_file():
        return Synonyms()
    try:
        data, lines = load(path.read_text(encoding="utf-8"), path)
    except YamlSyntaxError as exc:
        raise ContentError([exc.problem]) from None
    except UnicodeDecodeError:
        raise ContentError([Problem(path, "is not UTF-8 text", fix="save the file as UTF-8")]) from None
    if data is None:
        return Synonyms()
    if not isinstance(data, list):
        raise ContentError([Problem(path, "must be a list of groups, each a list of words", line=1,
                                    fix="write one group per line, e.g. - [工资, 薪金, 出粮]")])
    problems: list[Problem] = []
    groups: list[tuple[str, ...]] = []
    seen: dict[str, tuple[int, int | None]] = {}  # word -> (its group, the group's line)
    for i, group in enumerate(data):
        line = lines.get((i,))
        if not isinstance(group, list) or len(group) < 2:
            problems.append(Problem(path, f"group {i + 1} must list at least two words", line=line,
                                    fix="write it as - [word, other word]"))
            continue
        words = []
        for k, word in enumerate(group):
            if not isinstance(word, (str, int)) or not str(word).strip() or len(str(word)) > MAX_WORD:
                problems.append(Problem(path, f"group {i + 1}, word {k + 1} must be a word or phrase of 1 to "
                                        f"{MAX_WORD} characters", line=lines.get((i, k), line)))
                continue
            word = str(word).strip()
            key = normalize(word)
            if key in seen and seen[key][0] != i:
                problems.append(Problem(path, f"'{word}' is in group {seen[key][0] + 1} (line {seen[key][1]}) "
                                        f"and group {i + 1}", line=lines.get((i, k), line),
                                        fix="keep each word in one group, or merge the groups"))
            seen.setdefault(key, (i, line))
            words.append(word)
        if len(words) >= 2:
            groups.append(tuple(dict.fromkeys(words)))
    if problems:
        raise ContentError(problems)
    return Synonyms(tuple(groups))
