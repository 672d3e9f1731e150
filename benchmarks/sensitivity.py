"""How well the recogniser tells danger and harassment from ordinary complaints.

    python benchmarks/sensitivity.py                 # the labelled set, both halves
    python benchmarks/sensitivity.py --show-misses   # and every text it got wrong
    python benchmarks/sensitivity.py --cv            # cross-validation on the examples file, per threshold
    python benchmarks/sensitivity.py --data benchmarks/sensitivity_dev.yml   # another labelled set

Reads `benchmarks/sensitivity_eval.yml` (written for this benchmark, not
copied from the examples file; `--data` names another set of the same
format, such as the development set `benchmarks/sensitivity_dev.yml`) and runs the product's recogniser
(kb_builder/recognise.py, with kb.yml's examples file) on every text, as the
API does on submit (description only, no category). Prints, per half and in
total: recall for danger, for harassment/discrimination/retaliation/
misconduct (one group: they all go to employee relations with no articles),
for hygiene, the false-alarm rate on ordinary complaints, and the time per
text.

`--cv` needs no labelled set: each example of the examples file is
classified by a model learnt from the others, for a grid of thresholds;
that is how the threshold is chosen (by the recogniser itself, when it
learns the model) without looking at any labelled set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the product runs (kb_builder/__init__.py), before numpy loads
import numpy as np  # noqa: E402
import yaml  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb_builder.config import load_config  # noqa: E402
from kb_builder.recognise import (  # noqa: E402
    FOLDS,
    REPEATS,
    THRESHOLDS,
    Recogniser,
    _fold,
    alarm_share,
    choose_threshold,
    cross_validated_runs,
    load_rules,
)

GROUPS = {"danger": {"danger"}, "hygiene": {"hygiene"},
          "harassment etc.": {"harassment", "discrimination", "retaliation", "misconduct"}}
EVAL = Path(__file__).with_name("sensitivity_eval.yml")


def read_eval(path: Path) -> list[tuple[str, str, str, str]]:
    """(split, label, language, text) for every line of the set."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = []
    for split, kinds in data.items():
        for label, by_lang in kinds.items():
            for lang, texts in by_lang.items():
                rows += [(split, label, lang, str(t)) for t in texts]
    return rows


def group_of(label: str | None) -> str | None:
    return next((g for g, kinds in GROUPS.items() if label in kinds), None)


def evaluate(rec: Recogniser, rows, show_misses: bool) -> None:
    results = []
    times = []
    for split, label, lang, text in rows:
        t0 = time.perf_counter()
        verdict = rec.recognise(text)
        times.append((time.perf_counter() - t0) * 1000)
        results.append((split, label, lang, text, verdict))
    splits = sorted({r[0] for r in results}) + ["all"]
    print(f"{'split':6} {'danger recall':>16} {'harassment etc. recall':>24} {'hygiene recall':>16} "
          f"{'false alarms (ordinary)':>26} {'same kind':>10}")
    for split in splits:
        part = [r for r in results if split == "all" or r[0] == split]
        cells = []
        for group in GROUPS:
            mine = [r for r in part if group_of(r[1]) == group]
            hit = sum(1 for r in mine if group_of(r[4].kind) == group)
            cells.append(f"{hit / len(mine):.3f} ({hit}/{len(mine)})" if mine else "—")
        ordinary = [r for r in part if r[1] == "ordinary"]
        alarms = sum(1 for r in ordinary if r[4].kind is not None)
        sensitive = [r for r in part if r[1] != "ordinary"]
        same = sum(1 for r in sensitive if r[4].kind == r[1])
        print(f"{split:6} {cells[0]:>16} {cells[2]:>24} {cells[1]:>16} "
              f"{f'{alarms / len(ordinary):.3f} ({alarms}/{len(ordinary)})':>26} {same / len(sensitive):>10.3f}")
    ordinary = [r for r in results if r[1] == "ordinary"]
    held = sum(1 for r in ordinary if r[4].hold(rec.rules.hold))
    print(f"\nordinary complaints whose suggestions are withheld while typing (hold >= {rec.rules.hold}, "
          f"not alarmed): {held / len(ordinary):.3f} ({held}/{len(ordinary)})")
    print("by language (all): ", end="")
    for lang in ("zh-Hans", "zh-Hant", "en"):
        part = [r for r in results if r[2] == lang]
        sens = [r for r in part if r[1] != "ordinary"]
        ordn = [r for r in part if r[1] == "ordinary"]
        rec_ = sum(1 for r in sens if group_of(r[4].kind) == group_of(r[1])) / max(1, len(sens))
        fa = sum(1 for r in ordn if r[4].kind) / max(1, len(ordn))
        print(f"{lang} recall {rec_:.3f} / false alarms {fa:.3f} ({len(sens)} + {len(ordn)} texts); ", end="")
    print()
    counts = {g: sum(1 for r in results if group_of(r[1]) == g) for g in GROUPS}
    print(f"texts: {len(results)} ({', '.join(f'{g} {n}' for g, n in counts.items())}, "
          f"ordinary {sum(1 for r in results if r[1] == 'ordinary')})")
    times.sort()
    print(f"time per text: p50 {statistics.median(times):.1f} ms, p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms")
    if show_misses:
        print("\nmisses:")
        for split, label, _lang, text, v in results:
            if group_of(v.kind) != group_of(label):
                print(f"  [{split} {label} -> {v.kind}] {text}  | {v.reason}")


def cross_validate(rec: Recogniser) -> None:
    """Each example classified by a model learnt from the other folds, at each threshold.

    Meaning alone (no word lists): how the examples file generalises to
    wording it does not contain, without looking at a labelled set. The
    recogniser chooses its threshold from these same figures
    (recognise.choose_threshold: the lowest at which at most `false_alarms`
    of the ordinary examples alarm); it is marked with *.
    """
    runs = cross_validated_runs(rec)
    chosen = rec.rules.threshold or choose_threshold(rec, runs)
    labels = rec._labels
    print(f"{FOLDS}-fold cross-validation on the examples file (meaning alone), averaged over {REPEATS} splits, "
          f"strength {rec.rules.strength}, false_alarms {rec.rules.false_alarms}")
    for r, probs in enumerate(runs):  # what one split alone would choose: the spread averaging removes
        print(f"  split {r}: {choose_threshold(rec, probs):.2f}")
    names = ["people" if len(g) > 1 else rec.kinds[g[0]] for g in rec._groups]
    print(f"{'threshold':>10} " + " ".join(f"{n + ' recall':>15}" for n in names) + f" {'alarms on ordinary':>19}")
    for t in THRESHOLDS:
        if round(t * 100) % 5 and t != chosen:
            continue
        cells = []
        for group in rec._groups:
            recall = np.mean([(probs[:, list(group)].sum(axis=1) >= t)[np.isin(labels, group)].mean() for probs in runs])
            cells.append(f"{recall:>15.3f}")
        alarms = np.mean([alarm_share(rec, probs, t) for probs in runs])
        print(f"{('*' if t == chosen else '') + f'{t:.2f}':>10} " + " ".join(cells) + f" {alarms:>19.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default=str(ROOT / "kb.yml"))
    parser.add_argument("--data", "--eval", dest="data", default=str(EVAL),
                        help="labelled set (default: benchmarks/sensitivity_eval.yml)")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument("--cv", action="store_true", help="cross-validate on the examples file instead")
    args = parser.parse_args()
    start = time.perf_counter()
    sum(range(10**8))
    print(f"reference loop sum(range(10**8)): {time.perf_counter() - start:.2f} s")
    kb = load_config(args.config)
    t0 = time.perf_counter()
    rec = Recogniser(load_rules(kb.path("recognise")))
    print(f"examples file {kb.path('recognise').relative_to(ROOT)}: "
          f"{sum(len(r.examples) for r in rec.rules.kinds.values())} kind examples, "
          f"{len(rec.rules.ordinary)} ordinary; loaded, encoded and learnt in {time.perf_counter() - t0:.1f} s")
    print(f"threshold {next(iter(rec.thresholds.values())):.2f} "
          + ("(fixed in the examples file)" if rec.rules.threshold else
             f"(cross-validated, false_alarms {rec.rules.false_alarms})"))
    if rec._model is None:
        sys.exit("the sentence encoder is not installed: pip install -e .")
    if args.cv:
        cross_validate(rec)
        return
    evaluate(rec, read_eval(Path(args.data)), args.show_misses)
    # Nothing of the examples file may be in the labelled set (it would measure memory, not wording).
    examples = {_fold(t) for r in rec.rules.kinds.values() for t in r.examples} | {_fold(t) for t in rec.rules.ordinary}
    copied = [t for *_, t in read_eval(Path(args.data)) if _fold(t) in examples]
    print(f"labelled texts also in the examples file: {len(copied)}" + (f" ({copied[:3]})" if copied else ""))


if __name__ == "__main__":
    main()
