// NRI, the Node Resource Interface (github.com/containerd/nri): the runtime side that plugins
// connect to over a unix socket (ttrpc over NRI's connection multiplexer). See docs/cri.md.
export {
  Nri,
  DEFAULT_NRI_SOCKET,
  DEFAULT_REGISTRATION_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type NriOptions,
  type NriRuntime,
} from './adaptation.js';
export { NRI_VERSION } from './plugin.js';
export * from './types.js';
// The wire pieces, for plugins written in tests (test/fixtures/nri-plugin.ts).
export { Mux, PLUGIN_SERVICE_CONN, RUNTIME_SERVICE_CONN } from './mux.js';
export { TtrpcChannel, TtrpcError } from './ttrpc.js';
export { nriCodec, PLUGIN_SERVICE, RUNTIME_SERVICE } from './proto.js';
