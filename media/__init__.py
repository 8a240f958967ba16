"""Media for calls: aiortc and av behind one bridge, driven from Trio.

The call layer uses this API (all of it from inside a Trio run)::

    from media.session import MediaSession
    from media.options import MediaOptions
    from media.sources import Tone, FileSource, PushSource, Silence
    from media.sinks import FileRecorder, FrameStream, DiscardSink
    from media.errors import MediaNegotiationError, DtmfNotNegotiatedError

    async with MediaSession(MediaOptions(host_addresses=["127.0.0.1"]),
                            source=Tone(440), sinks=[FileRecorder("in.wav")]) as media:
        offer = await media.create_offer()      # -> SDP string for the INVITE
        await media.accept_answer(answer_sdp)   # MediaNegotiationError -> hang up / CANCEL
        # or, for an incoming INVITE:
        # answer = await media.create_answer(offer_sdp)  # MediaNegotiationError -> 488
        await media.wait_connected()            # ICE + DTLS up (MediaStateError if failed)
        await media.wait_audio()                # first received frame decoded
        media.set_muted(True)                   # silence out, no renegotiation
        await media.send_dtmf("123#")           # RFC 4733; ValueError for a bad digit,
                                                # DtmfNotNegotiatedError -> use SIP INFO
        async for event in media.dtmf_received: # DtmfEvent(digit, duration_ms), bounded
            ...
        media.probe()                           # ProbeReading(level_dbfs, frequency, seconds)
        media.statistics()                      # frames sent/received, packets received,
                                                # decode errors, send resyncs, setup_seconds
    # leaving the block == await media.aclose(): peer connection, source and sinks closed,
    # every asyncio task the session caused (aiortc's included) cancelled.

Options (media.options.MediaOptions): ``direction`` (``inactive`` offers ``a=inactive``
through a real peer connection), ``signalling_only`` (with ``direction="inactive"``: valid
inactive SDP written and checked without any ICE/DTLS transport, ~1 ms CPU per call pair
instead of ~17 ms; for signalling-only load), ``ice_servers`` (none by default),
``host_addresses`` (restrict ICE host candidates, e.g. to loopback in tests), ``codecs``
(Opus, PCMU, PCMA), ``opus_complexity`` (libopus 0-10; None keeps the library's default),
``telephone_events``, DTMF duration (250 ms default) and gap, channel bounds.

Channels: in, a source (``PushSource`` is a bounded channel of PCM from Trio); out, sinks
(``FrameStream`` is a bounded async iterator of decoded PCM), ``dtmf_received`` and
``state_changes`` (bounded Trio memory channels; values beyond the bound are dropped and
counted, so a slow reader never slows the media). PCM everywhere is s16le mono 48 kHz
(media.pcm).

Modules: bridge (the only asyncio import: the loop thread, Trio<->asyncio calls batched per
loop pass, task scopes, the shared 20 ms tick), session (Trio face; loads aiortc and av with
the first session, not on import), peer (asyncio side of a session), options, errors, track
(paced outgoing audio, mute, encoding), sources, sinks, pcm, decoded (received PCM brought to
48 kHz for sinks), probe (level and dominant frequency), dtmf (RFC 4733 payloads and timing,
pure), sdp_events (telephone-event in SDP), remote_sdp (what a remote SDP must hold),
signalling_sdp (transport-less inactive SDP), codecs (Opus and G.711 encoded in the track,
decoders used on the loop thread), opus (libopus through ctypes), rtp_hooks (every touch of
aiortc/aioice internals, with the reasons).

A session negotiates once (no re-INVITE handling yet); it holds no Trio task, so it can be
created and closed by any task. Several sessions share the process-wide bridge.
"""
