"""Stochastic muon energy losses in ice: discrete losses above a cut, continuous losses below it.

PROPOSAL (the field's lepton propagator) exists here only as a source release that cannot be built
offline, so this module samples losses from the same published differential cross sections that
PROPOSAL and the Groom-Mokhov-Striganov tables (GMS: ADNDT 78 (2001) 183) use, written from their
formulas (no code copied), per molecule of H2O (2 H + 1 O) in ice of density 0.9216 g/cm^3:

- **Bremsstrahlung** (Kelner-Kokoulin-Petrukhin as in GMS section 3):
  ``dsigma/dv = alpha (2 Z r_e m_e/m_mu)^2 (4/3 (1 - v) + v^2) / v * Phi(delta)``, with
  ``Phi = ln(B Z^-1/3 (m_mu/m_e) / (1 + delta sqrt(e) B Z^-1/3 / m_e)) - Delta_n``,
  ``delta = m_mu^2 v / (2 E (1 - v))``, B = 183 (202.4 for H), the nuclear-size term
  ``Delta_n = ln(D_n / (1 + delta (D_n sqrt(e) - 2) / m_mu))``, D_n = 1.54 A^0.27 (none for H), and
  Z^2 -> Z (Z + 1) for the atomic electrons.
- **Pair production** (Kokoulin-Petrukhin, the formula of GMS section 4 and PROPOSAL's
  ``EpairKelnerKokoulinPetrukhin``): ``dsigma/dv = 4/(3 pi) Z (Z + zeta) (alpha r_e)^2 (1 - v)/v *
  int_0^rho_max [Phi_e + (m_e/m_mu)^2 Phi_mu] drho`` with the screening functions L_e, L_mu, Y_e, Y_mu
  and the atomic-electron term zeta(E) of GMS, integrated over the pair asymmetry rho by 24-point
  Gauss-Legendre in ln(1 - rho).
- **Photonuclear** (Bezrukov-Bugaev, GMS section 5): the real-photon cross section
  ``sigma_gammaN = 114.3 + 1.647 ln^2(0.0213 v E / GeV)`` microbarn, nuclear shadowing G(x) with
  ``x = 0.00282 A^1/3 sigma_gammaN``, m1^2 = 0.54 GeV^2, m2^2 = 1.80 GeV^2; v from 0.2 GeV / E.
- **Ionisation** (Bethe-Bloch, PDG, with Sternheimer's density correction for water: I = 75 eV,
  C = 3.5017, x0 = 0.24, x1 = 2.8004, a = 0.09116, k = 3.4773), taken as fully continuous: knock-on
  electrons above the cut are not made discrete (their light is in the muon's secondaries factor).

Cut: PROPOSAL's ``v_eff = min(e_cut / E, v_cut)`` (defaults e_cut = 0.5 GeV, v_cut = 0.05, IceCube's
in-detector setting of e_cut; v_cut binds only below 10 GeV). Losses with v > v_eff are drawn one by
one (the distance to the next from the total rate above the cut, the process by its share, v from its
tabulated cumulative in ln v, all at the current energy); between them the muon loses
``a(E) + E * int_0^v_eff v dsigma/dv`` per metre continuously (:func:`continuous_loss_gev_per_m`).

Checks (``tests/skyscan_truthsim``): the sampled mean loss per metre equals ``a(E) + b(E) E`` of these
tables; b(E) of the three radiative processes lies within the 3-4 x 10^-4 / mwe of the facts sheet
(printed by :func:`b_per_mwe`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

M_E = 0.51099895e-3  # GeV
M_MU = 0.1056583755  # GeV
ALPHA = 1.0 / 137.035999
R_E_CM = 2.8179403262e-13
AVOGADRO = 6.02214076e23
SQRT_E = math.sqrt(math.e)
ICE_DENSITY_G_CM3 = 0.9216
WATER_MOLAR_G = 18.015
#: (Z, A, atoms per molecule, B of the screening)
ATOMS: tuple[tuple[int, float, int, float], ...] = ((1, 1.008, 2, 202.4), (8, 15.999, 1, 183.0))
#: molecules per cm^3 of ice, and per metre of path (x 100 cm) the factor turning cm^2 into 1/m
MOLECULES_PER_M_CM2 = ICE_DENSITY_G_CM3 * AVOGADRO / WATER_MOLAR_G * 100.0

BREMS = 0
PAIR = 1
PHOTONUCLEAR = 2
PROCESS_NAMES = ("brems", "epair", "photonuclear")

#: tabulation grid: log10(E / GeV) and u = ln v
LOG10_E_GRID = np.linspace(1.0, 8.0, 71)
N_V = 240
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)


def _brems_atom(e: FloatArray, v: FloatArray, z: int, a: float, b: float) -> FloatArray:
    """dsigma/dv (cm^2) of one atom."""
    delta = M_MU**2 * v / (2.0 * e * (1.0 - v))
    zi = z ** (-1.0 / 3.0)
    phi = np.log(b * zi * (M_MU / M_E) / (1.0 + delta * SQRT_E * b * zi / M_E))
    if z > 1:
        dn = 1.54 * a**0.27
        phi = phi - np.log(dn / (1.0 + delta * (dn * SQRT_E - 2.0) / M_MU))
    v_max = 1.0 - 0.75 * SQRT_E * (M_MU / e) * z ** (1.0 / 3.0)
    out = (
        ALPHA
        * (2.0 * R_E_CM * (M_E / M_MU)) ** 2
        * z
        * (z + 1.0)
        * (4.0 / 3.0 * (1.0 - v) + v * v)
        / v
        * np.maximum(phi, 0.0)
    )
    return np.where(v < v_max, out, 0.0)


def _zeta(e: FloatArray, z: int) -> FloatArray:
    g1, g2 = (4.4e-5, 4.8e-5) if z == 1 else (1.95e-5, 5.3e-5)
    r = e / M_MU
    num = 0.073 * np.log(r / (1.0 + g1 * z ** (2.0 / 3.0) * r)) - 0.26
    den = 0.058 * np.log(r / (1.0 + g2 * z ** (1.0 / 3.0) * r)) - 0.14
    out: FloatArray = np.where(num > 0.0, num / np.where(den > 0.0, den, 1.0), 0.0)
    return out


def _pair_atom(e: FloatArray, v: FloatArray, z: int, b: float) -> FloatArray:
    """dsigma/dv (cm^2) of one atom (Kokoulin-Petrukhin); e and v broadcast together."""
    ok = (v > 4.0 * M_E / e) & (v < 1.0 - 0.75 * SQRT_E * (M_MU / e) * z ** (1.0 / 3.0))
    e = np.where(ok, e, 1e3)
    v = np.where(ok, v, 0.5)
    rho_max = (1.0 - 6.0 * M_MU**2 / (e * e * (1.0 - v))) * np.sqrt(
        np.maximum(1.0 - 4.0 * M_E / (e * v), 0.0)
    )
    rho_max = np.clip(rho_max, 0.0, 1.0 - 1e-12)
    # rho = 1 - exp(t), t from ln(1 - rho_max) to 0; drho = exp(t) dt
    t_lo = np.log1p(-rho_max)
    integral = np.zeros(np.broadcast(e, v).shape)
    zi = z ** (-1.0 / 3.0)
    beta = v * v / (2.0 * (1.0 - v))
    for node, weight in zip(_GL_NODES, _GL_WEIGHTS, strict=True):
        t = 0.5 * t_lo * (1.0 - node)
        jac = 0.5 * (-t_lo) * np.exp(t)
        rho = 1.0 - np.exp(t)
        r2 = rho * rho
        xi = (M_MU * v) ** 2 * (1.0 - r2) / (4.0 * M_E**2 * (1.0 - v))
        xi = np.maximum(xi, 1e-30)
        y_e = (5.0 - r2 + 4.0 * beta * (1.0 + r2)) / (
            2.0 * (1.0 + 3.0 * beta) * np.log(3.0 + 1.0 / xi) - r2 - 2.0 * beta * (2.0 - r2)
        )
        y_mu = (4.0 + r2 + 3.0 * beta * (1.0 + r2)) / (
            (1.0 + r2) * (1.5 + 2.0 * beta) * np.log(3.0 + xi) + 1.0 - 1.5 * r2
        )
        one_minus = np.maximum(e * v * (1.0 - r2), 1e-30)
        l_e = np.log(
            b
            * zi
            * np.sqrt((1.0 + xi) * (1.0 + y_e))
            / (1.0 + 2.0 * M_E * SQRT_E * b * zi * (1.0 + xi) * (1.0 + y_e) / one_minus)
        ) - 0.5 * np.log(1.0 + (1.5 * M_E / M_MU / zi) ** 2 * (1.0 + xi) * (1.0 + y_e))
        l_mu = np.log(
            (M_MU / M_E)
            * b
            * zi
            * np.sqrt((1.0 + 1.0 / xi) * (1.0 + y_mu))
            / (1.0 + 2.0 * M_E * SQRT_E * b * zi * (1.0 + xi) * (1.0 + y_mu) / one_minus)
        ) - np.log(1.5 / zi * np.sqrt((1.0 + 1.0 / xi) * (1.0 + y_mu)))
        phi_e = (
            ((2.0 + r2) * (1.0 + beta) + xi * (3.0 + r2)) * np.log1p(1.0 / xi)
            + (1.0 - r2 - beta) / (1.0 + xi)
            - (3.0 + r2)
        ) * l_e
        phi_mu = (
            ((1.0 + r2) * (1.0 + 1.5 * beta) - (1.0 + 2.0 * beta) * (1.0 - r2) / xi) * np.log1p(xi)
            + xi * (1.0 - r2 - beta) / (1.0 + xi)
            + (1.0 + 2.0 * beta) * (1.0 - r2)
        ) * l_mu
        integral += weight * jac * (np.maximum(phi_e, 0.0) + (M_E / M_MU) ** 2 * np.maximum(phi_mu, 0.0))
    zeta = _zeta(e, z)
    out = 4.0 / (3.0 * math.pi) * z * (z + zeta) * (ALPHA * R_E_CM) ** 2 * (1.0 - v) / v * integral
    return np.where(ok, out, 0.0)


def _photonuclear_atom(e: FloatArray, v: FloatArray, z: int, a: float) -> FloatArray:
    """dsigma/dv (cm^2) of one nucleus (Bezrukov-Bugaev)."""
    ok = (v * e > 0.2) & (v < 1.0 - 0.5 / e)
    v = np.where(ok, v, 0.5)
    eps = v * e
    sigma_ub = 114.3 + 1.647 * np.log(0.0213 * eps) ** 2
    if z == 1:
        g = np.ones_like(sigma_ub)
    else:
        x = 0.00282 * a ** (1.0 / 3.0) * sigma_ub
        g = 3.0 / x**3 * (0.5 * x * x - 1.0 + np.exp(-x) * (1.0 + x))
    m1, m2 = 0.54, 1.80
    t = M_MU**2 * v * v / (1.0 - v)
    kappa = 1.0 - 2.0 / v + 2.0 / (v * v)
    bracket = (
        0.75 * g * (kappa * np.log1p(m1 / t) - kappa * m1 / (m1 + t) - 2.0 * M_MU**2 / t)
        + 0.25 * (kappa * np.log1p(m2 / t) - 2.0 * M_MU**2 / t)
        + M_MU**2 / (2.0 * t) * (0.75 * g * m1 / (m1 + t) + 0.25 * m2 / t * np.log1p(t / m2))
    )
    out = ALPHA / (2.0 * math.pi) * a * sigma_ub * 1e-30 * v * bracket
    return np.where(ok, np.maximum(out, 0.0), 0.0)


def dsigma_dv_per_m(process: int, energy_gev: FloatArray, v: FloatArray) -> FloatArray:
    """dN/(dx dv): losses per metre of ice per unit v, for one process (arrays broadcast)."""
    e = np.asarray(energy_gev, dtype=np.float64)
    vv = np.asarray(v, dtype=np.float64)
    total = np.zeros(np.broadcast(e, vv).shape)
    for z, a, count, b in ATOMS:
        if process == BREMS:
            part = _brems_atom(e, vv, z, a, b)
        elif process == PAIR:
            part = _pair_atom(e, vv, z, b)
        elif process == PHOTONUCLEAR:
            part = _photonuclear_atom(e, vv, z, a)
        else:
            raise ValueError(f"process: expected 0-2 (brems, epair, photonuclear), got {process!r}")
        total += count * part
    out: FloatArray = total * MOLECULES_PER_M_CM2
    return out


def ionisation_gev_per_m(energy_gev: npt.ArrayLike) -> FloatArray:
    """Mean ionisation loss (Bethe-Bloch with the density effect of water), GeV per metre of ice."""
    e = np.maximum(np.asarray(energy_gev, dtype=np.float64), M_MU * 1.0001)
    gamma = e / M_MU
    beta2 = 1.0 - 1.0 / gamma**2
    bg = math.log(10.0)
    x = np.log10(np.sqrt(beta2) * gamma)
    c_bar, x0, x1, a_s, k_s = 3.5017, 0.24, 2.8004, 0.09116, 3.4773
    delta = np.where(
        x >= x1,
        2.0 * bg * x - c_bar,
        np.where(x > x0, 2.0 * bg * x - c_bar + a_s * np.clip(x1 - x, 0.0, None) ** k_s, 0.0),
    )
    me_mev = M_E * 1e3
    t_max = 2.0 * me_mev * beta2 * gamma**2 / (1.0 + 2.0 * gamma * M_E / M_MU + (M_E / M_MU) ** 2)
    i_mev = 75e-6
    z_over_a = 10.0 / WATER_MOLAR_G
    mev_cm2_g = (
        0.307075
        * z_over_a
        / beta2
        * (
            0.5 * np.log(2.0 * me_mev * beta2 * gamma**2 * t_max / i_mev**2)
            - beta2
            + t_max**2 / (8.0 * (e * 1e3) ** 2)
            - 0.5 * delta
        )
    )
    out: FloatArray = mev_cm2_g * ICE_DENSITY_G_CM3 * 100.0 * 1e-3
    return out


@dataclass(frozen=True)
class LossTables:
    """Per process and energy: dN/(dx d ln v) on a grid of ln v, and its cumulatives (per metre).

    ``u[i_e, :]`` is the ln v grid at energy ``LOG10_E_GRID[i_e]`` (from the lowest kinematic v to the
    highest of the three processes), ``rate[p, i_e, :]`` the cumulative number of losses per metre
    above each grid v (decreasing), ``energy[p, i_e, :]`` the cumulative int_v_min^v v dN/dv dv
    (energy fraction per metre below each grid v).
    """

    u: FloatArray
    rate_above: FloatArray
    fraction_below: FloatArray


@lru_cache(maxsize=1)
def loss_tables() -> LossTables:
    """The tabulated cross sections (computed once per process, about a second)."""
    n_e = LOG10_E_GRID.size
    u = np.empty((n_e, N_V))
    rate_above = np.empty((3, n_e, N_V))
    fraction_below = np.empty((3, n_e, N_V))
    for i, log10_e in enumerate(LOG10_E_GRID):
        e = 10.0**log10_e
        u_lo = math.log(min(4.0 * M_E, 0.2) / e)
        grid = np.linspace(u_lo, math.log(1.0 - 1e-6), N_V)
        u[i] = grid
        v = np.exp(grid)
        for p in (BREMS, PAIR, PHOTONUCLEAR):
            per_u = dsigma_dv_per_m(p, np.full(N_V, e), v) * v  # dN/(dx du)
            steps = 0.5 * (per_u[1:] + per_u[:-1]) * np.diff(grid)
            cumulative = np.concatenate([[0.0], np.cumsum(steps)])
            rate_above[p, i] = cumulative[-1] - cumulative
            per_u_v = per_u * v
            esteps = 0.5 * (per_u_v[1:] + per_u_v[:-1]) * np.diff(grid)
            fraction_below[p, i] = np.concatenate([[0.0], np.cumsum(esteps)])
    return LossTables(u, rate_above, fraction_below)


def _interp_energy(log10_e: float) -> tuple[int, float]:
    x = (log10_e - LOG10_E_GRID[0]) / (LOG10_E_GRID[1] - LOG10_E_GRID[0])
    i = int(min(max(math.floor(x), 0), LOG10_E_GRID.size - 2))
    return i, min(max(x - i, 0.0), 1.0)


def _at_v(table: FloatArray, u_grid: FloatArray, u: float) -> float:
    return float(np.interp(u, u_grid, table))


def _per_process(table: FloatArray, energy_gev: float, v_cut: float) -> FloatArray:
    """``table[process, energy row]`` (a function of u = ln v on that row's grid) at ``v_cut``, per
    process, linear in log10 E between the grid's rows."""
    tables = loss_tables()
    i, f = _interp_energy(math.log10(energy_gev))
    u = math.log(v_cut)
    out = np.empty(3)
    for p in range(3):
        lo = _at_v(table[p, i], tables.u[i], u)
        hi = _at_v(table[p, i + 1], tables.u[i + 1], u)
        out[p] = (1.0 - f) * lo + f * hi
    return out


def rates_above(energy_gev: float, v_cut: float) -> FloatArray:
    """Losses per metre with v > v_cut, per process, at this energy (linear in log10 E between grid rows)."""
    return _per_process(loss_tables().rate_above, energy_gev, v_cut)


def fraction_below(energy_gev: float, v_cut: float) -> FloatArray:
    """int_0^v_cut v dN/dv dv per process (1/m): the continuous radiative loss is E times their sum."""
    return _per_process(loss_tables().fraction_below, energy_gev, v_cut)


def b_per_m(energy_gev: float) -> FloatArray:
    """b(E) per process (1/m): the mean radiative loss is E times their sum."""
    return fraction_below(energy_gev, 1.0 - 1e-6)


def b_per_mwe(energy_gev: float) -> FloatArray:
    """b(E) per process in 1/mwe (1 mwe = 100 g/cm^2), to compare with tables (GMS, the facts sheet)."""
    out: FloatArray = b_per_m(energy_gev) / ICE_DENSITY_G_CM3
    return out


def mean_loss_gev_per_m(energy_gev: float) -> float:
    """a(E) + b(E) E: the mean energy loss per metre, continuous and stochastic together."""
    return float(ionisation_gev_per_m(energy_gev)) + energy_gev * float(b_per_m(energy_gev).sum())


@dataclass(frozen=True)
class LossSettings:
    e_cut_gev: float = 0.5
    v_cut: float = 0.05

    def v_eff(self, energy_gev: float) -> float:
        return min(self.e_cut_gev / energy_gev, self.v_cut)


def continuous_loss_gev_per_m(energy_gev: float, settings: LossSettings) -> float:
    """Ionisation plus the radiative losses below the cut (GeV per metre)."""
    v = settings.v_eff(energy_gev)
    return float(ionisation_gev_per_m(energy_gev)) + energy_gev * float(fraction_below(energy_gev, v).sum())


def _sample_v(process: int, energy_gev: float, v_cut: float, rng: np.random.Generator) -> float:
    """v of one loss of ``process`` above v_cut, from the tabulated cumulative rate (nearest energy row
    by probability, so the row mix is linear in log10 E)."""
    tables = loss_tables()
    i, f = _interp_energy(math.log10(energy_gev))
    row = i + 1 if rng.uniform() < f else i
    u_grid = tables.u[row]
    above = tables.rate_above[process, row]
    u_cut = math.log(v_cut)
    total = _at_v(above, u_grid, u_cut)
    if total <= 0.0:
        return v_cut
    target = rng.uniform() * total  # rate above the drawn v: uniform in (0, total)
    # ``above`` decreases along the grid: interpolate u where above == target
    k = int(np.searchsorted(-above, -target))
    k = min(max(k, 1), u_grid.size - 1)
    a0, a1 = above[k - 1], above[k]
    w = (a0 - target) / (a0 - a1) if a0 != a1 else 0.0
    u = u_grid[k - 1] + w * (u_grid[k] - u_grid[k - 1])
    return float(min(math.exp(max(u, u_cut)), 1.0 - 1e-6))


@dataclass(frozen=True)
class Loss:
    """One stochastic loss: distance along the track from its start (m), energy (GeV), process."""

    distance_m: float
    energy_gev: float
    process: int


@dataclass(frozen=True)
class MuonTrack:
    """A propagated muon: its stochastic losses, and its energy at sample points along the track.

    ``energy_at`` gives the muon's energy (GeV) at distances ``distances_m`` (every loss and every
    ``step_m``); ``continuous_gev`` is the continuously lost energy in each interval between them.
    """

    losses: tuple[Loss, ...]
    distances_m: FloatArray
    energy_gev: FloatArray
    continuous_gev: FloatArray
    length_m: float

    def energy_at(self, distance_m: npt.ArrayLike) -> FloatArray:
        out: FloatArray = np.interp(
            np.asarray(distance_m, dtype=np.float64), self.distances_m, self.energy_gev
        )
        return out


#: the muon stops being followed below this energy (GeV; it ranges out within ~ 4 m per GeV)
MIN_ENERGY_GEV = 1.0


def propagate(
    energy_gev: float,
    length_m: float,
    rng: np.random.Generator,
    settings: LossSettings | None = None,
    step_m: float = 10.0,
) -> MuonTrack:
    """Propagate a muon of ``energy_gev`` over ``length_m`` of ice, drawing its stochastic losses.

    The rates are re-evaluated after every loss and every ``step_m`` (the distance to the next loss is
    memoryless, so a drawn distance beyond the step is redrawn there at the new energy).
    """
    settings = settings or LossSettings()
    if not (energy_gev > MIN_ENERGY_GEV and length_m > 0.0):
        raise ValueError(
            f"propagate: energy_gev must exceed {MIN_ENERGY_GEV} and length_m be > 0, got"
            f" {energy_gev!r}, {length_m!r}"
        )
    x = 0.0
    e = energy_gev
    losses: list[Loss] = []
    xs = [0.0]
    es = [e]
    cont = []
    while x < length_m and e > MIN_ENERGY_GEV:
        v_cut = settings.v_eff(e)
        rates = rates_above(e, v_cut)
        total = float(rates.sum())
        dx = rng.exponential(1.0 / total) if total > 0.0 else math.inf
        step = min(dx, step_m, length_m - x)
        de = continuous_loss_gev_per_m(e, settings) * step
        de = min(de, e - MIN_ENERGY_GEV * 0.5)
        e -= de
        x += step
        if step == dx and e > MIN_ENERGY_GEV:
            process = int(rng.choice(3, p=rates / total))
            v = _sample_v(process, e, settings.v_eff(e), rng)
            loss = v * e
            losses.append(Loss(x, loss, process))
            e -= loss
        xs.append(x)
        es.append(e)
        cont.append(de)
    return MuonTrack(tuple(losses), np.array(xs), np.array(es), np.array(cont), length_m)
