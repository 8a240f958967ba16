"""Whether a parameter name repeats in parameters a header pattern already accepted.

Both the address pattern's caller (``header_checks``) and the string read of a
registrar's echo (``simple_address``) need this verdict; this is its one home.
"""

from __future__ import annotations

import functools


def names_distinct(params: str) -> bool:
    """No parameter name in ``params`` (``;name[=value]...``) repeats, case aside.

    Only for parameters a header pattern accepted: there '"' only delimits quoted
    values, which hold no '"', and outside them ';' only starts a parameter and
    its first '=' ends the name. Cutting the quoted values out and splitting costs
    half the instructions of a regex pass collecting the names (a registrar's
    Contact has four parameters, two of them quoted).
    """
    if '"' in params:
        params = "".join(params.split('"')[::2])
    return skeleton_names_distinct(params)


# What is left of the parameters once the quoted values are cut out recurs
# from message to message (a registrar's Contact differs only inside its
# quotes: ";expires=600;received=;+sip.instance=;reg-id=1"): the verdict is
# remembered per such text, bounded so that hostile input cannot grow it.
@functools.lru_cache(maxsize=256)
def skeleton_names_distinct(params: str) -> bool:
    """``names_distinct`` of parameters without quoted values (or with each one
    replaced by a stand-in without ';')."""
    # All ASCII: lowering keeps every name's length.
    parts = params.lower().split(";")
    names: set[str] = set()
    for part in parts:
        equals = part.find("=")
        names.add(part[:equals] if equals >= 0 else part)
    # parts[0] is the empty text before the first ';', no name's.
    return len(names) == len(parts)
