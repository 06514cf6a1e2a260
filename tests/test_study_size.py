"""Studies stay thin: every public study module in sims/ is at most 400 lines.

Computation belongs in the library, formatting and figures in the study's private
report module (``sims/_<study>_report.py``) or the shared ``sims/_common.py`` and
``sims/_figures.py``.
"""

from pathlib import Path

import pytest

SIMS = Path(__file__).resolve().parents[1] / "sims"
STUDIES = sorted(p for p in SIMS.glob("*.py") if not p.name.startswith("_"))
MAX_LINES = 400


def test_there_are_studies():
    names = {p.stem for p in STUDIES}
    assert {"random_forget", "da_atlas", "logreg_divergence", "one_coordinate"} <= names


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_study_module_is_thin(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, (
        f"sims/{path.name} has {n} lines (> {MAX_LINES}): move computation into the "
        "library and formatting into a report module"
    )
