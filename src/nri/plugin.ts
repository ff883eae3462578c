// One connected NRI plugin: the multiplexed trunk, a ttrpc client of its Plugin service
// (connection 1) and a ttrpc server of our Runtime service for it (connection 2). It registers
// (RegisterPlugin, within the registration timeout), is configured (Configure: which events it
// wants), and is then called per event within the request timeout. A plugin whose connection
// closes, or that misses a deadline, is closed and dropped by the adaptation (adaptation.ts).
import type { Socket } from 'node:net';
import { createLogger, failedPrecondition, unavailable } from '../common/index.js';
import { Mux, PLUGIN_SERVICE_CONN, RUNTIME_SERVICE_CONN } from './mux.js';
import { nriCodec, PLUGIN_SERVICE, RUNTIME_SERVICE } from './proto.js';
import { CODE, TtrpcChannel, TtrpcError } from './ttrpc.js';
import { VALID_EVENTS, type NriContainerUpdate } from './types.js';

const log = createLogger({ component: 'nri.plugin' });

export interface PluginHost {
  registrationTimeoutMs: number;
  requestTimeoutMs: number;
  runtimeName: string;
  runtimeVersion: string;
  /** A plugin's unsolicited UpdateContainers: returns the updates that failed. */
  updateContainers(updates: NriContainerUpdate[]): Promise<NriContainerUpdate[]>;
}

/** NRI's CheckPluginIndex: exactly two digits. */
const INDEX_RE = /^[0-9]{2}$/;
/** The NRI version whose protocol this runtime speaks (the ConfigureRequest's NRI_version). */
export const NRI_VERSION = 'v0.12.2';

export class Plugin {
  name = '';
  idx = '';
  events = 0;
  closed = false;
  private readonly mux: Mux;
  private readonly client: TtrpcChannel;
  private readonly server: TtrpcChannel;
  private readonly closeWaiters: (() => void)[] = [];
  private registered?: (e?: Error) => void;

  constructor(
    private readonly sock: Socket,
    private readonly host: PluginHost,
  ) {
    this.mux = new Mux(sock, (e) => this.close(`protocol error: ${e.message}`));
    this.client = new TtrpcChannel(this.mux.open(PLUGIN_SERVICE_CONN, (b) => this.client.receive(b)));
    this.server = new TtrpcChannel(
      this.mux.open(RUNTIME_SERVICE_CONN, (b) => this.server.receive(b)),
      (service, method, payload) => this.serve(service, method, payload),
    );
    sock.on('close', () => this.close('connection closed'));
    sock.on('error', (e) => this.close(`connection error: ${e.message}`));
  }

  /** "idx-name", as NRI names plugins in its logs. */
  get id(): string {
    return `${this.idx || '??'}-${this.name || 'plugin'}`;
  }

  /** Waits for RegisterPlugin, then configures the plugin. Rejects (and closes it) on failure. */
  async start(): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(unavailable(`no RegisterPlugin within ${this.host.registrationTimeoutMs} ms`)),
          this.host.registrationTimeoutMs,
        );
        this.registered = (e) => {
          clearTimeout(t);
          if (e) reject(e);
          else resolve();
        };
        this.closeWaiters.push(() => this.registered?.(unavailable('connection closed before registration')));
      });
      const rpl = await this.call<{ events?: number }>('Configure', 'ConfigureRequest', 'ConfigureResponse', {
        config: '',
        runtimeName: this.host.runtimeName,
        runtimeVersion: this.host.runtimeVersion,
        registrationTimeout: this.host.registrationTimeoutMs,
        requestTimeout: this.host.requestTimeoutMs,
        NRIVersion: NRI_VERSION,
      });
      const events = rpl.events ?? 0;
      if (events & ~VALID_EVENTS) throw failedPrecondition(`invalid plugin events 0x${events.toString(16)}`);
      this.events = events || VALID_EVENTS;
    } catch (e) {
      this.close(`start failed: ${(e as Error).message}`);
      throw e;
    }
  }

  subscribed(event: number): boolean {
    return (this.events & (1 << (event - 1))) !== 0;
  }

  /** A call of the plugin's Plugin service within the request timeout. */
  async call<Res>(method: string, reqType: string, resType: string, req: object): Promise<Res> {
    const payload = nriCodec<object>(reqType).encode(req);
    const out = await this.client.call(PLUGIN_SERVICE, method, payload, this.host.requestTimeoutMs);
    return nriCodec<Res>(resType).decode(out);
  }

  private async serve(service: string, method: string, payload: Buffer): Promise<Buffer> {
    if (service !== RUNTIME_SERVICE) throw new TtrpcError(CODE.UNIMPLEMENTED, `service ${service} is not served`);
    if (method === 'RegisterPlugin') {
      const req = nriCodec<{ pluginName?: string; pluginIdx?: string; NRIVersion?: string }>(
        'RegisterPluginRequest',
      ).decode(payload);
      const bad = !req.pluginName
        ? 'invalid plugin name: empty'
        : !INDEX_RE.test(req.pluginIdx ?? '')
          ? `invalid plugin index ${JSON.stringify(req.pluginIdx ?? '')}: must be two digits`
          : undefined;
      if (bad) {
        // the refusal is answered first, then the connection is dropped (after the reply's write)
        setImmediate(() => this.registered?.(failedPrecondition(bad)));
        throw new TtrpcError(CODE.INVALID_ARGUMENT, bad);
      }
      this.name = req.pluginName!;
      this.idx = req.pluginIdx!;
      log.info('plugin registered', { plugin: this.id, nriVersion: req.NRIVersion || 'unknown' });
      this.registered?.();
      return nriCodec('Empty').encode({});
    }
    if (method === 'UpdateContainers') {
      const req = nriCodec<{ update?: NriContainerUpdate[] }>('UpdateContainersRequest').decode(payload);
      const failed = await this.host.updateContainers(req.update ?? []);
      return nriCodec('UpdateContainersResponse').encode({ failed });
    }
    throw new TtrpcError(CODE.UNIMPLEMENTED, `method ${method} is not served`);
  }

  /** Closes the connection (idempotent); calls in flight fail. */
  close(why = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    log.info('plugin connection closed', { plugin: this.id, why });
    this.client.close();
    this.server.close();
    this.mux.close();
    for (const w of this.closeWaiters.splice(0)) w();
  }

  /** Tells the plugin the runtime is going away (best effort), then closes. */
  async shutdown(): Promise<void> {
    // best effort: a plugin that is gone or does not answer is closed all the same
    if (!this.closed) await this.call('Shutdown', 'Empty', 'Empty', {}).catch(() => undefined);
    this.close('runtime shutting down');
  }

  /** Whether a call's failure means the plugin is gone or too slow (NRI closes it and goes on). */
  static fatal(e: unknown): boolean {
    return !(e instanceof TtrpcError) || e.code === CODE.DEADLINE_EXCEEDED || e.code === CODE.CANCELLED;
  }
}
