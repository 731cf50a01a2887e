"""Light from a photon simulation in the layered ice, tabulated for the likelihood.

- :mod:`skyscan.photonics.optics`: ice refraction, Cherenkov yield and angle, the DOM's acceptance.
- :mod:`skyscan.photonics.ice`: the layered ice (scattering, absorption by depth and wavelength).
- :mod:`skyscan.photonics.kernels`: the numba photon-propagation kernel (the only jitted code).
- :mod:`skyscan.photonics.montecarlo`: the typed entry to it (histograms of light around a track).
- :mod:`skyscan.photonics.smoothing`: histograms to smooth tables (scipy smoothing splines).
- :mod:`skyscan.photonics.tables`: the shipped tables, their provenance and the evaluators.
- :mod:`skyscan.photonics.build`: ``skyscan tables build``.
"""
