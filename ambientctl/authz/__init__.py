"""Authorization in ambient mode: what istiod sends to ztunnel and waypoints, and how each decides.

- `ztunnel`: the ztunnel `Authorization` form, istiod's translation (`translate_policy`, PeerAuthentication
  conversion) with notes and status texts per version, and parsers for config dumps / local config.
- `evaluate`: ztunnel's `assert_rbac` with a clause-by-clause trace; `PolicyIndex` = every policy translated once,
  indexed by namespace, answering "which policies apply to this workload".
- `waypoint`: which policies a waypoint enforces and its L7 (Envoy RBAC) decision for a request.
- `settings`: istiod env / mesh config that change behaviour, and the version gates.
"""
