"""Metrics on hand-worked matrices (values chosen so every formula gives a different, checkable number)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lifelong.metrics import (
    AccuracyMatrix,
    acc,
    bwt,
    forgetting,
    fwt,
    intransigence,
    learning_accuracy,
    seen_so_far,
    summary,
)

# rows: random init, after task 1, 2, 3
R3 = AccuracyMatrix(
    np.array([
        [0.10, 0.20, 0.30],
        [0.90, 0.25, 0.40],
        [0.70, 0.95, 0.35],
        [0.60, 0.80, 0.85],
    ]),
    (0, 1, 2, 3),
)


def test_acc_is_the_mean_of_the_last_row() -> None:
    assert acc(R3) == pytest.approx((0.60 + 0.80 + 0.85) / 3)


def test_bwt_by_hand() -> None:
    # (R[3,1]-R[1,1]) + (R[3,2]-R[2,2]) = (0.60-0.90) + (0.80-0.95) = -0.45 over 2
    assert bwt(R3) == pytest.approx(-0.225)


def test_fwt_uses_the_random_init_row() -> None:
    # task 2: R[1,2]-R[0,2] = 0.25-0.20; task 3: R[2,3]-R[0,3] = 0.35-0.30 -> mean 0.05
    assert fwt(R3) == pytest.approx(0.05)


def test_forgetting_takes_the_best_earlier_accuracy() -> None:
    # task 1: max(0.90, 0.70) - 0.60 = 0.30; task 2: max(0.25, 0.95) - 0.80 = 0.15 -> 0.225
    assert forgetting(R3) == pytest.approx(0.225)


def test_forgetting_differs_from_minus_bwt_when_accuracy_peaks_later() -> None:
    m = AccuracyMatrix(np.array([[0.1, 0.1], [0.5, 0.1], [0.4, 0.9]]), (0, 1, 2))
    m3 = AccuracyMatrix(np.array([[.1, .1, .1], [.5, .1, .1], [.8, .9, .1], [.6, .7, .9]]), (0, 1, 2, 3))
    assert forgetting(m) == pytest.approx(0.1)
    assert forgetting(m3) == pytest.approx(((0.8 - 0.6) + (0.9 - 0.7)) / 2)
    assert -bwt(m3) == pytest.approx(((0.5 - 0.6) + (0.9 - 0.7)) / 2)


def test_learning_accuracy_and_seen_so_far_curve() -> None:
    assert learning_accuracy(R3) == pytest.approx((0.90 + 0.95 + 0.85) / 3)
    assert seen_so_far(R3) == pytest.approx([0.90, (0.70 + 0.95) / 2, (0.60 + 0.80 + 0.85) / 3])


def test_intransigence_against_a_reference_diagonal() -> None:
    assert intransigence(R3, [0.95, 0.97, 0.90]) == pytest.approx(((0.95 - 0.90) + (0.97 - 0.95) + (0.90 - 0.85)) / 3)


def test_one_task_stream_has_acc_and_undefined_transfer() -> None:
    m = AccuracyMatrix(np.array([[0.12], [0.97]]), (0, 1))
    s = summary(m)
    assert s["acc"] == pytest.approx(0.97)
    assert math.isnan(s["bwt"]) and math.isnan(s["fwt"]) and math.isnan(s["forgetting"])
    assert s["learning_accuracy"] == pytest.approx(0.97)


def test_joint_matrix_has_acc_only() -> None:
    m = AccuracyMatrix(np.array([[0.1, 0.1, 0.1], [0.9, 0.8, 0.7]]), (0, 3))
    assert acc(m) == pytest.approx(0.8)
    assert math.isnan(bwt(m)) and math.isnan(fwt(m)) and math.isnan(learning_accuracy(m))
    assert seen_so_far(m) == pytest.approx([0.8])


def test_row_labels_must_match_rows() -> None:
    with pytest.raises(ValueError, match="row labels"):
        AccuracyMatrix(np.zeros((3, 2)), (0, 1))
