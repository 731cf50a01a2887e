"""truthsim's stochastic muon losses against the mean energy loss of their own cross sections."""

from __future__ import annotations

import numpy as np
import pytest

from skyscan.truthsim import losses


def test_radiative_b_of_ice_is_the_tabulated_size() -> None:
    # GMS (water, 10 TeV): b_brems ~1.1, b_pair ~1.6, b_nucl ~0.45 x 10^-6 cm^2/g; total 3-4 x 10^-4 / mwe
    b = losses.b_per_mwe(1e4)
    assert b[losses.BREMS] == pytest.approx(1.1e-4, rel=0.15)
    assert b[losses.PAIR] == pytest.approx(1.6e-4, rel=0.15)
    assert b[losses.PHOTONUCLEAR] == pytest.approx(0.45e-4, rel=0.25)
    assert 3e-4 <= b.sum() <= 4e-4
    assert 0.2 <= float(losses.ionisation_gev_per_m(1e4)) <= 0.35


@pytest.mark.parametrize("process", [losses.BREMS, losses.PAIR, losses.PHOTONUCLEAR])
def test_sampled_losses_carry_the_tabulated_energy_above_the_cut(process: int) -> None:
    energy = 3e4
    settings = losses.LossSettings()
    v_cut = settings.v_eff(energy)
    rng = np.random.default_rng(5)
    v = np.array([losses._sample_v(process, energy, v_cut, rng) for _ in range(20_000)])
    assert v.min() >= v_cut
    rate = losses.rates_above(energy, v_cut)[process]
    above = losses.b_per_m(energy)[process] - losses.fraction_below(energy, v_cut)[process]
    # heavy-tailed (a few large v carry the mean): within 4 standard errors of the sample mean, plus 1%
    tolerance = 4.0 * rate * v.std() / np.sqrt(v.size) + 0.01 * above
    assert abs(rate * v.mean() - above) < tolerance


def test_propagated_muons_lose_the_mean_energy_loss_on_average() -> None:
    energy, length = 1e4, 40.0
    rng = np.random.default_rng(11)
    lost = []
    stochastic = []
    for _ in range(1500):
        track = losses.propagate(energy, length, rng)
        lost.append(energy - track.energy_gev[-1])
        stochastic.append(sum(loss.energy_gev for loss in track.losses))
    expected = losses.mean_loss_gev_per_m(energy) * length
    assert np.mean(lost) == pytest.approx(expected, rel=0.1)
    # the losses are stochastic: most of the energy goes in discrete losses, unevenly
    assert np.mean(stochastic) > 0.8 * np.mean(lost)
    assert np.std(lost) > 0.5 * np.mean(lost)


def test_propagate_names_a_bad_argument() -> None:
    with pytest.raises(ValueError, match="energy_gev"):
        losses.propagate(0.5, 10.0, np.random.default_rng(0))
