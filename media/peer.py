"""The asyncio side of one media session: an RTCPeerConnection and what hangs off it.

Everything here runs on the bridge loop (media.bridge), called by the Trio-side
media.session.MediaSession through ``bridge.run``; results and events travel back through
the callbacks the session passes in. One audio m-line, DTLS-SRTP, ICE without servers unless
configured.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence

import attrs
from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.exceptions import InternalError, InvalidAccessError, OperationError

from media import sdp_events
from media.bridge import aio_time
from media.decoded import ToMediaRate
from media.dtmf import DtmfEvent, EventSender
from media.errors import DtmfNotNegotiatedError, MediaNegotiationError, MediaStateError
from media.options import MediaOptions
from media.pcm import SAMPLE_RATE, PcmFrame
from media.remote_sdp import check_remote
from media.rtp_hooks import (
    InlineDecoding,
    RtpTap,
    decode_inline,
    gather_on,
    install_fast_audio_level,
    install_fast_ntp_time,
    send_clock_rate,
    send_codec_name,
    send_prepacked,
)
from media.sinks import AudioSink
from media.sources import AudioSource
from media.track import OutgoingAudioTrack

logger = logging.getLogger(__name__)
install_fast_audio_level()
install_fast_ntp_time()

_AIORTC_ERRORS = (ValueError, InternalError, InvalidAccessError, OperationError)


@attrs.define
class PeerCallbacks:
    """How the peer reports to its Trio-side session (each is called on the bridge thread and
    must only hand the value over)."""

    state: Callable[[str], object]
    dtmf: Callable[[DtmfEvent], object]
    first_audio: Callable[[float], object]


class Peer:
    def __init__(
        self,
        options: MediaOptions,
        source: AudioSource,
        sinks: Sequence[AudioSink],
        callbacks: PeerCallbacks,
    ) -> None:
        self.options = options
        self.callbacks = callbacks
        self.sinks = list(sinks)
        self.track = OutgoingAudioTrack(source)
        self.pc: RTCPeerConnection | None = None
        self.transceiver: RTCRtpTransceiver | None = None
        self.tap: RtpTap | None = None
        self.decoding: InlineDecoding | None = None
        self.started_at: float | None = None
        self.first_audio_at: float | None = None
        self.frames_received = 0
        self.recent: deque[tuple[bytes, int]] = deque(maxlen=max(1, options.probe_window_ms // 20))
        """The last probe window of decoded PCM, with its sample rate, as decoded."""
        self._local_events: dict[int, int] = {}
        self._to_media_rate = ToMediaRate()
        self._closed = False

    # negotiation

    def _open(self) -> RTCRtpTransceiver:
        if self._closed:
            raise MediaStateError("the media session is closed")
        if self.pc is not None:
            raise MediaStateError("this media session already negotiated (no re-offers yet)")
        self.started_at = aio_time()
        servers = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in self.options.ice_servers
        ]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.pc = pc
        pc.on("connectionstatechange", lambda: self.callbacks.state(pc.connectionState))
        sending = self.options.direction in ("sendrecv", "sendonly")
        transceiver = pc.addTransceiver(
            self.track if sending else "audio", direction=self.options.direction
        )
        capabilities = RTCRtpSender.getCapabilities("audio")
        preferred = [
            codec
            for name in self.options.codecs
            for codec in capabilities.codecs
            if codec.name.lower() == name.lower()
        ]
        transceiver.setCodecPreferences(preferred)
        self.decoding = decode_inline(transceiver, self._received)
        self.transceiver = transceiver
        self.tap = RtpTap(transceiver, self.callbacks.dtmf)
        return transceiver

    async def create_offer(self) -> str:
        transceiver = self._open()
        assert self.pc is not None
        if self.options.host_addresses is not None:
            await gather_on(transceiver, self.options.host_addresses)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self._finish_local(self.pc.localDescription.sdp, dict(sdp_events.OFFERED))

    async def accept_answer(self, answer: str) -> None:
        pc = self.pc
        if pc is None or pc.signalingState != "have-local-offer":
            raise MediaStateError("accept_answer needs an offer of ours waiting for its answer")
        remote = check_remote(answer)
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        except _AIORTC_ERRORS as exc:
            raise MediaNegotiationError(f"answer not acceptable: {exc}") from exc
        self._negotiated(sdp_events.telephone_events(remote))

    async def create_answer(self, offer: str) -> str:
        remote = check_remote(offer)
        transceiver = self._open()
        assert self.pc is not None
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        except _AIORTC_ERRORS as exc:
            raise MediaNegotiationError(f"offer not acceptable: {exc}") from exc
        if self.options.host_addresses is not None:
            await gather_on(transceiver, self.options.host_addresses)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        remote_events = sdp_events.telephone_events(remote)
        local = self._finish_local(self.pc.localDescription.sdp, remote_events)
        self._negotiated(remote_events)
        return local

    def _finish_local(self, local: str, events: dict[int, int]) -> str:
        if self.options.telephone_events and events:
            local = sdp_events.add_telephone_events(local, events)
        self._local_events = sdp_events.telephone_events(sdp_events.parse(local))
        return local

    def _negotiated(self, remote_events: dict[int, int]) -> None:
        # Before the connection is up, so before the sender asks the track for a frame.
        if self.transceiver is not None:
            codec = send_codec_name(self.transceiver)
            encoding = codec is not None and self.track.encode_as(
                codec, opus_complexity=self.options.opus_complexity
            )
            if encoding:
                send_prepacked(self.transceiver)
        self._configure_events(remote_events)

    def _configure_events(self, remote_events: dict[int, int]) -> None:
        tap, transceiver = self.tap, self.transceiver
        if tap is None or transceiver is None or not self.options.telephone_events:
            return
        tap.receive_clocks = {**remote_events, **self._local_events}
        clock = send_clock_rate(transceiver)
        for pt, rate in remote_events.items():
            if rate == clock and pt in self._local_events:
                tap.send_payload_type = pt
                tap.sender = EventSender(rate, gap_ms=self.options.dtmf_gap_ms)
                break

    # media

    def set_muted(self, muted: bool) -> None:
        self.track.muted = muted

    def replace_source(self, source: AudioSource) -> None:
        self.track.replace_source(source).close()

    def send_dtmf(self, digits: str, duration_ms: int, on_done: Callable[[], object]) -> None:
        tap = self.tap
        if tap is None or tap.sender is None or tap.send_payload_type is None:
            raise DtmfNotNegotiatedError("telephone-event was not negotiated for this audio")
        if self.options.direction not in ("sendrecv", "sendonly"):
            raise MediaStateError(
                "RFC 4733 events ride on outgoing audio, and this session sends none"
            )
        tap.sender.enqueue(digits, duration_ms, on_done)

    def _received(self, pcm: bytes, rate: int) -> None:
        """Each decoded frame, on the loop thread, straight from the receiver (rtp_hooks)."""
        self.frames_received += 1
        if self.first_audio_at is None:
            self.first_audio_at = aio_time()
            self.callbacks.first_audio(self.first_audio_at)
        self.recent.append((pcm, rate))
        if not self.sinks:
            return
        pcm = self._to_media_rate.convert(pcm, rate)
        if not pcm:
            return
        pcm_frame = PcmFrame(pcm=pcm, sample_rate=SAMPLE_RATE, received_at=aio_time())
        for sink in list(self.sinks):
            try:
                sink.write(pcm_frame)
            except Exception:
                # A broken sink (disk full) loses its audio, not the call.
                logger.exception("media sink %r failed; detached", sink)
                self.sinks.remove(sink)

    def recent_audio(self) -> tuple[list[bytes], int]:
        """The last probe window of received PCM and its sample rate (any thread)."""
        for _ in range(3):
            try:
                window = list(self.recent)
                break
            except RuntimeError:
                # The bridge thread appended while we copied; copy again.
                continue
        else:
            window = []
        if not window:
            return [], SAMPLE_RATE
        rate = window[-1][1]
        return [pcm for pcm, chunk_rate in window if chunk_rate == rate], rate

    # shutdown

    async def close(self) -> list[Callable[[], object]]:
        """Close the peer connection, the source and the sinks; returns the completion
        callbacks of DTMF that will never be sent."""
        if self._closed:
            return []
        self._closed = True
        pending: list[Callable[[], object]] = []
        if self.tap is not None and self.tap.sender is not None:
            pending = self.tap.sender.cancel_all()
        if self.pc is not None:
            await self.pc.close()
        self.track.stop()
        self.track.source.close()
        for sink in self.sinks:
            try:
                sink.close()
            except Exception:
                logger.exception("closing media sink %r failed", sink)
        return pending
