"""Electron's camelCase names as aliases of websession's snake_case ones, from one mechanism.

``camel_case("set_ssl_config") == "setSSLConfig"``; ``snake_case("redirectURL") == "redirect_url"``.
Classes get their aliases by inheriting :class:`CamelAliases`; nothing is written twice.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Words Electron spells in capitals inside a camelCase name (getURL, setSSLConfig, getETag...).
_UPPER_WORDS = {
    "url": "URL",
    "ssl": "SSL",
    "ntlm": "NTLM",
    "etag": "ETag",
    "uuid": "UUID",
    "guid": "GUID",
    "pac": "PAC",
    "usb": "USB",
}
# Names whose Electron spelling no rule gives.
_EXCEPTIONS = {
    "url_chain": "urlChain",
    "import_": "import",
    "get_url_chain": "getURLChain",
    "secure_dns_policy": "secureDnsPolicy",
    "pac_script": "pacScript",
    "pac_url": "pacUrl",
}


@lru_cache(maxsize=4096)
def camel_case(name: str) -> str:
    """Return Electron's camelCase spelling of a snake_case name."""
    if name in _EXCEPTIONS:
        return _EXCEPTIONS[name]
    head, *rest = name.split("_")
    return head + "".join(_UPPER_WORDS.get(w, w[:1].upper() + w[1:]) for w in rest)


_CAMEL_SPLIT = re.compile(r"ETag|[A-Z]+(?=[A-Z][a-z0-9]|$)|[A-Z]?[a-z0-9]+|[A-Z]+")


@lru_cache(maxsize=4096)
def snake_case(name: str) -> str:
    """Return the snake_case spelling of a camelCase (or already snake_case) name."""
    if "_" in name or name.islower():
        return name
    return "_".join(part.lower() for part in _CAMEL_SPLIT.findall(name))


def _public(name: str) -> bool:
    return not name.startswith("_") and "_" in name.strip("_")


class CamelAliases:
    """Give every public snake_case attribute of a subclass its camelCase alias."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in list(vars(cls).items()):
            if _public(name):
                alias = camel_case(name.rstrip("_") if name.endswith("_") else name)
                if alias != name and alias not in vars(cls):
                    setattr(cls, alias, value)


def add_aliases(obj_type: type) -> type:
    """Add camelCase aliases to a class that cannot inherit :class:`CamelAliases`."""
    for name, value in list(vars(obj_type).items()):
        if _public(name):
            alias = camel_case(name)
            if alias not in vars(obj_type):
                setattr(obj_type, alias, value)
    return obj_type
