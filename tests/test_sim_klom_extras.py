"""The KLoM study's extras: ``score`` on precomputed margins, results.csv, a user's
``--method`` beside the built-ins, and the ensemble cache (reused only when equal)."""

from __future__ import annotations

import csv
import json

import jax.numpy as jnp
import numpy as np
import pytest

import ascentjax as aj
from sims import klom

TINY = [
    "--max-train", "120", "--max-eval", "40", "--n-models", "4", "--epochs", "2",
    "--batch-size", "16", "--datamodel-models", "0", "--lrs", "0.1", "--unlearn-epochs", "2",
    "--descent-steps", "1", "--forget-fractions", "0.05", "--bins", "4", "--no-progress",
]  # fmt: skip

USER = '''
import ascentjax as aj

def my_ga(learning_rate):
    """Gradient ascent written by a user, through the documented factory signature."""
    return aj.nets.gradient_ascent(learning_rate)
'''


def _margins(seed, n_models, shift=0.0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n_models, 30)) + shift).astype(np.float64)


def test_score_reproduces_the_library_on_generated_arrays(tmp_path, capsys):
    u, o, p = _margins(0, 10, 0.5), _margins(1, 12), _margins(2, 10, 2.0)
    for name, a in (("u", u), ("o", o), ("p", p)):
        np.save(tmp_path / f"{name}.npy", a)
    splits = {"forget": list(range(5)), "retain": list(range(5, 25)), "test": list(range(25, 30))}
    (tmp_path / "splits.json").write_text(json.dumps(splits))
    out = tmp_path / "scored"
    argv = ["score", "--unlearned", str(tmp_path / "u.npy"), "--oracle", str(tmp_path / "o.npy"),
            "--pretrained", str(tmp_path / "p.npy"), "--splits", str(tmp_path / "splits.json"),
            "--bins", "6", "--out", str(out)]  # fmt: skip
    assert klom.main(argv) == 0
    s = json.loads((out / "summary.json").read_text())
    k = aj.nets.klom(u, o, bins=6)  # the library on the same arrays (x64 in tests)
    np.testing.assert_array_equal(np.load(out / "klom.npy"), np.asarray(k))
    for name, idx in splits.items():
        assert s["splits"][name]["klom_p95"] == float(aj.nets.klom_percentile(k[jnp.array(idx)]))
    F, T = np.array(splits["forget"]), np.array(splits["test"])
    mia = aj.nets.unlearning_mia(u[:, F], u[:, T], o[:, F], p[:, F])
    assert s["mia"]["lira_auc"] == float(mia.lira.auc)
    assert s["mia"]["loss_tpr@0.01"] == float(mia.loss.tpr[0])
    rows = list(csv.DictReader((out / "results.csv").read_text().splitlines()))
    assert len(rows) == 3 * 2 + 6  # 2 KLoM summaries per split + 6 attack numbers
    assert "KLoM 95th pct" in capsys.readouterr().out
    # without --splits: one split of every point; without --pretrained: no attack
    out2 = tmp_path / "plain"
    assert klom.main(argv[:5] + ["--out", str(out2)]) == 0
    s2 = json.loads((out2 / "summary.json").read_text())
    assert list(s2["splits"]) == ["all"] and s2["mia"] is None


@pytest.mark.parametrize(
    "make,flag",
    [
        (lambda d: ["--unlearned", str(d / "missing.npy"), "--oracle", str(d / "o.npy")],
         "--unlearned"),
        (lambda d: ["--unlearned", str(d / "vec.npy"), "--oracle", str(d / "o.npy")],
         "--unlearned"),
        (lambda d: ["--unlearned", str(d / "u.npy"), "--oracle", str(d / "short.npy")],
         "--oracle"),
        (lambda d: ["--unlearned", str(d / "u.npy"), "--oracle", str(d / "o.npy"), "--splits",
                    str(d / "bad.json")], "--splits"),
        (lambda d: ["--unlearned", str(d / "u.npy"), "--oracle", str(d / "o.npy"), "--splits",
                    str(d / "range.json")], "--splits"),
        (lambda d: ["--unlearned", str(d / "u.npy"), "--oracle", str(d / "o.npy"),
                    "--pretrained", str(d / "u.npy")], "--pretrained"),
        (lambda d: ["--oracle", str(d / "o.npy")], "--unlearned"),
    ],
)  # fmt: skip
def test_score_bad_files_are_argparse_errors(make, flag, tmp_path, capsys):
    np.save(tmp_path / "u.npy", _margins(0, 4))
    np.save(tmp_path / "o.npy", _margins(1, 4))
    np.save(tmp_path / "vec.npy", np.zeros(5))
    np.save(tmp_path / "short.npy", np.zeros((4, 7)))
    (tmp_path / "bad.json").write_text('{"forget": "0-4"}')
    (tmp_path / "range.json").write_text('{"forget": [0, 30]}')
    with pytest.raises(SystemExit) as exc:
        klom.main(["score", *make(tmp_path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and flag in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("python -m sims.klom score: error:")
    assert not (tmp_path / "o").exists()


@pytest.mark.slow  # three tiny study runs (~15 s each on 2 busy cores)
def test_user_method_results_csv_and_cache(tmp_path, capsys):
    plugin = tmp_path / "mine.py"
    plugin.write_text(USER)
    cache = tmp_path / "cache"
    argv = [*TINY, "--methods", "ga", "gda", "--mixes", "1", "--method", f"{plugin}:my_ga",
            "--cache-dir", str(cache)]  # fmt: skip
    assert klom.main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert "cache: 0 of 4 entries reused" in capsys.readouterr().out
    s = json.loads((tmp_path / "a" / "summary.json").read_text())
    e = s["forget_sets"]["random_6"]
    assert list(e["methods"]) == ["ga", "gda", "my_ga"]
    # the user's GA is the built-in GA: same keys, same rule, same numbers
    assert e["methods"]["my_ga"]["grid"] == e["methods"]["ga"]["grid"]
    for r in e["methods"]["gda"]["grid"]:
        assert 0 <= r["mia"]["lira_auc"] <= 1 and 0 <= r["mia"]["loss_tpr@0.001"] <= 1
    # results.csv: one row per measurement. The one forget set: pretrained and oracle have
    # 3 KLoM + 3 accuracy + diverged + 6 MIA = 13 rows each, the oracle halves 1, and each
    # of the 2 + 2 + 2 grid points (three methods x one lr x two epochs) 13 + 2 split-half
    # KLoM rows
    rows = list(csv.DictReader((tmp_path / "a" / "results.csv").read_text().splitlines()))
    n_grid = sum(len(d["grid"]) for d in e["methods"].values())
    assert n_grid == 2 + 2 + 2
    assert len(rows) == 2 * 13 + 1 + n_grid * 15
    keys = [(r["method"], r["hyperparameters"], r["split"], r["seed_half"], r["metric"])
            for r in rows]  # fmt: skip
    assert len(set(keys)) == len(keys)  # no measurement twice
    ga = [r for r in rows if r["method"] == "ga" and r["metric"] == "klom_p95"]
    got = {(r["epochs"], r["split"], r["seed_half"]): float(r["value"]) for r in ga}
    first = e["methods"]["ga"]["grid"][0]
    assert got[("1", "forget", "all")] == first["klom"]["forget"]
    assert got[("1", "forget", "b")] == first["forget_klom_half_b"]
    assert {r["n_models"] for r in rows} == {"4"} and {r["data"] for r in rows} == {"digits"}
    # a second identical run reuses both ensembles and the two built-in unlearning runs
    # (the user's method runs again) and gives the same summary
    assert klom.main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert "cache: 4 of 4 entries reused" in capsys.readouterr().out
    assert (tmp_path / "b" / "summary.json").read_bytes() == (
        tmp_path / "a" / "summary.json"
    ).read_bytes()
    # a changed training configuration never reuses them
    assert klom.main([*argv, "--lr", "0.06", "--out", str(tmp_path / "c")]) == 0
    assert "cache: 0 of 4 entries reused" in capsys.readouterr().out
    # a changed unlearning configuration reuses the ensembles, not the unlearning runs
    assert klom.main([*argv, "--lrs", "0.02", "--out", str(tmp_path / "d")]) == 0
    assert "cache: 2 of 4 entries reused" in capsys.readouterr().out


def test_bad_user_method_is_an_argparse_error(tmp_path, capsys):
    plugin = tmp_path / "bad.py"
    plugin.write_text("def not_a_rule(learning_rate):\n    return 3\n\ndef ga(lr):\n    return 1\n")
    for spec, msg in ((f"{plugin}:not_a_rule", "UnlearningRule"), (f"{plugin}:ga", "taken"),
                      (f"{plugin}:nope", "no attribute")):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            klom.main([*TINY, "--methods", "ga", "--method", spec, "--out", str(tmp_path / "x")])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and "--method" in err and msg in err
