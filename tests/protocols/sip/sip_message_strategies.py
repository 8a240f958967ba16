"""Hypothesis strategies for valid SIP messages in the many spellings RFC 3261 allows.

``raw_messages()`` draws the bytes of a valid request or response: header
names in any case or compact form, whitespace (and line folding) around
separators, comma-joined or repeated list headers, quoted display names with
commas and escapes, IPv6 hosts, escaped URI users, authentication headers
with quoted commas, and a body matching Content-Length.
"""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"

tokens = st.text(TOKEN_CHARS, min_size=1, max_size=10)
words = st.text(ALNUM + "-.!%*_+`'~()<>:\\\"/[]?{}", min_size=1, max_size=12)
labels = st.text(ALNUM, min_size=1, max_size=8)


# Optional whitespace where the grammar has SWS, sometimes a folded line.
SWS = st.sampled_from(["", "", " ", "  ", "\t", "\r\n "])


@st.composite
def hosts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["name", "ipv4", "ipv6"]))
    if kind == "ipv4":
        return str(ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1))))
    if kind == "ipv6":
        return f"[{ipaddress.IPv6Address(draw(st.integers(0, 2**128 - 1)))}]"
    parts = draw(st.lists(labels, min_size=0, max_size=3))
    top = draw(st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=6))
    return ".".join([*parts, top])


@st.composite
def uris(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["sip", "sips", "SIP"]))
    user = ""
    if draw(st.booleans()):
        user = draw(st.text(ALNUM + "-_.!~*'+", min_size=1, max_size=8))
        if draw(st.booleans()):
            user += draw(st.sampled_from(["%41", "%20", "%40", "%00", "%3a"]))
        user += "@"
    port = f":{draw(st.integers(1, 65535))}" if draw(st.booleans()) else ""
    params = "".join(
        draw(st.lists(st.sampled_from([";lr", ";ob", ";user=phone"]), max_size=2, unique=True))
    )
    params += draw(st.sampled_from(["", ";transport=tcp", ";transport=ws"]))
    return f"{scheme}:{user}{draw(hosts())}{port}{params}"


@st.composite
def quoted_names(draw: st.DrawFn) -> str:
    text = draw(
        st.text(st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_characters="\x7f"))
    )
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@st.composite
def params(draw: st.DrawFn, names: list[str]) -> str:
    out = ""
    for name in draw(st.lists(st.sampled_from(names), max_size=3, unique=True)):
        out += draw(SWS) + ";" + draw(SWS) + name
        if draw(st.booleans()):
            out += draw(SWS) + "=" + draw(SWS) + draw(tokens)
    return out


@st.composite
def addresses(draw: st.DrawFn, tag: bool = False) -> str:
    form = draw(st.sampled_from(["bare", "angle", "token", "quoted"]))
    uri = draw(uris())
    if form == "bare":
        text = uri.split(";")[0]
    elif form == "angle":
        text = f"<{uri}>"
    elif form == "token":
        name = " ".join(draw(st.lists(tokens, min_size=1, max_size=3)))
        text = f"{name}{draw(st.sampled_from(['', ' ']))}<{uri}>"
    else:
        text = f"{draw(quoted_names())}{draw(st.sampled_from(['', ' ']))}<{uri}>"
    if tag:
        text += f";tag={draw(tokens)}"
    return text + draw(params(["expires", "q", "x-foo", "reg-id"]))


@st.composite
def vias(draw: st.DrawFn) -> str:
    transport = draw(st.sampled_from(["UDP", "TCP", "TLS", "WS", "WSS", "udp", "SCTP"]))
    slash = draw(SWS)
    host = draw(hosts())
    port = f":{draw(st.integers(1, 65535))}" if draw(st.booleans()) else ""
    text = f"SIP{slash}/{slash}2.0{slash}/{slash}{transport} {host}{port}"
    text += f"{draw(SWS)};{draw(SWS)}branch={draw(SWS)}z9hG4bK{draw(tokens)}"
    if draw(st.booleans()):
        text += ";rport" + (f"={draw(st.integers(1, 65535))}" if draw(st.booleans()) else "")
    if draw(st.booleans()):
        received = draw(st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32, 2**128 - 1)))
        text += f";received={ipaddress.ip_address(received)}"
    return text


@st.composite
def challenges(draw: st.DrawFn) -> str:
    realm = draw(st.text(ALNUM + " .,@", min_size=1, max_size=12)).replace('"', "")
    parts = [f'realm="{realm}"', f'nonce="{draw(tokens)}"']
    parts.append(draw(st.sampled_from(['qop="auth"', 'qop="auth,auth-int"', "qop=auth"])))
    if draw(st.booleans()):
        parts.append(draw(st.sampled_from(["algorithm=MD5", "algorithm=SHA-256", "stale=true"])))
    comma = draw(SWS) + "," + draw(SWS)
    return "Digest " + comma.join(draw(st.permutations(parts)))


def name_variants(name: str, compact: str | None) -> st.SearchStrategy[str]:
    options = [name, name.lower(), name.upper()]
    if compact:
        options += [compact, compact.upper()]
    return st.sampled_from(options)


@st.composite
def header_line(draw: st.DrawFn, name: str, value: str, compact: str | None = None) -> str:
    spelled = draw(name_variants(name, compact))
    before = draw(st.sampled_from(["", " ", "\t"]))
    after = draw(st.sampled_from(["", " ", "  "]))
    return f"{spelled}{before}:{after}{value}"


@st.composite
def list_lines(
    draw: st.DrawFn, name: str, values: list[str], compact: str | None = None
) -> list[str]:
    """Values of a list header, some joined by commas, the rest repeated."""
    lines: list[str] = []
    index = 0
    while index < len(values):
        take = draw(st.integers(1, len(values) - index))
        comma = draw(SWS) + "," + draw(SWS)
        lines.append(draw(header_line(name, comma.join(values[index : index + take]), compact)))
        index += take
    return lines


METHODS = ["INVITE", "REGISTER", "OPTIONS", "NOTIFY", "BYE", "SUBSCRIBE", "REFER", "INFO"]


@st.composite
def raw_messages(draw: st.DrawFn) -> bytes:
    is_request = draw(st.booleans())
    method = draw(st.one_of(st.sampled_from(METHODS), tokens.map(str.upper)))
    if is_request:
        start = f"{method} {draw(uris())} SIP/2.0"
    else:
        phrase = draw(
            st.text(
                st.characters(min_codepoint=32, max_codepoint=0x4FF, exclude_characters="\x7f"),
                max_size=20,
            )
        )
        start = f"SIP/2.0 {draw(st.integers(100, 699))} {phrase}"
    lines: list[str] = []
    lines += draw(list_lines("Via", draw(st.lists(vias(), min_size=1, max_size=3)), "v"))
    lines.append(draw(header_line("From", draw(addresses(tag=True)), "f")))
    lines.append(draw(header_line("To", draw(addresses(tag=draw(st.booleans()))), "t")))
    call_id = draw(words) + (f"@{draw(words)}" if draw(st.booleans()) else "")
    lines.append(draw(header_line("Call-ID", call_id, "i")))
    gap = draw(st.sampled_from([" ", "  ", "\t"]))
    cseq = f"{draw(st.integers(0, 2**31))}{gap}{method}"
    lines.append(draw(header_line("CSeq", cseq)))
    if draw(st.booleans()):
        lines.append(draw(header_line("Max-Forwards", str(draw(st.integers(0, 255))))))
    if draw(st.booleans()):
        contacts = draw(st.lists(addresses(), min_size=1, max_size=3))
        lines += draw(list_lines("Contact", contacts, "m"))
    for name in ("Route", "Record-Route"):
        if draw(st.booleans()):
            routes = [f"<{u}>" for u in draw(st.lists(uris(), min_size=1, max_size=3))]
            lines += draw(list_lines(name, routes))
    if draw(st.booleans()):
        lines.append(draw(header_line("Expires", str(draw(st.integers(0, 2**32 - 1))))))
    if draw(st.booleans()):
        event = draw(st.sampled_from(["message-summary", "registration-overwrite", "refer"]))
        lines.append(draw(header_line("Event", event + draw(params(["id"]))), "o"))
        state = draw(st.sampled_from(["active", "pending", "terminated"]))
        lines.append(draw(header_line("Subscription-State", f"{state};expires=3600")))
    if draw(st.booleans()):
        lines.append(draw(header_line("Refer-To", f"<{draw(uris())}>", "r")))
    if draw(st.booleans()):
        for _ in range(draw(st.integers(1, 2))):
            name = draw(st.sampled_from(["WWW-Authenticate", "Proxy-Authenticate"]))
            lines.append(draw(header_line(name, draw(challenges()))))
    if draw(st.booleans()):
        retry = f"{draw(st.integers(0, 10**6))}" + draw(st.sampled_from(["", " (busy)"]))
        lines.append(draw(header_line("Retry-After", retry)))
    for _ in range(draw(st.integers(0, 2))):
        value = draw(
            st.text(
                st.characters(min_codepoint=33, max_codepoint=0x4FF, exclude_characters="\x7f"),
                max_size=20,
            )
        )
        lines.append(draw(header_line("X-" + draw(tokens), value)))
    body = draw(st.binary(max_size=64))
    if body:
        lines.append(draw(header_line("Content-Type", "application/sdp", "c")))
    if body or draw(st.booleans()):
        lines.append(draw(header_line("Content-Length", str(len(body)), "l")))
    ordered = draw(st.permutations(lines))
    text = start + "\r\n" + "".join(line + "\r\n" for line in ordered) + "\r\n"
    return text.encode("utf-8") + body
