"""telephone-event in SDP: added to the SDP aiortc writes, read from the SDP it receives.

aiortc negotiates only the codecs it can encode, so telephone-event never appears in its
SDP and it ignores the entries of a remote SDP. Instead of adding the codec to aiortc's
process-wide codec table, this module edits our outgoing SDP and reads the remote one.
Payload types follow the common WebRTC choices: 110 for the 48 kHz (Opus) clock and 101 for
the 8 kHz (G.711) clock.
"""

from __future__ import annotations

from aiortc import sdp
from aiortc.rtcrtpparameters import RTCRtpCodecParameters

from media.errors import MediaNegotiationError

MIME = "audio/telephone-event"
OFFERED = {110: 48_000, 101: 8_000}  # payload type -> clock rate
EVENTS_FMTP = {"0-16": None}


def parse(text: str) -> sdp.SessionDescription:
    """Parse an SDP, raising MediaNegotiationError for anything aiortc cannot read."""
    try:
        return sdp.SessionDescription.parse(text)
    except (ValueError, IndexError, KeyError, AttributeError, StopIteration) as exc:
        raise MediaNegotiationError(f"unreadable SDP: {exc}") from exc


def telephone_events(description: sdp.SessionDescription) -> dict[int, int]:
    """Payload type -> clock rate of the telephone-events of the first audio section."""
    for media in description.media:
        if media.kind == "audio":
            return {
                codec.payloadType: codec.clockRate
                for codec in media.rtp.codecs
                if codec.mimeType.lower() == MIME and codec.payloadType is not None
            }
    return {}


def add_telephone_events(local: str, wanted: dict[int, int]) -> str:
    """Our SDP with the ``wanted`` telephone-events (pt -> clock) in its audio section.

    Only clocks of an audio codec already in the section are added: an event must share
    the timestamp space of the audio it interrupts.
    """
    description = sdp.SessionDescription.parse(local)
    for media in description.media:
        if media.kind != "audio":
            continue
        clocks = {codec.clockRate for codec in media.rtp.codecs}
        for pt, clock in sorted(wanted.items()):
            if clock in clocks and pt not in media.fmt:
                media.fmt.append(pt)
                media.rtp.codecs.append(
                    RTCRtpCodecParameters(
                        mimeType=MIME, clockRate=clock, payloadType=pt, parameters=dict(EVENTS_FMTP)
                    )
                )
        break
    return str(description)
