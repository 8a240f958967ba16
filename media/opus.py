"""libopus called directly (ctypes): mono 48 kHz Opus from and to media-format PCM bytes.

Through PyAV each 20 ms frame had to become an ``av.AudioFrame``, and PyAV's encoder then
pushes every frame through an audio filter graph (its resampler, kept because libopus has a
fixed frame size) even when nothing needs converting: that graph alone was ~10 % of the
bridge thread with 10 calls. Calling libopus on the PCM bytes the source produced costs one
ctypes call per frame (encode ~95 us per frame against ~130-170 us through PyAV, measured on
a 440 Hz tone; the same for decoding in reverse).

The library is the system's (Debian ``libopus0``, installed by scripts/bootstrap.sh); when it
is missing, :func:`available` is False and media.codecs falls back to PyAV's own libopus.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import weakref

from media.pcm import BYTES_PER_SAMPLE, SAMPLE_RATE

_APPLICATION_VOIP = 2048
_SET_BITRATE = 4002
_SET_COMPLEXITY = 4010
_MAX_PACKET = 1500
# 120 ms at 48 kHz: the longest frame an Opus packet may carry.
_MAX_FRAME_SAMPLES = 5760


def _load() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("opus")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.opus_encoder_create.restype = ctypes.c_void_p
    lib.opus_encoder_create.argtypes = [
        ctypes.c_int32,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
    ]
    lib.opus_encoder_ctl.restype = ctypes.c_int
    lib.opus_encoder_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int32]
    lib.opus_encode.restype = ctypes.c_int32
    lib.opus_encode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int32,
    ]
    lib.opus_encoder_destroy.restype = None
    lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decoder_create.argtypes = [
        ctypes.c_int32,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
    ]
    lib.opus_decode.restype = ctypes.c_int
    lib.opus_decode.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_int32,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_int,
    ]
    lib.opus_decoder_destroy.restype = None
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    return lib


_lib = _load()


class OpusError(ValueError):
    """libopus refused a packet or a setting (its error code is in the message)."""


def available() -> bool:
    return _lib is not None


def _library() -> ctypes.CDLL:
    if _lib is None:
        raise RuntimeError("libopus is not installed (Debian package libopus0)")
    return _lib


class OpusEncoder:
    """20 ms of mono 48 kHz s16le PCM in, one Opus packet out (VoIP mode)."""

    def __init__(self, bit_rate: int, complexity: int | None = None) -> None:
        lib = _library()
        error = ctypes.c_int()
        handle = lib.opus_encoder_create(SAMPLE_RATE, 1, _APPLICATION_VOIP, ctypes.byref(error))
        if not handle or error.value != 0:
            raise OpusError(f"opus_encoder_create failed ({error.value})")
        weakref.finalize(self, lib.opus_encoder_destroy, handle)
        self._lib, self._handle = lib, handle
        self._out = ctypes.create_string_buffer(_MAX_PACKET)
        self._ctl(_SET_BITRATE, bit_rate)
        if complexity is not None:
            self._ctl(_SET_COMPLEXITY, complexity)

    def _ctl(self, request: int, value: int) -> None:
        result = self._lib.opus_encoder_ctl(self._handle, request, value)
        if result != 0:
            raise OpusError(f"opus_encoder_ctl({request}, {value}) failed ({result})")

    def encode(self, pcm: bytes) -> bytes:
        samples = len(pcm) // BYTES_PER_SAMPLE
        size = self._lib.opus_encode(self._handle, pcm, samples, self._out, _MAX_PACKET)
        if size < 0:
            raise OpusError(f"opus_encode failed ({size})")
        return self._out.raw[:size]


class OpusDecoder:
    """Opus packets in (any channel count the far end sent), mono 48 kHz s16le PCM out."""

    def __init__(self) -> None:
        lib = _library()
        error = ctypes.c_int()
        handle = lib.opus_decoder_create(SAMPLE_RATE, 1, ctypes.byref(error))
        if not handle or error.value != 0:
            raise OpusError(f"opus_decoder_create failed ({error.value})")
        weakref.finalize(self, lib.opus_decoder_destroy, handle)
        self._lib, self._handle = lib, handle
        self._out = ctypes.create_string_buffer(_MAX_FRAME_SAMPLES * BYTES_PER_SAMPLE)

    def decode(self, payload: bytes) -> bytes:
        samples = self._lib.opus_decode(
            self._handle, payload, len(payload), self._out, _MAX_FRAME_SAMPLES, 0
        )
        if samples < 0:
            raise OpusError(f"opus_decode failed ({samples})")
        return self._out.raw[: samples * BYTES_PER_SAMPLE]
