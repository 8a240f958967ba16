"""Sans-IO RTMP client for the siprtmp gateway (handshake, chunks, AMF0, commands)."""
