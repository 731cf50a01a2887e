"""Optics of the ice and of the DOM: refraction, Cherenkov light, and what a DOM turns into photoelectrons.

Sources (facts sheet ``shared/reference/photon-physics.md``, sections 1 and 3):

- phase index ``n_p(lambda)`` and group index ``n_g = n_p (1.227106 - 0.954648 l + 1.42568 l^2 - 0.711832
  l^3)`` (l in micrometres), IceCube's parameterisation (clsim RefIndexIceCube);
- Frank-Tamm: ``d2N/dx dlambda = 2 pi alpha / lambda^2 (1 - 1 / n_p^2)`` for a muon with beta = 1;
- light of a bare muon's sub-threshold secondaries: x (1 + max(0, 0.188 + 0.0206 ln E/GeV)) (Raedel &
  Wiebusch 2012); an electromagnetic cascade gives 5.321 m x 0.910 / 0.9216 = 5.25 m of track-equivalent
  light per GeV (Raedel & Wiebusch 2013);
- the DOM: a sphere of radius 0.1651 m; its head-on photoelectron effective area by wavelength
  (260-680 nm, 10 nm steps: the "ROMEO" table of photonics' efficiency.h as clsim ships it, K. Hoshina
  2007, measured at 0 deg injection, peak 0.0114 m^2 at 420 nm); 0.9 of it not shadowed by the cable;
  its angular acceptance, a polynomial in x = cos(eta) (IceCube's ``as.nominal``, 0.99 at x = 1).

Conventions: eta is the angle between the photon's direction of travel and +z, so x = v_z: x = 1 is a
photon travelling straight up into the down-looking PMT (head-on), x = -1 one arriving from above
(behind the PMT). The effective area for a photon of wavelength lambda arriving with x is
``A(lambda) * 0.9 * P(x)`` with P clipped at 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

C_VACUUM_M_PER_NS = 0.299792458
FINE_STRUCTURE = 1.0 / 137.035999
#: the reference wavelength of the ice table and of the "direct" arrival time (nm)
REFERENCE_WAVELENGTH_NM = 400.0
#: IceCube's convention for the direct time: phase and group index at 400 nm (as skyscan's Pandel uses)
N_PHASE_REF = 1.3195
N_GROUP_REF = 1.35634
DOM_RADIUS_M = 0.1651
UNSHADOWED_FRACTION = 0.9
#: 5.321 m of track light per GeV x 0.910 / 0.9216 (ice density, g/cm^3)
CASCADE_TRACK_M_PER_GEV = 5.321 * 0.910 / 0.9216

#: IceCube's angular acceptance (as.nominal): coefficients of x^0 ... x^10
ANGULAR_ACCEPTANCE_COEFFICIENTS = (
    0.26266,
    0.47659,
    0.15480,
    -0.14588,
    0.17316,
    1.3070,
    0.44441,
    -2.3538,
    -1.3564,
    1.2098,
    0.81569,
)

#: head-on photoelectron effective area (m^2) from 260 nm in 10 nm steps (photonics/clsim ROMEO table)
EFFECTIVE_AREA_START_NM = 260.0
EFFECTIVE_AREA_STEP_NM = 10.0
EFFECTIVE_AREA_M2 = (
    0.0000064522,
    0.0000064522,
    0.0000064522,
    0.0000064522,
    0.0000021980,
    0.0001339040,
    0.0005556810,
    0.0016953000,
    0.0035997000,
    0.0061340900,
    0.0074592700,
    0.0090579800,
    0.0099246700,
    0.0105769000,
    0.0110961000,
    0.0114214000,
    0.0114425000,
    0.0111527000,
    0.0108086000,
    0.0104458000,
    0.0099763100,
    0.0093102500,
    0.0087516600,
    0.0083225800,
    0.0079767200,
    0.0075625100,
    0.0066377000,
    0.0053335800,
    0.0043789400,
    0.0037583500,
    0.0033279800,
    0.0029212500,
    0.0025334900,
    0.0021115400,
    0.0017363300,
    0.0013552700,
    0.0010546600,
    0.0007201020,
    0.0004843820,
    0.0002911110,
    0.0001782310,
    0.0001144300,
    0.0000509155,
)


def phase_index(wavelength_nm: npt.ArrayLike) -> FloatArray:
    x = np.asarray(wavelength_nm, dtype=np.float64) / 1000.0
    out: FloatArray = 1.55749 - 1.57988 * x + 3.99993 * x**2 - 4.68271 * x**3 + 2.09354 * x**4
    return out


def group_index(wavelength_nm: npt.ArrayLike) -> FloatArray:
    x = np.asarray(wavelength_nm, dtype=np.float64) / 1000.0
    out: FloatArray = phase_index(wavelength_nm) * (
        1.227106 - 0.954648 * x + 1.42568 * x**2 - 0.711832 * x**3
    )
    return out


def cherenkov_cos(wavelength_nm: npt.ArrayLike) -> FloatArray:
    """cos of the Cherenkov angle (beta = 1)."""
    out: FloatArray = 1.0 / phase_index(wavelength_nm)
    return out


def frank_tamm_per_m_per_nm(wavelength_nm: npt.ArrayLike) -> FloatArray:
    """Cherenkov photons per metre of track per nm of wavelength (beta = 1)."""
    lam_m = np.asarray(wavelength_nm, dtype=np.float64) * 1e-9
    n = phase_index(wavelength_nm)
    out: FloatArray = 2.0 * np.pi * FINE_STRUCTURE / lam_m**2 * (1.0 - 1.0 / n**2) * 1e-9
    return out


def effective_area_m2(wavelength_nm: npt.ArrayLike) -> FloatArray:
    """Head-on photoelectron effective area (m^2), linear between the 10 nm points, 0 outside."""
    grid = EFFECTIVE_AREA_START_NM + EFFECTIVE_AREA_STEP_NM * np.arange(len(EFFECTIVE_AREA_M2))
    out: FloatArray = np.interp(
        np.asarray(wavelength_nm, dtype=np.float64), grid, np.asarray(EFFECTIVE_AREA_M2), left=0.0, right=0.0
    )
    return out


def angular_acceptance(cos_eta: npt.ArrayLike) -> FloatArray:
    """Relative acceptance P(x) (as.nominal), clipped to >= 0; x = cos(eta) as in the module docstring."""
    x = np.clip(np.asarray(cos_eta, dtype=np.float64), -1.0, 1.0)
    out: FloatArray = np.maximum(np.polynomial.polynomial.polyval(x, ANGULAR_ACCEPTANCE_COEFFICIENTS), 0.0)
    return out


def secondaries_factor(energy_gev: npt.ArrayLike) -> FloatArray:
    """Light of a muon with its sub-threshold secondaries over that of the bare muon."""
    e = np.maximum(np.asarray(energy_gev, dtype=np.float64), 1e-3)
    out: FloatArray = 1.0 + np.maximum(0.0, 0.188 + 0.0206 * np.log(e))
    return out


@dataclass(frozen=True)
class Spectrum:
    """The wavelengths photons are drawn from: Cherenkov x the DOM's effective area.

    ``cdf`` is the normalised cumulative of that product on ``wavelength_nm``; ``pe_area_per_m`` is its
    integral, sum over lambda of (photons per metre per nm) x A(lambda) x 0.9 (m^2 per metre of track): a
    photon drawn from the spectrum, recorded with path length l in a volume V with acceptance P(x),
    contributes ``pe_area_per_m / N_drawn * l * P(x) / V`` photoelectrons per metre of track.
    """

    wavelength_nm: FloatArray
    cdf: FloatArray
    pe_area_per_m: float
    photons_per_m: float  # all Cherenkov photons per metre in the same band (for the record)


@lru_cache(maxsize=1)
def dom_weighted_spectrum() -> Spectrum:
    lam = np.linspace(260.0, 680.0, 841)
    density = frank_tamm_per_m_per_nm(lam) * effective_area_m2(lam) * UNSHADOWED_FRACTION
    steps = 0.5 * (density[1:] + density[:-1]) * np.diff(lam)
    cdf = np.concatenate([[0.0], np.cumsum(steps)])
    total = float(cdf[-1])
    photons = frank_tamm_per_m_per_nm(lam)
    photons_total = float(np.sum(0.5 * (photons[1:] + photons[:-1]) * np.diff(lam)))
    return Spectrum(lam, cdf / total, total, photons_total)
