"""How often the corrections change correct report text: a check the WER sets cannot make.

The speech model's transcript goes through three corrections (spelling, sounds, short words:
`ScribeEngine.corrected_text`). A correction that fires on a correct word turns it into another
word, usually another meaning ("nonobstructing" into obstructing, "epididymitis" into
epididymis). This puts correct report sentences through the corrections and counts the words they
change. The sentences (bench/data/correct_sentences.tsv, 597 of them, every subspecialty) were
written for the purpose by a reviewer who had not seen the engine's templates or the WER sets.

    .venv/bin/python bench/correct_text.py            # the figure
    .venv/bin/python bench/correct_text.py --verbose  # and every change
"""

from __future__ import annotations

import argparse
import csv
import difflib
import re
from pathlib import Path

from autoscribe.scribe import ScribeEngine, StudyContext

SENTENCES = Path(__file__).parent / "data" / "correct_sentences.tsv"


def words(text: str) -> list[str]:
    """Lower case, punctuation ignored, hyphens ignored ("extra-axial" and "extraaxial" are one
    spelling of one word, not a change)."""
    return [w for w in (re.sub(r"[^a-z0-9']", "", raw.lower()) for raw in text.split()) if w]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every change")
    args = parser.parse_args()
    engine = ScribeEngine(llm=None)
    with SENTENCES.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    total = changed = sentences_changed = 0
    for row in rows:
        context = StudyContext(procedure=row["procedure"])
        template = engine.template_for(context)
        before = words(row["sentence"])
        after = words(engine.corrected_text(row["sentence"], template, context))
        ops = [
            op
            for op in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes()
            if op[0] != "equal"
        ]
        total += len(before)
        changed += sum(max(i2 - i1, j2 - j1) for _, i1, i2, j1, j2 in ops)
        sentences_changed += bool(ops)
        if args.verbose:
            for _, i1, i2, j1, j2 in ops:
                heard, written = " ".join(before[i1:i2]) or "-", " ".join(after[j1:j2]) or "-"
                print(f"  {heard} -> {written}   ({row['procedure']})")
    print(f"sentences {len(rows)}, words {total}, sentences changed {sentences_changed}")
    print(f"words changed in correct report text: {100 * changed / total:.2f}%")


if __name__ == "__main__":
    main()
