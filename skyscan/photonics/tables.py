"""The photon tables: expected photoelectrons and arrival-time residual PDF of an infinite muon track.

Axes (what the evaluators take, numpy arrays of one shape or broadcastable):

- ``distance``: the DOM's perpendicular distance from the track (m; clamped to [0.1651, 300]);
- ``angle``: the arrival angle eta of the track's direct Cherenkov light on the DOM (radians): the
  angle between that light's direction of travel and +z, so 0 is head-on into the down-looking PMT
  and pi from behind it (:func:`track_geometry` computes it);
- ``depth``: the depth below the surface (m) of the point on the track that sends the DOM its direct
  light (clamped to the tables' depths, linear between them);
- ``residual``: arrival time minus the direct Cherenkov time (ns); the PDF is per ns, normalised to 1
  over the table's range (-30 ns to 5 us), without PMT jitter (the likelihood convolves it);
- ``energy``: the muon's energy (GeV): ``expected_pe = bare x (1 + max(0, 0.188 + 0.0206 ln E)) +
  loss x b E`` with b = :data:`RADIATIVE_LOSS_PER_M` (the mean radiative losses, GeV/m, as
  electromagnetic showers); ``bare_pe`` and ``loss_pe`` give the two parts for a fit of the losses.

Interpolation is linear in depth, cos(angle), sqrt(distance) and w = asinh(residual / 5 ns): of
log(distance x PE), and of the density per unit w and the CDF (so an interpolated PDF is a mix of
normalised ones and integrates to 1, and the CDF is its integral to within the grid's resolution).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from skyscan.photonics import optics

FloatArray = npt.NDArray[np.float64]

#: mean radiative energy loss per metre of ice over the muon's energy (1/m); skyscan's simulation uses
#: the same value. The facts sheet's b ~ 3-4e-4 per m.w.e. is unverified; a likelihood may fit it.
RADIATIVE_LOSS_PER_M = 3.3e-4
PACKAGED_NAME = "track_tables.npz"
COMPONENTS = ("bare", "cascade")
_LOG_FLOOR = -60.0


class TablesError(ValueError):
    """A tables file that is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class TrackGeometry:
    """Where a DOM sits relative to a track: the evaluators' inputs and the direct light's time."""

    distance: FloatArray
    angle: FloatArray
    depth: FloatArray
    t_direct: FloatArray  # ns after the muon passed ``vertex``


def track_geometry(dom_xyz: npt.ArrayLike, vertex: npt.ArrayLike, direction: npt.ArrayLike) -> TrackGeometry:
    """Distance, direct-light angle, emission depth and direct time of DOMs (N, 3) for a track.

    ``vertex``: a point on the track (detector coordinates, m), passed at time 0; ``direction``: the
    muon's direction of travel (unit vector).
    """
    from skybase.i3.geometry import DEPTH_OF_ORIGIN_M

    xyz = np.atleast_2d(np.asarray(dom_xyz, dtype=np.float64))
    p = np.asarray(vertex, dtype=np.float64)
    u = np.asarray(direction, dtype=np.float64)
    u = u / np.linalg.norm(u)
    rel = xyz - p
    along = rel @ u
    perp = rel - along[:, None] * u
    rho = np.linalg.norm(perp, axis=1)
    rho_hat = perp / np.maximum(rho, 1e-9)[:, None]
    cos_c = 1.0 / optics.N_PHASE_REF
    sin_c = np.sqrt(1.0 - cos_c**2)
    v_z = cos_c * u[2] + sin_c * rho_hat[:, 2]
    emission_s = along - rho * cos_c / sin_c
    emission_z = p[2] + emission_s * u[2]
    t_direct = (emission_s + rho * optics.N_GROUP_REF / sin_c) / optics.C_VACUUM_M_PER_NS
    return TrackGeometry(rho, np.arccos(np.clip(v_z, -1.0, 1.0)), DEPTH_OF_ORIGIN_M - emission_z, t_direct)


def _axis(values: FloatArray, grid: FloatArray) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Lower index and fraction of ``values`` on an increasing grid, clamped to its ends."""
    if grid.size == 1:
        return np.zeros(values.shape, dtype=np.int64), np.zeros(values.shape)
    v = np.clip(values, grid[0], grid[-1])
    i = np.clip(np.searchsorted(grid, v, side="right") - 1, 0, grid.size - 2)
    f = (v - grid[i]) / (grid[i + 1] - grid[i])
    return i, f


@dataclass(frozen=True)
class PhotonTables:
    """Smoothed tables of both light components on (depth, cos eta, sqrt rho[, w]) grids."""

    depths_m: FloatArray  # (D,)
    cos_eta: FloatArray  # (C,)
    rho_m: FloatArray  # (R,)
    w_grid: FloatArray  # (T,) asinh(residual / t_scale_ns)
    t_scale_ns: float
    log_rho_pe: FloatArray  # (2, D, C, R)
    log_pdf: FloatArray  # (2, D, C, R, T) per ns
    provenance: dict[str, Any]
    #: density per unit w = asinh(residual / t_scale_ns) and its running integral, from ``log_pdf``
    p_w: FloatArray = field(init=False, repr=False, compare=False)
    cdf: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        d, c, r, t = self.depths_m.size, self.cos_eta.size, self.rho_m.size, self.w_grid.size
        if self.log_rho_pe.shape != (2, d, c, r) or self.log_pdf.shape != (2, d, c, r, t):
            raise TablesError(
                f"tables' shapes {self.log_rho_pe.shape} / {self.log_pdf.shape}"
                f" do not match axes {(d, c, r, t)}"
            )
        p_w = np.exp(self.log_pdf) * (self.t_scale_ns * np.cosh(self.w_grid))
        steps = 0.5 * (p_w[..., 1:] + p_w[..., :-1]) * np.diff(self.w_grid)
        cdf = np.concatenate([np.zeros((*p_w.shape[:-1], 1)), np.cumsum(steps, axis=-1)], axis=-1)
        norm = np.maximum(cdf[..., -1:], 1e-300)
        object.__setattr__(self, "p_w", p_w / norm)
        object.__setattr__(self, "cdf", cdf / norm)

    # ----- files
    @classmethod
    def load(cls, path: Path | None = None) -> PhotonTables:
        """The tables in ``path`` (an .npz written by :meth:`save`), or the packaged ones."""
        try:
            if path is None:
                ref = resources.files("skyscan.photonics").joinpath("data").joinpath(PACKAGED_NAME)
                with resources.as_file(ref) as packaged:
                    return cls._read(packaged)
            return cls._read(path)
        except (OSError, KeyError, ValueError) as exc:
            raise TablesError(f"cannot read photon tables {path or PACKAGED_NAME}: {exc}") from exc

    @classmethod
    def _read(cls, path: Path) -> PhotonTables:
        with np.load(path, allow_pickle=False) as data:
            return cls(
                data["depths_m"].astype(np.float64),
                data["cos_eta"].astype(np.float64),
                data["rho_m"].astype(np.float64),
                data["w_grid"].astype(np.float64),
                float(data["t_scale_ns"]),
                data["log_rho_pe"].astype(np.float64),
                data["log_pdf"].astype(np.float64),
                json.loads(str(data["provenance"])),
            )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                depths_m=self.depths_m,
                cos_eta=self.cos_eta,
                rho_m=self.rho_m,
                w_grid=self.w_grid,
                t_scale_ns=np.float64(self.t_scale_ns),
                log_rho_pe=self.log_rho_pe.astype(np.float32),
                log_pdf=self.log_pdf.astype(np.float32),
                provenance=np.array(json.dumps(self.provenance, sort_keys=True)),
            )

    # ----- evaluators
    def _cells(
        self, distance: npt.ArrayLike, angle: npt.ArrayLike, depth: npt.ArrayLike
    ) -> tuple[tuple[npt.NDArray[np.int64], FloatArray], ...]:
        rho = np.asarray(distance, dtype=np.float64)
        return (
            _axis(np.asarray(depth, dtype=np.float64), self.depths_m),
            _axis(np.cos(np.asarray(angle, dtype=np.float64)), self.cos_eta),
            _axis(np.sqrt(np.maximum(rho, optics.DOM_RADIUS_M)), np.sqrt(self.rho_m)),
        )

    def _component_pe(
        self, component: int, distance: npt.ArrayLike, angle: npt.ArrayLike, depth: npt.ArrayLike
    ) -> FloatArray:
        rho, cos_a, dep = np.broadcast_arrays(
            np.asarray(distance, dtype=np.float64),
            np.asarray(angle, dtype=np.float64),
            np.asarray(depth, dtype=np.float64),
        )
        (i_d, f_d), (i_c, f_c), (i_r, f_r) = self._cells(rho, cos_a, dep)
        table = self.log_rho_pe[component]
        value = np.zeros(rho.shape)
        for dd, wd in ((0, 1.0 - f_d), (1, f_d)):
            for dc, wc in ((0, 1.0 - f_c), (1, f_c)):
                for dr, wr in ((0, 1.0 - f_r), (1, f_r)):
                    jd = np.minimum(i_d + dd, self.depths_m.size - 1)
                    value += wd * wc * wr * table[jd, i_c + dc, i_r + dr]
        pe = np.exp(value) / np.clip(rho, optics.DOM_RADIUS_M, None)
        out: FloatArray = np.where(rho > self.rho_max_m, 0.0, pe)
        return out

    def bare_pe(self, distance: npt.ArrayLike, angle: npt.ArrayLike, depth: npt.ArrayLike) -> FloatArray:
        """Photoelectrons from an infinite bare muon (Cherenkov light of the muon alone)."""
        return self._component_pe(0, distance, angle, depth)

    def loss_pe(self, distance: npt.ArrayLike, angle: npt.ArrayLike, depth: npt.ArrayLike) -> FloatArray:
        """Photoelectrons per GeV/m of electromagnetic losses spread evenly along the track."""
        return self._component_pe(1, distance, angle, depth)

    def expected_pe(
        self, distance: npt.ArrayLike, angle: npt.ArrayLike, depth: npt.ArrayLike, energy: npt.ArrayLike
    ) -> FloatArray:
        """Mean photoelectrons of a nominal DOM (rde 1) from an infinite muon of ``energy`` GeV."""
        e = np.asarray(energy, dtype=np.float64)
        out: FloatArray = self.bare_pe(distance, angle, depth) * optics.secondaries_factor(e) + self.loss_pe(
            distance, angle, depth
        ) * (RADIATIVE_LOSS_PER_M * e)
        return out

    def _interp_time(
        self,
        table: FloatArray,
        residual: npt.ArrayLike,
        distance: npt.ArrayLike,
        angle: npt.ArrayLike,
        depth: npt.ArrayLike,
    ) -> FloatArray:
        t, rho, ang, dep = np.broadcast_arrays(
            np.asarray(residual, dtype=np.float64),
            np.asarray(distance, dtype=np.float64),
            np.asarray(angle, dtype=np.float64),
            np.asarray(depth, dtype=np.float64),
        )
        (i_d, f_d), (i_c, f_c), (i_r, f_r) = self._cells(rho, ang, dep)
        i_t, f_t = _axis(np.arcsinh(t / self.t_scale_ns), self.w_grid)
        flat = table.reshape(-1)
        n_c, n_r, n_t = self.cos_eta.size, self.rho_m.size, self.w_grid.size
        value = np.zeros(t.shape)
        for dd, wd in ((0, 1.0 - f_d), (1, f_d)):
            jd = np.minimum(i_d + dd, self.depths_m.size - 1)
            for dc, wc in ((0, 1.0 - f_c), (1, f_c)):
                for dr, wr in ((0, 1.0 - f_r), (1, f_r)):
                    base = ((jd * n_c + i_c + dc) * n_r + i_r + dr) * n_t + i_t
                    w = wd * wc * wr
                    value += w * ((1.0 - f_t) * flat[base] + f_t * flat[base + 1])
        return value

    def _mixture(
        self,
        distance: npt.ArrayLike,
        angle: npt.ArrayLike,
        depth: npt.ArrayLike,
        energy: npt.ArrayLike | None,
    ) -> FloatArray | None:
        """Weight of the loss light in the mixture (None: bare muon light only)."""
        if energy is None:
            return None
        e = np.asarray(energy, dtype=np.float64)
        bare = self.bare_pe(distance, angle, depth) * optics.secondaries_factor(e)
        loss = self.loss_pe(distance, angle, depth) * (RADIATIVE_LOSS_PER_M * e)
        out: FloatArray = loss / np.maximum(bare + loss, 1e-300)
        return out

    def _mixed_time(
        self,
        tables: FloatArray,
        t: FloatArray,
        distance: npt.ArrayLike,
        angle: npt.ArrayLike,
        depth: npt.ArrayLike,
        energy: npt.ArrayLike | None,
    ) -> FloatArray:
        """A time table pair (``tables[0]`` bare muon light, ``[1]`` loss light) at residuals ``t``:
        the muon's alone, or with ``energy`` their mixture (:meth:`_mixture`)."""
        muon = self._interp_time(tables[0], t, distance, angle, depth)
        mix = self._mixture(distance, angle, depth, energy)
        if mix is None:
            return muon
        cascade = self._interp_time(tables[1], t, distance, angle, depth)
        out: FloatArray = (1.0 - mix) * muon + mix * cascade
        return out

    def time_pdf(
        self,
        residual: npt.ArrayLike,
        distance: npt.ArrayLike,
        angle: npt.ArrayLike,
        depth: npt.ArrayLike,
        energy: npt.ArrayLike | None = None,
    ) -> FloatArray:
        """PDF (per ns) of the arrival-time residual; with ``energy``, the mix of muon and loss light."""
        t = np.asarray(residual, dtype=np.float64)
        outside = (t < self.t_min_ns) | (t > self.t_max_ns)
        pdf = self._mixed_time(self.p_w, t, distance, angle, depth, energy)
        pdf = pdf / (self.t_scale_ns * np.cosh(np.arcsinh(t / self.t_scale_ns)))  # per w -> per ns
        return np.where(outside, 0.0, pdf)

    def time_cdf(
        self,
        residual: npt.ArrayLike,
        distance: npt.ArrayLike,
        angle: npt.ArrayLike,
        depth: npt.ArrayLike,
        energy: npt.ArrayLike | None = None,
    ) -> FloatArray:
        """CDF of the residual (0 below the table's range, 1 above)."""
        t = np.asarray(residual, dtype=np.float64)
        cdf = self._mixed_time(self.cdf, t, distance, angle, depth, energy)
        return np.where(t < self.t_min_ns, 0.0, np.where(t > self.t_max_ns, 1.0, cdf))

    @property
    def rho_max_m(self) -> float:
        """The farthest distance tabulated (m): no light is expected beyond it."""
        return float(self.provenance["monte_carlo"]["binning"]["rho_max_m"])

    @property
    def t_min_ns(self) -> float:
        return float(self.t_scale_ns * np.sinh(self.w_grid[0]))

    @property
    def t_max_ns(self) -> float:
        return float(self.t_scale_ns * np.sinh(self.w_grid[-1]))
