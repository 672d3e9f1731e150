"""A synthetic bilingual vocabulary shaped like a real one, for generated knowledge bases and complaints.

A knowledge base of 10,000 articles written by people holds on the order of
100,000 distinct terms (Heaps' law), used with Zipf-like frequencies: a few
hundred everyday words make most of the text, most terms occur once or twice.
Recombining the 51 sample cases gives 2,160 terms at any size, which flatters
every cost that grows with the vocabulary (index, site search, suggestions).

Here the top ranks are the sample content's own words (so the everyday words
are the real ones); below them come made-up Chinese words of 2-3 characters
taken from the sample's characters and English-like words of 2-4 syllables,
drawn with probability 1/rank^EXPONENT. Nothing is tuned to the sample:
only its characters and its word list are borrowed.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPONENT = 0.85
_CJK = re.compile(r"[\u4e00-\u9fff]")
_SYLLABLES = [c + v for c in "bcdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "er")]

ZH_TEMPLATES = ["{a}的{b}出现问题，{c}也受到影响。", "请先联系{a}，再到{b}登记{c}。", "{a}在{b}期间会暂停{c}。",
                "如果{a}无法使用，可以改用{b}。", "{a}由{b}负责，{c}每周检查一次。", "员工反映{a}和{b}经常{c}。",
                "{a}需要在{b}之前提交给{c}。", "根据{a}的规定，{b}不得超过{c}。", "{a}已经更换，{b}恢复正常。",
                "遇到{a}时，不要自行处理{b}，请通知{c}。"]
EN_TEMPLATES = ["The {a} in {b} stopped working and {c} was affected.", "Contact {a} first, then register the {b} with {c}.",
                "During {a}, the {b} is paused until {c}.", "If the {a} is unavailable, use the {b} instead.",
                "{a} is maintained by {b} and checked every week by {c}.", "Staff reported that the {a} and {b} often {c}.",
                "Submit the {a} to {b} before {c}.", "Under the {a} policy, {b} may not exceed {c}."]
ZH_TITLES = ["{a}{b}怎么办", "{a}的{b}无法使用", "如何申请{a}{b}", "{a}{b}出现故障", "{a}和{b}的规定"]
EN_TITLES = ["{A} {b} not working", "How to request {a} {b}", "{A} and {b} rules", "Problems with the {a} {b}"]
ZH_QUERIES = ["{a}{b}坏了找谁", "为什么{b}老是不行", "{a}那边的{b}怎么弄", "{b}用不了", "请问{a}{b}能不能申请",
              "{b}又出问题了"]
EN_QUERIES = ["who fixes the {b}", "{a} {b} broken again", "can I get a {b}", "why does the {b} keep failing",
              "{b} problem"]


class Vocabulary:
    """Terms by rank, Chinese and English apart, each drawn with Zipf-like frequency."""

    def __init__(self, seed: int = 1, size: int = 400_000):
        rng = random.Random(seed)
        text = "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "content").rglob("*.md")))
        chars = sorted(set(_CJK.findall(text)))
        from kb_builder.analysis import tokens
        real = [w for w, _ in Counter(tokens(text)).most_common()]
        self.zh = self._fill([w for w in real if _CJK.search(w)], size * 4 // 5,
                             lambda: "".join(rng.choice(chars) for _ in range(rng.choice((2, 2, 3)))))
        self.en = self._fill([w for w in real if w.isascii() and w.isalpha()], size // 5,
                             lambda: "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
        self._cum = {lang: list(itertools.accumulate(1 / (r + 1) ** EXPONENT for r in range(len(words))))
                     for lang, words in (("zh", self.zh), ("en", self.en))}

    @staticmethod
    def _fill(words: list[str], size: int, make) -> list[str]:
        seen, out = set(words), list(words)
        while len(out) < size:
            w = make()
            if w not in seen:
                seen.add(w)
                out.append(w)
        return out

    def word(self, rng: random.Random, lang: str) -> str:
        cum = self._cum[lang]
        words = self.zh if lang == "zh" else self.en
        return words[min(bisect.bisect(cum, rng.random() * cum[-1]), len(words) - 1)]

    def topic(self, rng: random.Random, lang: str, n: int = 4) -> list[str]:
        """An article's own subject words: drawn below the everyday ranks, so articles differ."""
        words = self.zh if lang == "zh" else self.en
        return [words[int(300 + rng.paretovariate(0.6) * 50) % len(words)] for _ in range(n)]

    def fill(self, rng: random.Random, template: str, lang: str, topic: list[str]) -> str:
        """A template with its slots taken from the topic (often) or the whole vocabulary."""
        picks = {k: rng.choice(topic) if rng.random() < 0.4 else self.word(rng, lang) for k in "abcd"}
        picks["A"] = picks["a"].capitalize()
        return template.format(**picks)
