"""HEALPix refinement: progression rules, NESTED children, rounds, predictive thresholds, the end."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import healpy as hp
import numpy as np
import pytest

from skyscan.pixels import (
    NsideProgression,
    Pixel,
    ProgressionError,
    Refinement,
    RefinementError,
    nested_children,
    parent_pixels,
    pixels_around,
    threshold_series,
)

DEFAULT = NsideProgression.parse("8:0,64:12,512:24")


LLH = Callable[[int, int], float]


def angular_llh(centre: np.ndarray) -> LLH:
    """A smooth llh with its minimum at ``centre``: the squared angular distance in degrees."""

    def llh(nside: int, index: int) -> float:
        vec = np.asarray(hp.pix2vec(nside, index))
        return float(np.degrees(np.arccos(np.clip(vec @ centre, -1, 1))) ** 2)

    return llh


def run_refinement(
    refinement: Refinement, llh: LLH, rng: np.random.Generator, chunk: int = 50
) -> list[Pixel]:
    """Feed results back in random order and chunks, as workers would; returns every pixel sent."""
    pending = refinement.start()
    everything = list(pending)
    while not refinement.done:
        assert pending, "the refinement waits for results it never asked for"
        rng.shuffle(pending)
        batch, pending = pending[:chunk], pending[chunk:]
        for nside, index in batch:
            assert refinement.add(nside, index, llh(nside, index))
        new = refinement.advance()
        everything.extend(new)
        pending.extend(new)
    assert not pending
    return everything


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", "nsides: empty"),
        ("8:12", "nsides[0]: the first nside's pixel extension must be 0"),
        ("8:0,12:4", "nsides[1]: nside must be a power of two, got 12"),
        ("8:0,8:4", "nsides[1]: nsides must increase, got 8 after 8"),
        ("8:0,64:0", "nsides[1]: pixel extension must be positive, got 0"),
        ("8-0", "nsides: '8-0' is not NSIDE:EXTENSION"),
    ],
)
def test_progression_errors_name_the_field_and_value(text: str, field: str) -> None:
    with pytest.raises(ProgressionError, match="^" + re.escape(field)):
        NsideProgression.parse(text)


def test_progression_estimates_and_json() -> None:
    assert DEFAULT.estimated_pixels() == {8: 768, 64: 768, 512: 1536}
    assert DEFAULT.as_json() == {"8": 0, "64": 12, "512": 24}
    assert NsideProgression.parse("8:0 64:12  512:24") == DEFAULT


def test_predictive_thresholds() -> None:
    assert threshold_series(DEFAULT, 0.66) == {
        8: (0.66, 0.7, 0.8, 0.9, 1.0),
        64: (0.66, 0.7, 0.8, 0.9, 1.0),
        512: (1.0,),
    }
    assert threshold_series(DEFAULT, 1.0)[8] == (1.0,)
    for bad in (0.1, 0.0, 1.01, math.nan):
        with pytest.raises(ProgressionError, match="predictive_scanning_threshold: must be in"):
            threshold_series(DEFAULT, bad)


def test_children_are_the_nested_subpixels() -> None:
    parents = np.array([0, 100, 767])
    children = nested_children(8, parents, 64)
    assert children.size == 3 * 64 and np.unique(children).size == children.size
    # each child lies inside its parent: its centre maps back to the parent, in both directions
    np.testing.assert_array_equal(parent_pixels(64, children, 8), np.repeat(parents, 64))
    theta, phi = hp.pix2ang(64, children)
    np.testing.assert_array_equal(hp.ang2pix(8, theta, phi), np.repeat(parents, 64))
    # and they are exactly the NESTED block of the parent
    nested_parent = hp.ring2nest(8, 100)
    assert set(hp.ring2nest(64, children[64:128])) == set(range(nested_parent * 64, nested_parent * 64 + 64))


def test_pixels_around_holds_about_extension_pixels_nearest_first() -> None:
    centre = np.asarray(hp.pix2vec(64, 12345))
    around = pixels_around(64, centre, 24)
    assert 20 <= around.size <= 28
    assert around[0] == 12345
    distances = np.asarray(hp.pix2vec(64, around)).T @ centre
    assert np.all(np.diff(distances) <= 1e-12)


def test_full_refinement_scans_no_pixel_twice_and_ends_around_the_minimum() -> None:
    centre = np.asarray(hp.ang2vec(np.radians(90 - 20.0), np.radians(150.0)))
    refinement = Refinement(DEFAULT, 1.0, rng=np.random.default_rng(3))
    sent = run_refinement(refinement, angular_llh(centre), np.random.default_rng(4))
    assert len(sent) == len(set(sent)), "a pixel was sent twice"
    counts = {nside: len(refinement.sent[nside]) for nside in DEFAULT.nsides}
    assert counts[8] == 768
    assert 700 <= counts[64] <= 1000 and 1200 <= counts[512] <= 2400
    assert refinement.n_done == refinement.n_sent == len(sent)
    best_nside, best_index = refinement.best  # type: ignore[misc]
    assert best_nside == 512
    best_vec = np.asarray(hp.pix2vec(512, best_index))
    assert np.degrees(np.arccos(min(1.0, float(best_vec @ centre)))) < 0.2
    # pixels are refined whole: all NESTED children of every refined parent were sent
    for coarse, fine in ((8, 64), (64, 512)):
        fine_pixels = np.fromiter(refinement.sent[fine], dtype=np.int64)
        for parent in {int(p) for p in parent_pixels(fine, fine_pixels, coarse)}:
            block = set(nested_children(coarse, [parent], fine).tolist())
            assert block <= refinement.sent[fine], "a parent was refined only partly"


def test_refinement_follows_a_moving_best_fit() -> None:
    """The best pixel moves after the first round: re-refinement adds pixels around the new one."""
    centre = np.asarray(hp.ang2vec(np.radians(90 + 45.0), np.radians(10.0)))
    llh = angular_llh(centre)
    refinement = Refinement(NsideProgression.parse("4:0,16:4,64:4"), 1.0, rng=np.random.default_rng(1))
    run_refinement(refinement, llh, np.random.default_rng(2), chunk=7)
    # the finest pixels surround the true minimum
    fine = np.fromiter(refinement.sent[64], dtype=np.int64)
    distances = np.degrees(np.arccos(np.clip(np.asarray(hp.pix2vec(64, fine)).T @ centre, -1, 1)))
    assert distances.min() < 1.0


def test_predictive_threshold_starts_the_next_nside_before_the_first_is_complete() -> None:
    centre = np.asarray(hp.ang2vec(np.radians(60.0), np.radians(200.0)))
    llh = angular_llh(centre)
    for threshold, expect_early in ((0.5, True), (1.0, False)):
        refinement = Refinement(DEFAULT, threshold, rng=np.random.default_rng(0))
        first = refinement.start()
        half = len(first) // 2
        for nside, index in first[:half]:
            refinement.add(nside, index, llh(nside, index))
        early = refinement.advance()
        assert bool(early) is expect_early, threshold
        if early:
            assert {nside for nside, _ in early} == {64}
            assert refinement.n_done == half < len(first)


def test_done_only_when_everything_sent_is_back() -> None:
    refinement = Refinement(NsideProgression.parse("1:0,2:4"), 1.0, rng=np.random.default_rng(0))
    first = refinement.start()
    assert len(first) == 12
    for nside, index in first:
        refinement.add(nside, index, float(index))
    second = refinement.advance()
    assert second and all(nside == 2 for nside, _ in second)
    assert not refinement.done
    for nside, index in second[:-1]:
        refinement.add(nside, index, 100.0 + index)
    assert refinement.advance() == [] and not refinement.done
    nside, index = second[-1]
    refinement.add(nside, index, 100.0 + index)
    assert refinement.advance() == [] and refinement.done


def test_duplicates_unknown_pixels_and_nan() -> None:
    refinement = Refinement(NsideProgression.parse("1:0,2:4"), 1.0, rng=np.random.default_rng(0))
    refinement.start()
    assert refinement.add(1, 5, math.nan)
    assert refinement.best is None, "a NaN fit must never be the best fit"
    assert refinement.add(1, 6, 3.0)
    assert not refinement.add(1, 6, 1.0), "a duplicate result must be ignored"
    assert refinement.llh[1][6] == 3.0 and refinement.best == (1, 6)
    with pytest.raises(RefinementError, match="nside 2 pixel 7, which was never sent"):
        refinement.add(2, 7, 1.0)
