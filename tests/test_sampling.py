"""Scans for --max-rows and --dask: a uniform sample that does not depend on chunking, on the
order or grouping in which inputs are merged, and that is the data itself when large enough."""

from __future__ import annotations

import numpy as np
import pytest

from aefeat.errors import AefeatError
from aefeat.sampling import check_scan, merge, scan_chunks


def _chunks(X: np.ndarray, size: int):
    return (X[i : i + size] for i in range(0, len(X), size))


@pytest.fixture
def inputs() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        np.column_stack([np.arange(n) + 1000 * i, rng.normal(size=n)])
        for i, n in enumerate([300, 50, 700])
    ]


@pytest.mark.parametrize("chunk", [1, 7, 64, 10_000])
def test_sample_does_not_depend_on_chunking(inputs, chunk):
    whole = scan_chunks([inputs[2]], 2, 40, seed=3, index=2)
    chunked = scan_chunks(_chunks(inputs[2], chunk), 2, 40, seed=3, index=2)
    np.testing.assert_array_equal(chunked.sample(), whole.sample())
    assert chunked.stats[2].n_rows == 700


def test_merge_is_independent_of_order_and_grouping(inputs):
    scans = [scan_chunks(_chunks(X, 64), 2, 100, seed=1, index=i) for i, X in enumerate(inputs)]
    forward = merge(scans, 100)
    backward = merge([merge([scans[2], scans[1]], 100), scans[0]], 100)
    np.testing.assert_array_equal(forward.sample(), backward.sample())
    sample = forward.sample()
    assert len(sample) == 100 and len(np.unique(sample[:, 0])) == 100  # without repeats
    assert forward.n_rows == 1050
    assert np.all(np.diff(sample[:, 0]) > 0)  # in input order


def test_a_sample_as_large_as_the_data_is_the_data(inputs):
    scans = [scan_chunks(_chunks(X, 33), 2, 5000, seed=0, index=i) for i, X in enumerate(inputs)]
    np.testing.assert_array_equal(merge(scans, 5000).sample(), np.concatenate(inputs))


def test_every_row_is_equally_likely(inputs):
    counts = np.zeros(1050)
    for seed in range(400):
        scans = [scan_chunks(_chunks(X, 50), 2, 105, seed, i) for i, X in enumerate(inputs)]
        ids = merge(scans, 105).sample()[:, 0]
        index = np.concatenate([np.arange(300), 300 + np.arange(50), 350 + np.arange(700)])
        lookup = dict(zip(np.concatenate(inputs)[:, 0], index, strict=True))
        counts[[lookup[v] for v in ids]] += 1
    # Each row is drawn with probability 0.1: 40 expected draws in 400 samples (sd 6), and the
    # chi-square statistic over 1050 rows is about 1049 (sd 46) for a uniform sample.
    assert 10 < counts.min() and counts.max() < 75
    chi2 = ((counts - 40) ** 2 / 40).sum()
    assert 1049 - 5 * 46 < chi2 < 1049 + 5 * 46, chi2
    per_input = [counts[:300].mean(), counts[300:350].mean(), counts[350:].mean()]
    np.testing.assert_allclose(per_input, 40, rtol=0.1)


def test_missing_values_are_refused_naming_the_input(inputs):
    bad = inputs[1].copy()
    bad[4, 1] = np.nan
    scans = [scan_chunks([X], 2, 10, 0, i) for i, X in enumerate([inputs[0], bad, inputs[2]])]
    scan = merge(scans, 10)
    with pytest.raises(AefeatError, match=r"'b' \(1 missing\) \(second.csv\)"):
        check_scan(scan, ["a", "b"], ["first.csv", "second.csv", "third.csv"], "none")
    check_scan(scan, ["a", "b"], ["first.csv", "second.csv", "third.csv"], "mean")
