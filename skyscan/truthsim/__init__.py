"""truthsim: a simulation of IceCube track events that shares none of the reconstructions' shortcuts.

Stochastic muon losses from their cross sections (:mod:`.losses`), light tracked photon by photon
through the layered ice with per-event scattering/absorption variations (:mod:`.photons`,
:mod:`.light`), the DOMs' response (:mod:`.dom`), events as realtime messages (:mod:`.event`,
:mod:`.message`), the realism observables of issue 22 (:mod:`.observables`); ``skyscan truthsim``
(:mod:`.command`) writes event sets. Independent of :mod:`skyscan.simulation`.
"""
