"""Every place the media layer reaches into aiortc/aioice private state, in one module.

Why each hook exists:

* Loopback candidates: aioice's ``get_host_addresses`` skips 127.0.0.1 and there is no
  parameter for the addresses to gather on. ``gather_on`` does, for one connection, what
  ``Connection.gather_candidates`` does for all interfaces, on the addresses we choose; it then
  marks gathering as done so aiortc's own gathering is a no-op. Nothing global is patched, so
  sessions with and without the restriction coexist in one process.
* RFC 4733 events: aiortc has no DTMF. Events must go out on the audio SSRC, in its
  sequence-number space and timestamp clock, in place of audio packets, and the sequence
  counter lives in a local variable of ``RTCRtpSender._run_rtp``. So the session's DTLS transport
  gets its own ``_send_rtp`` (plaintext, before SRTP): it renumbers the audio SSRC's packets
  with a counter of its own and swaps in event packets. Incoming events never reach an aiortc
  receiver (its router drops unknown payload types), so ``_handle_rtp_data`` (after SRTP) is
  wrapped too: events are decoded, and later audio sequence numbers are shifted down by the
  number of event packets seen, because aiortc's audio jitter buffer stalls on a gap.
* Audio level: ``RTCRtpSender`` computes the RFC 6465 level of every outgoing frame in a
  pure-Python loop over all 960 samples, about a third of a call's CPU on the bridge thread.
  ``install_fast_audio_level`` (called once, when media.peer is imported) replaces that
  module-level function with the same formula over every 8th sample (120 samples per frame,
  slicing done in C): an estimate well within the 1 dB steps of the header extension for
  speech and tones. This and the NTP clock below are the only process-wide patches of the
  media layer.
* Decoding on the loop thread: every ``RTCRtpReceiver`` starts a decoder thread and hands it
  each encoded frame through a ``queue.Queue``; the thread hands each decoded frame back with
  ``run_coroutine_threadsafe`` (a coroutine, a future, a task and a self-pipe write per 20 ms
  frame, plus a GIL hand-off each way). A 20 ms voice frame decodes in well under 100 us, so
  ``decode_inline`` puts an ``InlineDecoding`` in place of the receiver's queue before the
  receiver starts: frames are decoded where they arrive and handed straight to the session
  (no remote-track queue, no reading task). aiortc's thread still starts, but only waits for
  the stop signal, which it then passes on to end the remote track as before.
* Encoding in the track: ``send_prepacked`` gives the sender an encoder that only packs the
  packets the track encoded (media.codecs), so aiortc neither encodes nor converts time bases.
* RTP clock: the sender reads the NTP time twice per packet through ``datetime`` arithmetic
  (``aiortc.clock.current_ntp_time``, ~3 % of the bridge thread with 20 calls);
  ``install_fast_ntp_time`` swaps in the same value computed from ``time.time()``.
"""

from __future__ import annotations

import math
import operator
import queue
import secrets
import struct
import sys
import time
from array import array
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import av
from aiortc import RTCRtpTransceiver, clock, rtp
from aiortc.codecs.base import Encoder
from av.frame import Frame
from av.packet import Packet

from media.codecs import PcmDecoder, decoder_for
from media.dtmf import DtmfEvent, EventReceiver, EventSender

_RTCP_TYPES = range(192, 224)


_LEVEL_STRIDE = 8
_MIN_DBOV = -127


def _fast_audio_level_dbov(frame: Any) -> int:
    samples = array("h")
    samples.frombytes(bytes(frame.planes[0])[: frame.samples * 2])
    if sys.byteorder == "big":
        samples.byteswap()
    subset = samples[::_LEVEL_STRIDE]
    if not subset:
        return _MIN_DBOV
    energy = sum(map(operator.mul, subset, subset)) / (len(subset) * 32767 * 32767)
    if energy <= 0:
        return _MIN_DBOV
    return round(min(0.0, max(float(_MIN_DBOV), 10 * math.log10(energy))))


def install_fast_audio_level() -> None:
    rtp.compute_audio_level_dbov = _fast_audio_level_dbov


_NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01


def _fast_ntp_time() -> int:
    """64-bit NTP timestamp of now (as aiortc.clock.current_ntp_time)."""
    seconds, fraction = divmod(time.time() + _NTP_UNIX_OFFSET, 1.0)
    return (int(seconds) << 32) | int(fraction * 4_294_967_296)


def install_fast_ntp_time() -> None:
    clock.current_ntp_time = _fast_ntp_time


def ice_connection(transceiver: RTCRtpTransceiver) -> Any:
    """The aioice Connection under a transceiver's transport."""
    return transceiver.receiver.transport.transport.iceGatherer._connection


async def gather_on(transceiver: RTCRtpTransceiver, addresses: Sequence[str]) -> None:
    """Gather host candidates on exactly ``addresses`` (plus STUN/TURN ones if configured)."""
    connection = ice_connection(transceiver)
    if connection._local_candidates_start:
        return
    connection._local_candidates_start = True
    for component in sorted(connection._components):
        connection._local_candidates += await connection.get_component_candidates(
            component=component, addresses=list(addresses)
        )
    connection._local_candidates_end = True


class InlineDecoding:
    """Stands in for an RTCRtpReceiver's decoder queue (see module docstring)."""

    def __init__(self, on_pcm: Callable[[bytes, int], object]) -> None:
        self._on_pcm = on_pcm
        self._stop: queue.Queue[None] = queue.Queue()
        self._decoders: dict[str, PcmDecoder] = {}
        self.decode_errors = 0

    def put(self, task: tuple[Any, Any] | None) -> None:
        if task is None:
            self._stop.put(None)
            return
        codec, encoded_frame = task
        decoder = self._decoders.get(codec.mimeType)
        if decoder is None:
            decoder = self._decoders[codec.mimeType] = decoder_for(codec)
        try:
            pcm = decoder.decode(encoded_frame.data)
        except (av.FFmpegError, ValueError):
            # As aiortc's worker does: keep the decoder (its state), lose the frame.
            self.decode_errors += 1
            return
        if pcm:
            self._on_pcm(pcm, decoder.sample_rate)

    def get(self) -> None:
        """What aiortc's decoder thread blocks on: only the stop signal ever comes."""
        return self._stop.get()


def decode_inline(
    transceiver: RTCRtpTransceiver, on_pcm: Callable[[bytes, int], object]
) -> InlineDecoding:
    """Decoded PCM (s16le mono, with its sample rate) goes to ``on_pcm`` on the loop thread,
    not to the remote track."""
    receiver: Any = transceiver.receiver
    inline = InlineDecoding(on_pcm)
    receiver._RTCRtpReceiver__decoder_queue = inline
    return inline


class _PrePacked(Encoder):
    """What the sender calls for the packets an encoding track hands it: the payload as is,
    its pts already in the codec's RTP clock (aiortc's own pack converts time bases through
    Fraction arithmetic per packet)."""

    def encode(self, frame: Frame, force_keyframe: bool = False) -> tuple[list[bytes], int]:
        raise TypeError("this sender's track hands encoded packets, not frames")

    def pack(self, packet: Packet[Any]) -> tuple[list[bytes], int]:
        return [bytes(packet)], packet.pts or 0


def send_prepacked(transceiver: RTCRtpTransceiver) -> None:
    """Before the sender starts: it packs the track's packets into RTP and encodes nothing."""
    sender: Any = transceiver.sender
    sender._RTCRtpSender__encoder = _PrePacked()


def send_codec_name(transceiver: RTCRtpTransceiver) -> str | None:
    """Name of the codec the sender encodes with, once negotiated."""
    codecs = transceiver._codecs
    return codecs[0].name if codecs else None


def send_clock_rate(transceiver: RTCRtpTransceiver) -> int | None:
    """Clock rate of the codec the sender encodes with, once negotiated."""
    codecs = transceiver._codecs
    return codecs[0].clockRate if codecs else None


def _header_length(packet: bytes) -> int:
    length = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10 and len(packet) >= length + 4:
        (words,) = struct.unpack_from("!H", packet, length + 2)
        length += 4 + 4 * words
    return length


class RtpTap:
    """The telephone-event hooks on one session's DTLS transport (see module docstring)."""

    def __init__(
        self, transceiver: RTCRtpTransceiver, on_event: Callable[[DtmfEvent], object]
    ) -> None:
        self._ssrc = transceiver.sender._ssrc
        self._dtls = transceiver.sender.transport
        self._send_rtp: Callable[[bytes], Awaitable[None]] = self._dtls._send_rtp
        self._handle_rtp_data: Callable[[bytes, int], Awaitable[None]] = self._dtls._handle_rtp_data
        # Instance attributes shadow the methods for this transport only.
        self._dtls._send_rtp = self._send  # type: ignore[method-assign]
        self._dtls._handle_rtp_data = self._receive  # type: ignore[method-assign]
        self._on_event = on_event
        self._seq = secrets.randbelow(32768)
        self.sender: EventSender | None = None
        self.send_payload_type: int | None = None
        self.receive_clocks: dict[int, int] = {}
        self._receivers: dict[int, EventReceiver] = {}
        self._shift: dict[int, int] = {}
        self.packets_sent = 0
        self.packets_received = 0
        self.audio_packets_received = 0

    def remove(self) -> None:
        for name in ("_send_rtp", "_handle_rtp_data"):
            self._dtls.__dict__.pop(name, None)

    async def _send(self, data: bytes) -> None:
        if (
            len(data) < 12
            or data[1] in _RTCP_TYPES
            or int.from_bytes(data[8:12], "big") != self._ssrc
        ):
            await self._send_rtp(data)
            return
        seq = self._seq.to_bytes(2, "big")
        self._seq = (self._seq + 1) & 0xFFFF
        event = None
        payload_type = self.send_payload_type
        if self.sender is not None and payload_type is not None:
            event = self.sender.on_audio_packet(int.from_bytes(data[4:8], "big"))
        if event is None or payload_type is None:
            await self._send_rtp(data[:2] + seq + data[4:])
            return
        header = _header_length(data)
        first = bytes([data[0] & 0xDF, (0x80 if event.marker else 0) | payload_type])
        packet = first + seq + event.timestamp.to_bytes(4, "big") + data[8:header] + event.payload
        self.packets_sent += 1
        await self._send_rtp(packet)

    async def _receive(self, data: bytes, arrival_time_ms: int) -> None:
        if len(data) >= 12:
            ssrc = int.from_bytes(data[8:12], "big")
            clock = self.receive_clocks.get(data[1] & 0x7F)
            if clock is not None:
                self._shift[ssrc] = self._shift.get(ssrc, 0) + 1
                header = _header_length(data)
                end = len(data)
                if data[0] & 0x20 and end > header:
                    end -= data[-1]
                if header <= end:
                    self.packets_received += 1
                    receiver = self._receivers.setdefault(ssrc, EventReceiver())
                    timestamp = int.from_bytes(data[4:8], "big")
                    for event in receiver.feed(data[header:end], timestamp, clock):
                        self._on_event(event)
                return
            self.audio_packets_received += 1
            shift = self._shift.get(ssrc)
            if shift:
                seq = (int.from_bytes(data[2:4], "big") - shift) & 0xFFFF
                data = data[:2] + seq.to_bytes(2, "big") + data[4:]
        await self._handle_rtp_data(data, arrival_time_ms)
