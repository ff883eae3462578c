// The CRI streaming server: Exec/Attach/PortForward URLs served over SPDY/3.1 and WebSocket, with
// the protocols kubelet's streaming server speaks (channel.k8s.io v1–v5, portforward.k8s.io, and
// kubectl's SPDY-over-WebSocket tunnel). A low-level component: it depends on common only; a
// container runtime plugs in through StreamingRuntime.
export { StreamingServer, negotiate, type StreamingServerOptions } from './server.js';
export { SpdySession, SpdyStream, type SpdyHeaders } from './spdy.js';
export { SPDY_DICTIONARY } from './spdy-dictionary.js';
export { statusJson } from './remotecommand.js';
export type {
  StreamingRuntime,
  StreamIO,
  TerminalSize,
  ExecRequest,
  AttachRequest,
  PortForwardRequest,
} from './types.js';
