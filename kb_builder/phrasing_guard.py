"""The quality guard for a proposed phrasing: which other articles' phrasings it would win.

Learning from complaints adds a line to an article (`questions:`). A line
that reads like another article's phrasings would pull that article's
queries over: the approver must see that before accepting it. Each existing
line of another article is held out in turn, as a query would arrive: it
is lost to the new line when the new line is closer to it than every other
line of its own article (title included), while its own article was the
closest before. Comparison is in the index's search space (vectors.py), the
same one the semantic score of every suggestion uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .vectors import ArticleVectors


@dataclass(frozen=True)
class Conflict:
    """A held-out phrasing of another article that the proposed line would win."""

    article_id: str
    phrasing: str
    similarity: float  # the proposed line's cosine to it
    own: float         # the best cosine among its own article's other lines


def conflicts(vectors: ArticleVectors, proposed: np.ndarray, article_id: str, limit: int = 10) -> list[Conflict]:
    """Other articles' lines that `proposed` (a line vector in the search space) would take from them."""
    lines = vectors.lines
    m = len(lines)
    if m == 0:
        return []
    owner = np.zeros(m, np.int64)
    starts = [int(s) for s in vectors.starts] + [m]
    for i in range(len(vectors.ids)):
        owner[starts[i]:starts[i + 1]] = i
    target = vectors.ids.index(article_id) if article_id in vectors.ids else -1
    to_new = lines @ proposed
    out = []
    for row in np.flatnonzero((owner != target) & (to_new > 0)):
        block = range(starts[owner[row]], starts[owner[row] + 1])
        own_lines = [r for r in block if r != row]
        if not own_lines:
            continue
        own = float((lines[own_lines] @ lines[row]).max())
        if to_new[row] <= own:
            continue
        sims = lines @ lines[row]  # only for the few lines the new one would win: is it its own article's now?
        sims[list(block)] = -np.inf
        if float(sims.max()) > own:
            continue  # already lost to another article: not this line's doing
        text = vectors.texts[row] if vectors.texts is not None else ""
        out.append(Conflict(vectors.ids[owner[row]], text, round(float(to_new[row]), 3), round(own, 3)))
    return sorted(out, key=lambda c: c.own - c.similarity)[:limit]
