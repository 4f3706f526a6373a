"""Prevalence with error bars: intervals must cover the truth on synthetic sets with a known rate.

The classifier here is simulated by a known confusion matrix, so the truth is known exactly; the naive
"share of predictions" interval is checked to *miss* it, which is why the adjustment exists.
"""
from __future__ import annotations

import numpy as np

from earful.classify.evaluate import adjusted_shares, ppi_shares, wilson

P_TRUE = np.array([0.5, 0.3, 0.2])
M = np.array([[0.80, 0.10, 0.10],
              [0.15, 0.75, 0.10],
              [0.10, 0.20, 0.70]])


def _simulate(rng, n, p=P_TRUE):
    truth = rng.choice(3, size=n, p=p)
    pred = np.array([rng.choice(3, p=M[t]) for t in truth])
    return truth, pred


def test_confusion_adjusted_intervals_cover_the_true_share():
    rng = np.random.default_rng(7)
    covered = naive_covered = total = 0
    for sim in range(30):
        vt, vp = _simulate(rng, 600)
        C = np.zeros((3, 3))
        np.add.at(C, (vt, vp), 1)
        tt, tp = _simulate(rng, 3000)
        truth = np.bincount(tt, minlength=3) / len(tt)
        counts = np.bincount(tp, minlength=3)
        r = adjusted_shares(counts, C, n_boot=200, seed=sim)
        assert abs(r["share"].sum() - 1) < 1e-6
        covered += int(np.sum((r["low"] <= truth) & (truth <= r["high"])))
        lo, hi = wilson(counts.astype(float), len(tp))
        naive_covered += int((lo[0] <= truth[0]) & (truth[0] <= hi[0]))
        total += 3
    assert covered / total >= 0.88, f"coverage {covered / total:.2f}"
    assert naive_covered / 30 < 0.5, "the unadjusted interval should miss the biased class"


def test_prediction_powered_intervals_cover_the_true_share():
    rng = np.random.default_rng(11)
    covered = total = 0
    names = ["a", "b", "c"]
    for _ in range(30):
        tt, tp = _simulate(rng, 3000)
        gold_idx = rng.choice(3000, size=300, replace=False)
        truth = np.bincount(tt, minlength=3) / len(tt)
        r = ppi_shares([names[i] for i in tp], [names[tp[i]] for i in gold_idx], [names[tt[i]] for i in gold_idx],
                       names)
        covered += int(np.sum((r["low"] <= truth) & (truth <= r["high"])))
        total += 3
    assert covered / total >= 0.88, f"coverage {covered / total:.2f}"


def test_perfect_classifier_gives_tight_interval_at_the_observed_share():
    C = np.diag([300.0, 200.0, 100.0])
    r = adjusted_shares(np.array([500, 300, 200]), C, n_boot=100)
    assert np.allclose(r["share"], [0.5, 0.3, 0.2], atol=1e-6)
    assert np.all(r["high"] - r["low"] < 0.07)


def test_adjusted_shares_on_real_tizard_predictions_stay_near_the_truth():
    """20 forum labels, a noisy confusion matrix (tests/data/tizard_forum_act_shares.json, from a real eval): EM run
    to convergence put 'other' at 0.0% and 'invalid' at 12% (true 25.0% and 0.3%); the estimate must stay near the
    truth and every true share must lie inside its interval."""
    import json

    import numpy as np

    from earful.classify.evaluate import adjusted_shares
    from tests.conftest import TEST_DATA

    d = json.loads((TEST_DATA / "tizard_forum_act_shares.json").read_text())
    res = adjusted_shares(np.array(d["predicted"]), np.array(d["confusion"]))
    truth = np.array(d["truth"]) / sum(d["truth"])
    share = dict(zip(d["classes"], res["share"], strict=True))
    assert share["other"] > 0.10 and share["invalid"] < 0.06
    assert np.abs(np.asarray(res["share"]) - truth).sum() < 0.35
    assert np.all(np.asarray(res["low"]) - 1e-9 <= truth) and np.all(truth <= np.asarray(res["high"]) + 1e-9)
