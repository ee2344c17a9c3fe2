"""``envgen catalog update``: refresh the PyTorch catalog from the indexes themselves.

Readers (``pytorch_index``, ``pypi_json``, ``conda_forge``) turn what the public indexes serve into
observations; ``merge`` folds them into the catalog's data; ``writer`` prints it deterministically;
``update`` wires the stages together and writes the file atomically, or not at all.
"""

from __future__ import annotations
