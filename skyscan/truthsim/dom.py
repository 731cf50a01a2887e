"""The DOM's response: from expected photoelectrons to the pulse series a realtime event carries.

Per DOM and event, in this order (facts sheet section 3 where a number is sourced; otherwise stated):

1. **Efficiency**: the mean photoelectrons of each hit times the DOM's relative efficiency: its rde
   (1.35 for high-QE DOMs; the wavelength QE is already in the effective area) x a per-DOM factor
   drawn once per detector (``detector_seed``) from Normal(1, ``efficiency_spread`` = 0.10), clipped to
   [0.5, 1.5]. The reconstruction does not know these factors.
2. **Photoelectrons**: Poisson in each hit's mean, at the hit's time + the PMT transit-time spread
   Normal(0, 2 ns) (the jitter the tables use).
3. **Afterpulses**: each photoelectron has probability ``afterpulse_probability`` (0.06; the facts sheet
   gives no probability: my assumption, of the order the IceCube PMT paper reports) of a second one
   delayed by Normal(6 us, 2 us) (facts sheet).
4. **Dark noise**: Poisson hits uniform over the readout window at 500 Hz (700 Hz for high-QE DOMs;
   the facts sheet's 560 / 780 Hz without their correlated bursts), on every in-ice DOM.
5. **Charge**: each photoelectron's charge from an SPE distribution of IceCube's measured kind
   (exponential + Gaussian, arXiv:2002.00997): with probability 0.3 Exponential(mean 0.4 PE), else
   Normal(1, 0.3) truncated at 0 (shape mine, not fitted).
6. **Saturation**: the anode current is limited: a photoelectron arriving with n photoelectrons within
   +-5 ns (I = n / 10 ns) is scaled by I_max (1 - exp(-I / I_max)) / I with I_max = 94 PE/ns (the
   facts sheet's 150 mA saturated current at gain 1e7). A DOM's charge in any 10 ns is so capped near
   940 PE.
7. **Launch and digitisation**: the DOM launches on the first photoelectron of charge >= 0.25 PE
   (the discriminator); the ATWD records 427 ns and the fADC 6.4 us from the launch; the next launch
   is on the first such photoelectron after that. Pulses are the unfolded charge on the digitisers'
   resolution: photoelectrons within 6 ns of a pulse's first one in the ATWD window (about half the
   digitised SPE's 13 ns FWHM: closer ones are not separated), or within 25 ns (an fADC sample) after
   it, become one pulse (time of its first photoelectron, whole ns), so a DOM's pulses follow the light's
   spread in time as the real events' series do. The unfolding also splits charge: with probability
   0.3 a pulse gives a fraction uniform in [0.1, 0.5] of its charge to a second pulse 6-30 ns later
   (my model of wavedeform's split pulses and the PMT's late pulses; its three numbers were chosen by
   looking at the real events' pulse series, not fitted). Pulses under 0.1 PE are dropped.
8. **Local coincidence**: a launch is HLC when a DOM within 2 positions on its string launches within
   1 us; HLC launches keep all their pulses (flags LC | ATWD | FADC), SLC launches only a charge stamp:
   one pulse with the charge of their first 75 ns (flags FADC).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from skybase.i3.pulses import FLAG_ATWD, FLAG_FADC, FLAG_LC, PulseSeries

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class DomSettings:
    efficiency_spread: float = 0.10
    jitter_ns: float = 2.0
    afterpulse_probability: float = 0.06
    afterpulse_delay_ns: tuple[float, float] = (6000.0, 2000.0)
    noise_hz: float = 500.0
    noise_hz_high_qe: float = 700.0
    readout_ns: float = 20_000.0
    spe_exponential_fraction: float = 0.3
    spe_exponential_mean: float = 0.4
    spe_gaussian: tuple[float, float] = (1.0, 0.3)
    saturation_pe_per_ns: float = 94.0
    saturation_window_ns: float = 10.0
    discriminator_pe: float = 0.25
    atwd_ns: float = 427.0
    atwd_sample_ns: float = 6.0
    split_probability: float = 0.3
    split_fraction: tuple[float, float] = (0.1, 0.5)
    split_delay_ns: tuple[float, float] = (6.0, 30.0)
    fadc_ns: float = 6400.0
    fadc_sample_ns: float = 25.0
    min_pulse_pe: float = 0.1
    lc_span: int = 2
    lc_window_ns: float = 1000.0
    slc_stamp_ns: float = 75.0


def dom_efficiencies(rde: FloatArray, settings: DomSettings, detector_seed: int) -> FloatArray:
    """rde x a per-DOM spread fixed by the detector seed (the same detector for every event)."""
    spread = np.random.default_rng([detector_seed, 7]).normal(1.0, settings.efficiency_spread, size=rde.size)
    out: FloatArray = rde * np.clip(spread, 0.5, 1.5)
    return out


@dataclass(frozen=True)
class Photoelectrons:
    dom: IntArray
    time_ns: FloatArray
    charge: FloatArray
    is_noise: npt.NDArray[np.bool_]


def spe_charges(n: int, settings: DomSettings, rng: np.random.Generator) -> FloatArray:
    exponential = rng.uniform(size=n) < settings.spe_exponential_fraction
    mean, sigma = settings.spe_gaussian
    gauss = rng.normal(mean, sigma, size=n)
    bad = gauss <= 0.0
    while bad.any():
        gauss[bad] = rng.normal(mean, sigma, size=int(bad.sum()))
        bad = gauss <= 0.0
    out: FloatArray = np.where(exponential, rng.exponential(settings.spe_exponential_mean, size=n), gauss)
    return out


def photoelectrons(
    hit_dom: IntArray,
    hit_time: FloatArray,
    hit_mean: FloatArray,
    efficiency: FloatArray,
    rde: FloatArray,
    settings: DomSettings,
    rng: np.random.Generator,
) -> Photoelectrons:
    """Signal photoelectrons (with jitter and afterpulses) and dark noise over the readout window."""
    counts = rng.poisson(hit_mean * efficiency[hit_dom])
    dom = np.repeat(hit_dom, counts)
    time = np.repeat(hit_time, counts) + rng.normal(0.0, settings.jitter_ns, size=dom.size)
    after = rng.uniform(size=dom.size) < settings.afterpulse_probability
    after_dom = dom[after]
    after_t = time[after] + np.maximum(rng.normal(*settings.afterpulse_delay_ns, size=after_dom.size), 100.0)
    rate = np.where(rde > 1.0, settings.noise_hz_high_qe, settings.noise_hz)
    n_noise = rng.poisson(rate * settings.readout_ns * 1e-9)
    noise_dom = np.repeat(np.arange(rde.size), n_noise)
    noise_t = rng.uniform(0.0, settings.readout_ns, size=noise_dom.size)
    all_dom = np.concatenate([dom, after_dom, noise_dom]).astype(np.int64)
    all_t = np.concatenate([time, after_t, noise_t])
    is_noise = np.concatenate(
        [np.zeros(dom.size + after_dom.size, dtype=bool), np.ones(noise_dom.size, bool)]
    )
    inside = (all_t >= 0.0) & (all_t < settings.readout_ns)
    all_dom, all_t, is_noise = all_dom[inside], all_t[inside], is_noise[inside]
    order = np.lexsort((all_t, all_dom))
    charge = spe_charges(int(order.size), settings, rng)
    return Photoelectrons(all_dom[order], all_t[order], charge, is_noise[order])


def saturate(pe: Photoelectrons, settings: DomSettings) -> FloatArray:
    """Charges after the anode-current limit (photoelectrons sorted by DOM, then time)."""
    if pe.dom.size == 0:
        return pe.charge.copy()
    half = 0.5 * settings.saturation_window_ns
    key = pe.dom.astype(np.float64) * 1e6 + pe.time_ns  # DOMs far apart on this axis (readout < 1e6 ns)
    lo = np.searchsorted(key, key - half, side="left")
    hi = np.searchsorted(key, key + half, side="right")
    current = (hi - lo) / settings.saturation_window_ns  # photoelectrons per ns
    i_max = settings.saturation_pe_per_ns
    scale = i_max * (1.0 - np.exp(-current / i_max)) / current
    out: FloatArray = pe.charge * scale
    return out


@dataclass(frozen=True)
class _RawPulses:
    """Pulses before local coincidence: DOM, time, charge, launch index, whether in the SLC charge
    stamp and in the ATWD window of their launch, whether a split-off part of another pulse."""

    dom: IntArray
    time: FloatArray
    charge: FloatArray
    launch: IntArray
    stamp: npt.NDArray[np.bool_]
    atwd: npt.NDArray[np.bool_]
    split_off: npt.NDArray[np.bool_]

    def select(self, keep: npt.NDArray[np.bool_] | IntArray) -> _RawPulses:
        return _RawPulses(
            self.dom[keep],
            self.time[keep],
            self.charge[keep],
            self.launch[keep],
            self.stamp[keep],
            self.atwd[keep],
            self.split_off[keep],
        )


def _launch_pulses(
    pe: Photoelectrons, charge: FloatArray, settings: DomSettings
) -> tuple[_RawPulses, IntArray, FloatArray]:
    """Every launch's pulses on the digitisers' resolution, and the launches' DOMs and times."""
    starts = np.flatnonzero(np.r_[True, pe.dom[1:] != pe.dom[:-1]]) if pe.dom.size else np.zeros(0, np.int64)
    columns: tuple[list[float], ...] = ([], [], [], [], [], [])  # dom, time, charge, launch, stamp, atwd
    launch_dom: list[int] = []
    launch_time: list[float] = []
    for lo, hi in itertools.pairwise(np.r_[starts, pe.dom.size]):
        t = pe.time_ns[lo:hi]
        q = charge[lo:hi]
        i = 0
        while i < hi - lo:
            above = np.flatnonzero(q[i:] >= settings.discriminator_pe)
            if above.size == 0:
                break
            first = i + int(above[0])
            t_launch = float(t[first])
            end = int(np.searchsorted(t, t_launch + settings.fadc_ns, side="left"))
            new = _pulse_starts(t[first:end] - t_launch, settings)
            sums = np.bincount(np.cumsum(new) - 1, weights=q[first:end])
            rel = t[first:end][new] - t_launch
            for column, values in zip(
                columns,
                (
                    np.full(sums.size, pe.dom[lo]),
                    t_launch + rel,
                    sums,
                    np.full(sums.size, len(launch_dom)),
                    rel < settings.slc_stamp_ns,
                    rel < settings.atwd_ns,
                ),
                strict=True,
            ):
                column.extend(values.tolist())
            launch_dom.append(int(pe.dom[lo]))
            launch_time.append(t_launch)
            i = end
    n = len(columns[0])
    raw = _RawPulses(
        np.asarray(columns[0], dtype=np.int64),
        np.asarray(columns[1], dtype=np.float64),
        np.asarray(columns[2], dtype=np.float64),
        np.asarray(columns[3], dtype=np.int64),
        np.asarray(columns[4], dtype=bool),
        np.asarray(columns[5], dtype=bool),
        np.zeros(n, dtype=bool),
    )
    return raw, np.asarray(launch_dom, dtype=np.int64), np.asarray(launch_time)


def _split(raw: _RawPulses, settings: DomSettings, rng: np.random.Generator) -> _RawPulses:
    """The unfolding's split pulses: part of a pulse's charge, a little later, as a pulse of its own."""
    split = rng.uniform(size=raw.dom.size) < settings.split_probability
    n = int(split.sum())
    fraction = rng.uniform(*settings.split_fraction, size=n)
    delay = rng.uniform(*settings.split_delay_ns, size=n)
    moved = raw.charge[split] * fraction
    charge = raw.charge.copy()
    charge[split] -= moved
    return _RawPulses(
        np.concatenate([raw.dom, raw.dom[split]]),
        np.concatenate([raw.time, raw.time[split] + delay]),
        np.concatenate([charge, moved]),
        np.concatenate([raw.launch, raw.launch[split]]),
        np.concatenate([raw.stamp, raw.stamp[split]]),
        np.concatenate([raw.atwd, raw.atwd[split]]),
        np.concatenate([raw.split_off, np.ones(n, dtype=bool)]),
    )


def _read_out(
    raw: _RawPulses, hlc: npt.NDArray[np.bool_], n_launches: int, settings: DomSettings
) -> tuple[_RawPulses, npt.NDArray[np.bool_]]:
    """HLC launches keep their pulses; an SLC launch becomes one pulse: its charge stamp (the charge of
    its first 75 ns), at its first pulse. Pulses under the minimum charge are dropped. Returns the
    pulses kept and whether each is HLC."""
    is_hlc = hlc[raw.launch] if raw.launch.size else np.zeros(0, dtype=bool)
    stamp_charge = np.bincount(raw.launch[raw.stamp], weights=raw.charge[raw.stamp], minlength=n_launches)
    original = np.flatnonzero(~raw.split_off)
    first_of_launch = np.zeros(raw.dom.size, dtype=bool)
    if original.size:
        launches = raw.launch[original]
        first_of_launch[original[np.r_[True, launches[1:] != launches[:-1]]]] = True
    charge = np.where(is_hlc, raw.charge, stamp_charge[raw.launch] if raw.launch.size else raw.charge)
    keep = (is_hlc | first_of_launch) & (charge >= settings.min_pulse_pe)
    read = _RawPulses(raw.dom, raw.time, charge, raw.launch, raw.stamp, raw.atwd & is_hlc, raw.split_off)
    return read.select(keep), is_hlc[keep]


def digitise(
    pe: Photoelectrons,
    charge: FloatArray,
    strings: IntArray,
    oms: IntArray,
    settings: DomSettings,
    rng: np.random.Generator,
) -> PulseSeries:
    """Launches, pulses on the digitisers' sampling, split pulses, local coincidence, as a pulse map."""
    raw, launch_dom, launch_time = _launch_pulses(pe, charge, settings)
    hlc = _hlc(launch_dom, launch_time, strings, oms, settings)
    pulses, is_hlc = _read_out(_split(raw, settings, rng), hlc, launch_dom.size, settings)
    time = np.round(pulses.time)
    order = np.lexsort((time, oms[pulses.dom], strings[pulses.dom]))
    pulses, is_hlc = pulses.select(order), is_hlc[order]
    dom, time = pulses.dom, time[order]
    # whole-ns times must stay distinct within a DOM
    same = np.r_[False, (dom[1:] == dom[:-1]) & (time[1:] <= time[:-1])]
    while same.any():
        time = np.where(same, np.r_[time[:1], time[:-1]] + 1.0, time)
        same = np.r_[False, (dom[1:] == dom[:-1]) & (time[1:] <= time[:-1])]
    return PulseSeries(
        strings[dom].astype(np.int16),
        oms[dom].astype(np.int16),
        time,
        pulses.charge.astype(np.float32),
        np.where(pulses.atwd, 1.0, 8.0).astype(np.float32),
        np.where(is_hlc, FLAG_LC | FLAG_ATWD | FLAG_FADC, FLAG_FADC).astype(np.uint8),
    )


def _pulse_starts(rel: FloatArray, settings: DomSettings) -> npt.NDArray[np.bool_]:
    """Which photoelectrons (times since the launch, sorted) start a new pulse: the first one at least
    the resolution (ATWD window: ``atwd_sample_ns``; fADC: ``fadc_sample_ns``) after the current
    pulse's first one, or the first after the ATWD window."""
    new = np.zeros(rel.size, dtype=bool)
    start = -np.inf
    atwd = True
    for k, t in enumerate(rel.tolist()):
        in_atwd = t < settings.atwd_ns
        resolution = settings.atwd_sample_ns if in_atwd else settings.fadc_sample_ns
        if t - start >= resolution or (atwd and not in_atwd):
            new[k] = True
            start = t
            atwd = in_atwd
    return new


def _hlc(
    launch_dom: IntArray, launch_t: FloatArray, strings: IntArray, oms: IntArray, settings: DomSettings
) -> npt.NDArray[np.bool_]:
    out = np.zeros(launch_dom.size, dtype=bool)
    if launch_dom.size == 0:
        return out
    s = strings[launch_dom]
    o = oms[launch_dom]
    for string in np.unique(s):
        on = np.flatnonzero(s == string)
        near = np.abs(o[on][:, None] - o[on][None, :])
        close = (near >= 1) & (near <= settings.lc_span)
        timely = np.abs(launch_t[on][:, None] - launch_t[on][None, :]) <= settings.lc_window_ns
        out[on] = (close & timely).any(axis=1)
    return out
