"""Recurring problems (intake_api/recurring.py): a hand-computed grouping, and the quadratic grouping's groups."""

import math
import random
from collections import Counter

from intake_api import recurring
from intake_api.alerts import features, similarity
from intake_api.demo import varied

TEXTS = ["3号楼茶水间的饮水机坏了，不出热水", "3号楼饮水机坏了，不出热水了", "茶水间饮水机又坏了，不出热水",
         "The VPN connection drops every morning", "VPN connection drops every morning again",
         "my VPN connection drops every afternoon", "食堂的饭菜太咸了", "Parking lights in the basement are broken",
         "电梯按钮失灵，按了没反应", "电梯按钮又失灵了", "电梯按钮失灵"]
ONE = lambda term: 1.0  # noqa: E731  every feature weighs the same: the cosines below are plain set cosines


def keys(groups):
    return [[t.key for t in g] for g in groups]


def test_hand_computed_groups():
    texts = [recurring.Text(str(i), t) for i, t in enumerate(TEXTS)]
    # Set cosines (by hand from alerts.features): 0-1 0.80, 0-2 0.73, 1-2 0.62; 3-4 0.91, 3-5 0.80, 4-5 0.73;
    # 8-9 0.57, 8-10 0.73, 9-10 0.78; every other pair 0. A text joins the earliest leader it resembles.
    assert keys(recurring.group(texts, ONE, threshold=0.3)) == [["0", "1", "2"], ["3", "4", "5"], ["8", "9", "10"]]
    # At 0.7, 9 misses 8 (0.57) and leads its own group; 10 joins 8, the earlier leader: stars, not chains.
    assert keys(recurring.group(texts, ONE, threshold=0.7)) == [["0", "1", "2"], ["3", "4", "5"]]
    assert keys(recurring.group(texts, ONE, threshold=0.7, min_size=2)) == [["0", "1", "2"], ["3", "4", "5"],
                                                                            ["8", "10"]]
    # At 0.75: 2 misses 0 (0.73); 10 misses 8 (0.73) and joins 9 (0.78).
    assert keys(recurring.group(texts, ONE, threshold=0.75, min_size=2)) == [["3", "4", "5"], ["0", "1"], ["9", "10"]]
    assert keys(recurring.group(texts, ONE, threshold=0.75)) == [["3", "4", "5"]]
    assert recurring.group([], ONE) == [] and recurring.group([recurring.Text("x", "")] * 3, ONE) == []


def _quadratic(texts, idf, threshold):
    """The reference: every text compared with every leader before it (the review's grouping until issue 25)."""
    leaders = []  # (features, members)
    for t in texts:
        f = features(t.text)
        for lead, members in leaders:
            if similarity(f, lead, idf) >= threshold:
                members.append(t.key)
                break
        else:
            leaders.append((f, [t.key]))
    return [members for _, members in leaders]


def test_same_groups_as_the_quadratic_grouping_on_varied_wording():
    rng = random.Random(5)
    questions = ["饮水机不出热水", "电梯按钮失灵", "食堂饭菜太咸", "会议室空调太冷", "停车场灯坏了", "打印机卡纸",
                 "VPN keeps disconnecting", "the printer on floor 3 is jammed", "工资条看不到加班费", "班车经常迟到"]
    texts = [recurring.Text(str(i), varied(rng, rng.choice(questions))) for i in range(1200)]
    df = Counter(t for x in texts for t in features(x.text))
    idf = lambda term: math.log((len(texts) + 1) / (df[term] + 0.5)) + 1.0  # noqa: E731
    exact = sorted(sorted(g) for g in _quadratic(texts, idf, 0.3) if len(g) >= 3)
    found = sorted(sorted(t.key for t in g) for g in recurring.group(texts, idf, 0.3))
    assert len(exact) >= 10  # the data has recurring problems to find
    # Pairs of texts put together: the same pairs, nearly all of them, and nothing else.
    pairs = lambda groups: {(a, b) for g in groups for a in g for b in g if a < b}  # noqa: E731
    same, ours = pairs(exact), pairs(found)
    assert len(same & ours) >= 0.95 * len(same) and len(same & ours) >= 0.95 * len(ours)
