"""Text analysis shared by the index, the queries and the benchmarks.

One function, `tokens`, decides what a word is, so that indexing and
searching can never disagree. Steps: NFKC (full-width to half-width),
Traditional to Simplified (OpenCC), lower case, jieba segmentation in
search mode (long words also yield their parts), English Porter2 (Snowball) stemming,
and a small stop list of our own (jieba's drops "it", as in "IT服务台").
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple

import jieba
import opencc
from whoosh.analysis import Token, Tokenizer
from whoosh.lang.porter2 import stem

jieba.setLogLevel(logging.WARNING)

_T2S = opencc.OpenCC("t2s")
_WORD = re.compile(r"\w", re.UNICODE)
_ASCII_WORD = re.compile(r"^[a-z]+$")

# Function words that carry no meaning for matching a problem to an article.
# Kept short on purpose: BM25's IDF already discounts frequent words.
STOP_WORDS = frozenset(
    """
    a an and are as at be been but by can could do does did for from had has have
    how i if in into is me my of on or our so that the their them then there these
    they this to was we were what when where which who why will with would you your
    not no nor its than too very just also any all some such only own same other
    的 了 吗 呢 吧 啊 呀 嘛 么 着 得 地 之 与 及 而 和 或 就 都 也 还 又 很 我 我们
    你 你们 他 她 它 是 在 有 被 把 给 让 这 那 这个 那个 一个 请问 请 谢谢
    """.split()
)


class Term(NamedTuple):
    text: str
    start: int
    end: int


def normalize(text: str) -> str:
    """Fold width, script and case so that 飲水機, 饮水机 and ＶＰＮ/vpn compare equal."""
    return _T2S.convert(unicodedata.normalize("NFKC", text)).lower()


def to_simplified(text: str) -> str:
    """Traditional to Simplified only, keeping case and width (for display)."""
    return _T2S.convert(text)


# Words OpenCC's s2twp leaves in mainland usage.
_HANT_WORDS = (("反饋", "回覆"), ("賬號", "帳號"), ("“", "「"), ("”", "」"))


@lru_cache(maxsize=1)
def _s2twp():
    return opencc.OpenCC("s2twp")


def to_traditional(text: str) -> str:
    """Simplified to Traditional as read in Taiwan (OpenCC s2twp and a few words it leaves mainland): the one
    conversion of the API's labels and messages, the catalogues' first drafts and the site's frame and pages."""
    text = _s2twp().convert(text)
    for mainland, local in _HANT_WORDS:
        text = text.replace(mainland, local)
    return text


@lru_cache(maxsize=50_000)
def _stem(word: str) -> str:
    return stem(word)


def terms(text: str) -> Iterator[Term]:
    """Yield the index terms of text with their character offsets in the normalised text."""
    for word, start, end in jieba.tokenize(normalize(text), mode="search"):
        if not _WORD.search(word) or word in STOP_WORDS:
            continue
        if _ASCII_WORD.match(word):
            word = _stem(word)
        yield Term(word, start, end)


@lru_cache(maxsize=8192)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(t.text for t in terms(text))


def tokens(text: str) -> list[str]:
    """Just the terms' texts (cached: one submission is analysed by several rules)."""
    return list(_tokens(text))


def warm_up() -> None:
    """Load jieba's dictionary now (about 1.5 s) rather than on the first request."""
    jieba.initialize()
    tokens("预热 warm up")


class KbTokenizer(Tokenizer):
    """Whoosh tokenizer over `terms`, with real token positions (phrase queries work)."""

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for pos, term in enumerate(terms(value)):
            token.text = term.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = term.text
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar = start_char + term.start
                token.endchar = start_char + term.end
            yield token


def analyzer() -> KbTokenizer:
    return KbTokenizer()
