// A JsSIP Socket (https://jssip.net/documentation/3.13.x/api/socket/) on top of the `ws`
// package: Node 20 has no global WebSocket, and JsSIP.WebSocketInterface expects a browser one.
import WebSocket from 'ws';

const ignore = () => {};

export class NodeWebSocketSocket {
  constructor(url) {
    const parsed = new URL(url);
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new TypeError(`not a WebSocket URL: ${url}`);
    }
    this._url = url;
    this._via_transport = parsed.protocol === 'wss:' ? 'WSS' : 'WS';
    this._sip_uri = `sip:${parsed.host};transport=ws`;
    this._ws = null;
    // JsSIP's Transport assigns these before calling connect().
    this.onconnect = ignore;
    this.ondisconnect = ignore;
    this.ondata = ignore;
  }

  get url() {
    return this._url;
  }

  get sip_uri() {
    return this._sip_uri;
  }

  get via_transport() {
    return this._via_transport;
  }

  set via_transport(value) {
    this._via_transport = value.toUpperCase();
  }

  connect() {
    if (this.isConnected() || this.isConnecting()) {
      return;
    }
    if (this._ws) {
      this.disconnect();
    }
    // Compression off: RFC 7118 peers rarely offer it and it costs memory per connection.
    const ws = new WebSocket(this._url, 'sip', { perMessageDeflate: false });
    this._ws = ws;
    ws.on('open', () => this.onconnect());
    // ws emits 'close' after a failed handshake or a refused connection too, so one
    // handler covers both, as a browser WebSocket does.
    ws.on('close', (code, reason) => {
      this._ws = null;
      this.ondisconnect(code !== 1000, code, reason.toString());
    });
    ws.on('message', (data, isBinary) => this.ondata(isBinary ? data : data.toString()));
    ws.on('error', ignore);
  }

  disconnect() {
    const ws = this._ws;
    if (!ws) {
      return;
    }
    this._ws = null;
    ws.removeAllListeners();
    // close() during the handshake aborts it by emitting 'error'; an unhandled one would throw.
    ws.on('error', ignore);
    ws.close();
  }

  send(message) {
    if (!this.isConnected()) {
      return false;
    }
    this._ws.send(message);
    return true;
  }

  isConnected() {
    return this._ws !== null && this._ws.readyState === WebSocket.OPEN;
  }

  isConnecting() {
    return this._ws !== null && this._ws.readyState === WebSocket.CONNECTING;
  }
}
