"""``envgen doctor``: what this machine is, what is wrong with it, and which profile fits.

``context`` (the injectable outside world, bounded in time) → ``probes`` / ``pythons`` (facts,
each degrading to "unknown" with a reason) → ``facts.gather`` (all at once) → ``recommend``
(a profile, using the rules in ``compat`` over ``envgen/data/drivers.yaml``) → ``report``.
"""
