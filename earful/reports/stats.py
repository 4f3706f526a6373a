"""The report's statistics: Wilson intervals, the two-proportion z-test, Welch's t-test and Holm's correction.

Design decision: a change is called significant only after Holm's step-down correction over the tests of its table
(every label of a taxonomy, every topic, every rating group), so a report with forty topics does not find two
"emerging" ones by chance; Holm controls the family-wise error rate like Bonferroni but rejects at least as much.
"""
from __future__ import annotations

import math

ALPHA = 0.05


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of the proportion k/n (the classify stage's `wilson`, clipped to [0, 1]);
    (0, 0) when n is 0."""
    if n <= 0:
        return 0.0, 0.0
    from earful.classify.evaluate import wilson as interval

    low, high = interval(k, n, z)
    return max(0.0, float(low)), min(1.0, float(high))


def two_proportions(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Pooled two-proportion z-test of k2/n2 (current) against k1/n1 (previous): (z, two-sided p). The topics
    stage's test (`earful.topics.timeline.two_proportion_z`), with the report's order of arguments."""
    from earful.topics.timeline import two_proportion_z

    return two_proportion_z(k2, n2, k1, n1)


def welch(m1: float, s1: float, n1: int, m2: float, s2: float, n2: int) -> tuple[float, float]:
    """Welch's t-test of mean m2 (current) against m1 (previous) from their standard deviations: (t, two-sided p)."""
    if n1 < 2 or n2 < 2:
        return 0.0, 1.0
    v1, v2 = (s1 or 0.0) ** 2 / n1, (s2 or 0.0) ** 2 / n2
    if v1 + v2 == 0:
        return 0.0, 1.0
    t = (m2 - m1) / math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / ((v1 * v1 / (n1 - 1) if v1 else 0.0) + (v2 * v2 / (n2 - 1) if v2 else 0.0))
    from scipy.stats import t as student

    return t, float(2 * student.sf(abs(t), df))


def holm(pvalues: list[float]) -> list[float]:
    """Holm-adjusted p-values (same order as given): compare each with ALPHA."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    out = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def fmt_p(p: float) -> str:
    """A p-value as the report prints it."""
    return "<0.0001" if p < 1e-4 else f"{p:.2g}" if p < 0.01 else f"{p:.3f}".rstrip("0").rstrip(".")


def p_text(p: float) -> str:
    """A p-value in a sentence: 'p < 0.0001' or 'p = 0.003'."""
    shown = fmt_p(p)
    return f"p {shown[0]} {shown[1:]}" if shown.startswith("<") else f"p = {shown}"


def pct(x: float) -> str:
    """A share as a percentage with one decimal ('12.5%')."""
    return f"{100 * x:.1f}%"
