"""The change summary of a catalog update: Markdown a maintainer pastes into the pull request.

Every fact an update looked at ends in one list: changed, confirmed, kept as recorded (a source
shows something that does not confirm it), not observed (it could not be read, and why), or not
read (its source was left out). Each observed fact says how it was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# How a fact was read, as the summary tags it.
TAGS = {
    "page": ("page", "the file names on an index page"),
    "pep658": ("658", "the wheel's PEP 658 .metadata file"),
    "range": ("range", "METADATA read out of the wheel with HTTP range requests"),
    "download": ("download", "METADATA read from the whole wheel (its server refused ranges)"),
    "json": ("json", "requires_dist in PyPI's JSON API (no Linux x86_64 wheel)"),
    "repodata": ("repodata", "conda-forge's repodata.json"),
}


def tag(how: str) -> str:
    return f"[{TAGS[how][0]}]"


@dataclass
class Summary:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    conda: list[str] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    not_observed: list[str] = field(default_factory=list)
    not_read: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    read_as: set[str] = field(default_factory=set)  # keys of TAGS used above

    @property
    def has_changes(self) -> bool:
        return bool(self.added or self.changed or self.conda)

    def render(self) -> str:
        parts = []
        for title, rows in (
            ("New releases", self.added),
            ("Changed releases", self.changed),
            ("conda-forge builds", self.conda),
            ("Confirmed (the sources say what the catalog says)", self.confirmed),
            ("Kept as recorded (not confirmed by the indexes)", self.kept),
            ("Not observed (could not be read; kept as recorded)", self.not_observed),
            ("Not read (kept as recorded)", self.not_read),
            ("Notes", self.notes),
        ):
            if rows:
                parts.append(f"## {title}\n" + "\n".join(f"- {row}" for row in rows))
        if not self.has_changes:
            parts.insert(0, "The catalog already says what the indexes say: no changes.")
        if self.read_as:
            legend = "; ".join(f"[{TAGS[k][0]}] {TAGS[k][1]}" for k in TAGS if k in self.read_as)
            parts.append(f"Read as: {legend}.")
        return "\n\n".join(parts) + "\n"
