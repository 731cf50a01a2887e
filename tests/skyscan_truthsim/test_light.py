"""truthsim's photon tracking and DOM volume estimator against the analytic Cherenkov cone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skyscan.photonics import optics
from skyscan.photonics.ice import LayeredIce
from skyscan.truthsim import photons
from skyscan.truthsim.light import DomLayout, LightSettings, Sources, track_light

RHO_M = 20.0


def test_unscattered_muon_light_reaches_a_dom_as_the_cherenkov_cone_predicts() -> None:
    # a vertical up-going track through (0, 0) and a string of DOMs RHO_M beside it, in clear ice
    oms = np.arange(1, 13, dtype=np.int64)
    xyz = np.column_stack([np.full(12, RHO_M), np.zeros(12), np.linspace(-110.0, 110.0, 12)])
    layout = DomLayout.from_positions(np.ones(12, np.int64), oms, xyz, np.ones(12), reach_m=3.0)
    settings = LightSettings(photons_per_m=500.0, margin_m=100.0)
    length = 600.0
    sources = Sources(
        position=np.array([[0.0, 0.0, -300.0]]),
        direction=np.array([[0.0, 0.0, 1.0]]),
        time_ns=np.zeros(1),
        kind=np.array([photons.KIND_TRACK]),
        length_m=np.array([length]),
        energy_gev=np.array([1e4]),
        n_photons=np.array([int(length * settings.photons_per_m)]),
    )
    ice = LayeredIce.homogeneous(1e7, 1e5, "clear")
    hits = track_light(sources, ice, layout, settings, seed=3)
    per_dom = np.bincount(hits.dom, weights=hits.mean_pe, minlength=12)
    # fluence of an infinite track's direct light: photons per metre / (2 pi rho sin theta_c), arriving
    # with v_z = cos theta_c, attenuated by the ice's own absorption over rho / sin theta_c; averaged over
    # the DOM-weighted spectrum
    spectrum = optics.dom_weighted_spectrum()
    lam = spectrum.wavelength_nm
    weight = np.gradient(spectrum.cdf, lam)
    cos_l = optics.cherenkov_cos(lam)
    sin_l = np.sqrt(1.0 - cos_l**2)
    absorption = 1e-6 * (lam / 400.0) ** -1.084 + 6954.0 * np.exp(-6618.0 / lam)
    per_lam = optics.angular_acceptance(cos_l) * np.exp(-absorption * RHO_M / sin_l) / sin_l
    expected = spectrum.pe_area_per_m / (2.0 * math.pi * RHO_M) * np.trapezoid(weight * per_lam, lam)
    assert per_dom.mean() == pytest.approx(expected, rel=0.03)
    cos_c = 1.0 / optics.N_PHASE_REF
    sin_c = math.sqrt(1.0 - cos_c**2)
    # arrival at the direct Cherenkov time (group velocity), within the chord's spread
    t_direct = (xyz[hits.dom, 2] + 300.0 - RHO_M * cos_c / sin_c) / 0.299792458
    t_direct += RHO_M * float(optics.group_index(400.0)) / (0.299792458 * sin_c)
    assert np.median(np.abs(hits.time_ns - t_direct)) < 3.0
