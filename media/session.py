"""MediaSession: one call's audio, negotiated and driven from Trio.

aiortc and av (about half a second of imports) are loaded by the first session built, not by
importing this module: programs that register accounts without media never pay for them.

The session holds no Trio task of its own: its work happens on the bridge loop (media.peer),
and what comes back (state changes, DTMF, the first decoded frame) arrives through bounded
channels and events fed from the bridge thread. Every asyncio task the session causes,
aiortc's included, belongs to the session's TaskScope and is cancelled by ``aclose``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

import attrs
import trio

from media.bridge import Bridge, TaskScope, TrioCaller, TrioFeed, get_bridge
from media.dtmf import DtmfEvent, check_digits
from media.errors import MediaStateError
from media.options import MediaOptions
from media.probe import ProbeReading, analyse
from media.sinks import AudioSink
from media.sources import AudioSource, Silence

if TYPE_CHECKING:
    from media.peer import Peer
    from media.signalling_sdp import SignallingOnlySdp

_CLOSE_TIMEOUT_SECONDS = 5.0
_session_ids = itertools.count(1)


@attrs.frozen
class MediaStatistics:
    state: str
    frames_sent: int
    frames_received: int
    dtmf_sent: int
    dtmf_received: int
    dtmf_dropped: int
    setup_seconds: float | None
    """From the start of negotiation (create_offer / create_answer) to the first decoded frame."""
    live_tasks: int
    packets_received: int = 0
    """Audio RTP packets that reached the session; fewer frames decoded than packets received
    means the jitter buffer or the decoder lost them, fewer packets than the far end sent
    means the network (or the far end's pacing) did."""
    decode_errors: int = 0
    send_resyncs: int = 0
    """Times the outgoing track was so far behind (an overloaded loop) that it skipped ahead."""


class MediaSession:
    """The audio of one call (see media/__init__.py for the whole API).

    Build it inside a Trio run. ``source`` defaults to silence; ``sinks`` receive every decoded
    frame (with none, received audio is still decoded, counted and probed, then dropped).
    """

    def __init__(
        self,
        options: MediaOptions | None = None,
        *,
        source: AudioSource | None = None,
        sinks: Sequence[AudioSink] = (),
        bridge: Bridge | None = None,
    ) -> None:
        self.options = options or MediaOptions()
        self.name = f"media-session-{next(_session_ids)}"
        self._bridge = bridge or get_bridge()
        self._scope = TaskScope(self.name)
        self._caller = TrioCaller()
        self._dtmf_feed: TrioFeed[DtmfEvent] = TrioFeed(self.options.dtmf_buffer)
        self._state_feed: TrioFeed[str] = TrioFeed(self.options.state_buffer)
        self.dtmf_received: trio.MemoryReceiveChannel[DtmfEvent] = self._dtmf_feed.receive_channel
        """Digits the far end sent (RFC 4733), in order; bounded (see MediaOptions)."""
        self.state_changes: trio.MemoryReceiveChannel[str] = self._state_feed.receive_channel
        """Connection states as aiortc reports them: connecting, connected, failed, closed."""
        self.state = "new"
        self.local_sdp: str | None = None
        """Our last offer or answer, e.g. to answer a session-refresh re-INVITE unchanged."""
        self._state_changed = trio.Event()
        self._first_audio = trio.Event()
        self._dtmf_sent = 0
        self._closed = False
        self._sdp_only: SignallingOnlySdp | None = None
        if self.options.signalling_only:
            from media.signalling_sdp import SignallingOnlySdp

            self._sdp_only = SignallingOnlySdp(self.options)
        from media.peer import Peer, PeerCallbacks

        self._peer: Peer = Peer(
            self.options,
            source or Silence(),
            sinks,
            PeerCallbacks(
                state=lambda state: self._caller.call_soon(self._on_state, state),
                dtmf=self._dtmf_feed.put,
                first_audio=lambda _: self._caller.call_soon(self._first_audio.set),
            ),
        )

    def __repr__(self) -> str:
        return f"<MediaSession {self.name} {self.state}>"

    async def __aenter__(self) -> MediaSession:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # negotiation

    async def create_offer(self) -> str:
        """Our SDP offer (gathering is complete: candidates are in it, no trickle)."""
        self._check_open()
        if self._sdp_only is not None:
            self.local_sdp = self._sdp_only.create_offer()
        else:
            self.local_sdp = await self._bridge.run(self._peer.create_offer, scope=self._scope)
        return self.local_sdp

    async def accept_answer(self, sdp: str) -> None:
        """Apply the far end's answer; raises MediaNegotiationError when it cannot be used."""
        self._check_open()
        if self._sdp_only is not None:
            self._sdp_only.accept_answer(sdp)
            return
        await self._bridge.run(self._peer.accept_answer, sdp, scope=self._scope)

    async def create_answer(self, offer_sdp: str) -> str:
        """Our answer to the far end's offer; MediaNegotiationError (answer 488) when the offer
        cannot be negotiated."""
        self._check_open()
        if self._sdp_only is not None:
            self.local_sdp = self._sdp_only.create_answer(offer_sdp)
        else:
            self.local_sdp = await self._bridge.run(
                self._peer.create_answer, offer_sdp, scope=self._scope
            )
        return self.local_sdp

    async def wait_connected(self) -> None:
        """Return once ICE and DTLS are up; MediaStateError if the connection failed/closed.

        A signalling-only session has no connection: this returns at once."""
        if self._sdp_only is not None:
            self._check_open()
            return
        while self.state != "connected":
            if self.state in ("failed", "closed"):
                raise MediaStateError(f"the media connection is {self.state}")
            await self._state_changed.wait()

    async def wait_audio(self) -> None:
        """Return once the first frame of received audio has been decoded."""
        await self._first_audio.wait()

    # media control

    def set_muted(self, muted: bool) -> None:
        """Send silence instead of the source (or the source again); no renegotiation."""
        self._check_open()
        self._bridge.call_soon(self._peer.set_muted, bool(muted))

    async def set_source(self, source: AudioSource) -> None:
        """Send from another source from the next frame on; the previous one is closed."""
        self._check_open()

        async def replace() -> None:
            self._peer.replace_source(source)

        await self._bridge.run(replace, scope=self._scope)

    async def send_dtmf(self, digits: str, duration_ms: int | None = None) -> None:
        """Send digits as RFC 4733 events and return once the last one is out.

        ValueError (nothing sent) for a digit outside 0-9 * # A-D; DtmfNotNegotiatedError when
        the far end did not accept telephone-event (use SIP INFO instead).
        """
        digits = check_digits(digits)
        duration = self.options.dtmf_duration_ms if duration_ms is None else duration_ms
        self._check_open()
        done = trio.Event()
        caller = self._caller

        async def enqueue() -> None:
            self._peer.send_dtmf(digits, duration, lambda: caller.call_soon(done.set))

        await self._bridge.run(enqueue, scope=self._scope)
        await done.wait()
        if self._closed:
            raise MediaStateError("the media session closed before the digits were sent")
        self._dtmf_sent += len(digits)

    # observation

    def probe(self) -> ProbeReading:
        """Level and dominant frequency of the last ``probe_window_ms`` of received audio.

        Costs a few milliseconds of CPU: for periodic reports and tests, not per frame.
        """
        chunks, rate = self._peer.recent_audio()
        return analyse(chunks, rate)

    def statistics(self) -> MediaStatistics:
        peer = self._peer
        setup = None
        if peer.first_audio_at is not None and peer.started_at is not None:
            setup = peer.first_audio_at - peer.started_at
        return MediaStatistics(
            state=self.state,
            frames_sent=peer.track.frames_sent,
            frames_received=peer.frames_received,
            dtmf_sent=self._dtmf_sent,
            dtmf_received=self._dtmf_feed.delivered,
            dtmf_dropped=self._dtmf_feed.dropped,
            setup_seconds=setup,
            live_tasks=self._scope.live_tasks(),
            packets_received=peer.tap.audio_packets_received if peer.tap else 0,
            decode_errors=peer.decoding.decode_errors if peer.decoding else 0,
            send_resyncs=peer.track.resyncs,
        )

    @property
    def started_at(self) -> float | None:
        """Start of negotiation, on the bridge loop's clock (comparable across sessions)."""
        return self._peer.started_at

    @property
    def first_audio_at(self) -> float | None:
        """When the first received frame was decoded, on the bridge loop's clock."""
        return self._peer.first_audio_at

    # shutdown

    async def aclose(self) -> None:
        """Close the peer connection, source and sinks, and cancel every task the session
        left on the bridge loop. Idempotent; safe to call from a cancelled scope."""
        if self._closed:
            return
        self._closed = True
        if self._sdp_only is not None:
            self._peer.track.source.close()
            for sink in self._peer.sinks:
                sink.close()
        else:
            await self._close_peer()
        self._dtmf_feed.close()
        self._on_state("closed")
        self._state_feed.close()

    async def _close_peer(self) -> None:
        with trio.CancelScope(shield=True):
            with trio.move_on_after(_CLOSE_TIMEOUT_SECONDS):
                pending = await self._bridge.run(self._peer.close, scope=self._scope)
                for callback in pending:
                    callback()
            with trio.move_on_after(_CLOSE_TIMEOUT_SECONDS):
                await self._bridge.run(self._scope.aclose)

    def _check_open(self) -> None:
        if self._closed:
            raise MediaStateError("the media session is closed")

    def _on_state(self, state: str) -> None:
        if state == self.state:
            return
        self.state = state
        self._state_feed.put(state)
        self._state_changed.set()
        self._state_changed = trio.Event()
