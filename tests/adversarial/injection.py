"""The injection vectors and line separators the matrix tests run (shared with the figures)."""

from __future__ import annotations

from envgen.formats import OUTPUTS

# Every separator str.splitlines breaks on (pip reads requirement files with it), plus CRLF.
SEPARATORS = {
    "LF": "\n",
    "CR": "\r",
    "CRLF": "\r\n",
    "VT": "\v",
    "FF": "\f",
    "FS": "\x1c",
    "GS": "\x1d",
    "RS": "\x1e",
    "NEL": "\x85",
    "LS": "\u2028",
    "PS": "\u2029",
}
FORMATS = tuple(OUTPUTS)  # every output envgen renders, from its one registry
EVIL = "--trusted-host evil.example"

# vector -> (where it goes, a template of the value; {sep} is the separator)
VECTORS = {
    "pip-marker": ("pip", 'requests; python_version >= "3.8{sep}' + EVIL + '"'),
    "pip-entry": ("pip", "requests{sep}" + EVIL),
    "pip-url": ("pip", "demo @ https://files.example/demo-1.0-py3-none-any.whl{sep}" + EVIL),
    "conda-entry": ("conda", "numpy{sep}- evil"),
    "channel-name": ("channels", "conda-forge{sep}- evil"),
    "channel-url": ("channels", "https://c.example/ch{sep}" + EVIL),
    "description": ("description", "hello{sep}" + EVIL),
    "env-name": ("name", "env{sep}evil"),
    "variable-name": ("variables.key", "FOO{sep}EVIL"),
    "variable-value": ("variables.value", "v{sep}" + EVIL),
    "pytorch-version": ("pytorch", "2.4.1{sep}evil"),
    "extends": ("extends", "base{sep}" + EVIL),
    "mirror-url": ("mirror", "http://m.example/whl{sep}" + EVIL),
    "mirror-option": ("--mirror", "http://m.example/whl{sep}" + EVIL),
    "profile-file-name": ("file-name", "p{sep}--trusted-host=evil.example"),
}
