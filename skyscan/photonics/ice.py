"""The layered ice the photons cross: effective scattering and absorption by depth and wavelength.

The shipped table (``skybase/i3/data/ice_transparency.csv``: effective scattering length 1/b_e and
absorption length 1/a at 400 nm, per ~10 m layer, layer centres by depth) sets each layer's
coefficients; a layer reaches halfway to its neighbours' centres, and the first and last layers extend
without end. Wavelength dependence (facts sheet section 2, IceCube's icemodel.par):

- ``b_e(lambda) = b_e(400) (lambda / 400)^-0.898``;
- ``a(lambda) = a_dust(400) (lambda / 400)^-1.084 + 6954 exp(-6618 / lambda)`` (per metre), with
  ``a_dust(400) = a(400) - 6954 exp(-6618 / 400)`` from the table (the temperature term delta-tau = 0).

The scattering coefficient is ``b = b_e / (1 - g)``, g = <cos theta> = 0.9 of the phase function
(:data:`MEAN_COS`). Left out: the layers' tilt, the flow-aligned anisotropy (birefringence), the hole
ice (folded into the DOM's angular acceptance), and the temperature term's depth dependence.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from importlib import resources

import numpy as np
import numpy.typing as npt

from skybase.i3.geometry import IceTable

FloatArray = npt.NDArray[np.float64]

MEAN_COS = 0.9
#: fraction of the simplified-Liu part of the phase function (SPICE-Mie's 0.45; the rest Henyey-Greenstein)
SIMPLIFIED_LIU_FRACTION = 0.45
SCATTERING_POWER = 0.898
DUST_ABSORPTION_POWER = 1.084
ICE_ABSORPTION_A = 6954.0
ICE_ABSORPTION_B_NM = 6618.0
ICE_TABLE_RESOURCE = ("skybase.i3", "data/ice_transparency.csv")


class IceError(ValueError):
    """An ice description that cannot be propagated through (non-positive lengths, bad layers)."""


@dataclass(frozen=True)
class LayeredIce:
    """Layers by depth (m below the surface): lower edges of layers 1.., and per layer b_e, a at 400 nm."""

    name: str
    inner_edges: FloatArray  # (L - 1,) increasing depths between layer i and i + 1
    scattering_e_per_m: FloatArray  # (L,) b_e(400 nm)
    absorption_per_m: FloatArray  # (L,) a(400 nm)

    def __post_init__(self) -> None:
        n = self.scattering_e_per_m.size
        if n < 1 or self.absorption_per_m.size != n or self.inner_edges.size != n - 1:
            raise IceError(f"ice {self.name!r}: {n} layers need {n - 1} edges and {n} absorption values")
        if np.any(np.diff(self.inner_edges) <= 0.0):
            raise IceError(f"ice {self.name!r}: layer edges must increase with depth")
        for label, values in (("scattering", self.scattering_e_per_m), ("absorption", self.absorption_per_m)):
            if not np.all(np.isfinite(values)) or np.any(values <= 0.0):
                raise IceError(f"ice {self.name!r}: {label} coefficients must be finite and > 0")

    @classmethod
    def shipped(cls) -> LayeredIce:
        """The layered table shipped with skybase."""
        table = IceTable.load()
        edges = 0.5 * (table.depth[1:] + table.depth[:-1])
        return cls("layered", edges, 1.0 / table.scattering, 1.0 / table.absorption)

    @classmethod
    def homogeneous(
        cls, scattering_length_m: float, absorption_length_m: float, name: str = ""
    ) -> LayeredIce:
        """One layer everywhere: effective scattering and absorption lengths at 400 nm (m)."""
        if not (scattering_length_m > 0.0 and absorption_length_m > 0.0):
            raise IceError(
                f"homogeneous ice needs positive lengths, got scattering {scattering_length_m!r} m,"
                f" absorption {absorption_length_m!r} m"
            )
        label = name or f"homogeneous(b_e={scattering_length_m:g} m, a={absorption_length_m:g} m)"
        return cls(
            label, np.zeros(0), np.array([1.0 / scattering_length_m]), np.array([1.0 / absorption_length_m])
        )

    def scaled(self, scattering: float = 1.0, absorption: float = 1.0) -> LayeredIce:
        """The same layers with every coefficient multiplied (e.g. 1.1: 10% more absorption)."""
        return replace(
            self,
            name=f"{self.name} x(b {scattering:g}, a {absorption:g})",
            scattering_e_per_m=self.scattering_e_per_m * scattering,
            absorption_per_m=self.absorption_per_m * absorption,
        )

    def layer_of(self, depth_m: npt.ArrayLike) -> npt.NDArray[np.int64]:
        out: npt.NDArray[np.int64] = np.searchsorted(self.inner_edges, np.asarray(depth_m), side="right")
        return out

    def lengths_at(self, depth_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """(effective scattering length, absorption length) at 400 nm (m) at these depths."""
        i = self.layer_of(depth_m)
        return 1.0 / self.scattering_e_per_m[i], 1.0 / self.absorption_per_m[i]

    def dust_absorption_per_m(self) -> FloatArray:
        """a_dust(400 nm) per layer: the table's a(400) less the ice's own (temperature) term."""
        own = ICE_ABSORPTION_A * np.exp(-ICE_ABSORPTION_B_NM / 400.0)
        out: FloatArray = np.maximum(self.absorption_per_m - own, 1e-6)
        return out


def ice_table_sha256() -> str:
    """SHA-256 of the shipped ice table file (for the tables' provenance)."""
    package, name = ICE_TABLE_RESOURCE
    data = resources.files(package).joinpath(name).read_bytes()
    return hashlib.sha256(data).hexdigest()
