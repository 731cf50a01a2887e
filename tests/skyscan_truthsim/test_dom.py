"""truthsim's DOM response: dark noise rate, saturation, pulse series as a reader needs them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from skyscan.truthsim import dom

SETTINGS = dom.DomSettings()


def _no_light() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)


def test_dark_noise_comes_at_the_set_rate_over_the_readout_window() -> None:
    settings = dataclasses.replace(SETTINGS, readout_ns=1e8)  # 0.1 s per DOM: ~50 hits each
    rde = np.r_[np.ones(2000), np.full(500, 1.35)]
    pe = dom.photoelectrons(*_no_light(), np.ones(rde.size), rde, settings, np.random.default_rng(3))
    assert pe.is_noise.all()
    assert pe.time_ns.min() >= 0.0 and pe.time_ns.max() < settings.readout_ns
    standard = np.count_nonzero(pe.dom < 2000) / (2000 * 0.1)
    high_qe = np.count_nonzero(pe.dom >= 2000) / (500 * 0.1)
    assert standard == pytest.approx(settings.noise_hz, rel=0.02)
    assert high_qe == pytest.approx(settings.noise_hz_high_qe, rel=0.04)


def _burst(n: int, spread_ns: float, rng: np.random.Generator) -> dom.Photoelectrons:
    t = np.sort(1000.0 + rng.uniform(0.0, spread_ns, size=n))
    return dom.Photoelectrons(np.zeros(n, np.int64), t, dom.spe_charges(n, SETTINGS, rng), np.zeros(n, bool))


def test_saturation_caps_a_very_bright_dom_and_spares_a_faint_one() -> None:
    rng = np.random.default_rng(4)
    bright = _burst(100_000, 5.0, rng)
    capped = dom.saturate(bright, SETTINGS).sum()
    # 100,000 PE in 5 ns: at most the saturated current over the burst and the averaging window
    assert capped <= SETTINGS.saturation_pe_per_ns * (5.0 + SETTINGS.saturation_window_ns)
    assert capped < 0.02 * bright.charge.sum()
    faint = _burst(20, 200.0, rng)
    assert dom.saturate(faint, SETTINGS).sum() == pytest.approx(faint.charge.sum(), rel=0.01)


def test_pulses_are_a_sorted_map_with_whole_distinct_times_and_several_per_bright_dom() -> None:
    rng = np.random.default_rng(5)
    # two DOMs on one string, 2 positions apart: light of 30 PE spread over 300 ns on each (HLC)
    hit_dom = np.repeat([10, 12], 30).astype(np.int64)
    hit_t = np.r_[5000.0 + rng.exponential(80.0, 30), 5010.0 + rng.exponential(80.0, 30)]
    rde = np.ones(60)
    pe = dom.photoelectrons(hit_dom, hit_t, np.ones(60), np.ones(60), rde, SETTINGS, rng)
    charge = dom.saturate(pe, SETTINGS)
    strings = np.full(60, 21, np.int64)
    oms = np.arange(1, 61, dtype=np.int64)
    pulses = dom.digitise(pe, charge, strings, oms, SETTINGS, rng)
    assert np.array_equal(pulses.time, np.round(pulses.time))
    code = pulses.dom_code
    assert np.all(np.diff(code) >= 0)
    same = code[1:] == code[:-1]
    assert np.all(np.diff(pulses.time)[same] > 0)
    starts = pulses.dom_starts()
    per_dom = dict(zip(code[starts[:-1]].tolist(), np.diff(starts).tolist(), strict=True))
    assert per_dom[21 * 100 + 11] >= 5 and per_dom[21 * 100 + 13] >= 5
    assert pulses.hlc[code == 21 * 100 + 11].all()
    assert np.all(pulses.charge >= SETTINGS.min_pulse_pe)
