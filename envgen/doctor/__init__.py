"""``envgen doctor``: what this machine is, what is wrong with it, and which profile fits.

``probes`` gathers facts (each with a timeout, degrading to "unknown" with a reason),
``recommend`` turns them into a profile choice, ``report`` prints them for people or tools.
"""
