// The engine's event bus with Docker's event shape (`GET /events`): every service emits through it;
// subscribers get past events (since/until) from a bounded in-memory ring and live ones after.
import { matchLabels, type Filters } from './services/common/filters.js';

export type EventType = 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'plugin' | 'builder';

export interface EngineEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Legacy fields (API < 1.22 clients and docker-py still read them for containers/images).
  status?: string;
  id?: string;
  from?: string;
}

export interface EventInput {
  Type: EventType;
  Action: string;
  id: string;
  attributes?: Record<string, string>;
}

export type EventListener = (e: EngineEvent) => void;

/** Docker's `/events` filters: type, container, image, event, label, volume, network, daemon. */
export function eventMatches(e: EngineEvent, f: Filters): boolean {
  const a = e.Actor.Attributes;
  if (f.type?.length && !f.type.includes(e.Type)) return false;
  if (
    f.event?.length &&
    !f.event.some((x) => x === e.Action || e.Action.startsWith(`${x}:`) || e.Action.split(':')[0] === x)
  )
    return false;
  const idOrName = (k: string, t: EventType) =>
    !f[k]?.length || (e.Type === t && f[k].some((x) => e.Actor.ID === x || e.Actor.ID.startsWith(x) || a.name === x));
  if (f.container?.length && !idOrName('container', 'container')) return false;
  if (f.volume?.length && !idOrName('volume', 'volume')) return false;
  if (f.network?.length && !idOrName('network', 'network')) return false;
  if (
    f.image?.length &&
    !f.image.some(
      (x) => a.image === x || e.Actor.ID === x || (e.Type === 'image' && a.name === x) || a.image === `${x}:latest`,
    )
  )
    return false;
  if (f.label?.length && !matchLabels(a, f.label)) return false;
  return true;
}

export class EventBus {
  private readonly ring: EngineEvent[] = [];
  private readonly listeners = new Set<EventListener>();
  constructor(private readonly keep = 10_000) {}

  emit(input: EventInput): EngineEvent {
    const nowNs = BigInt(Date.now()) * 1_000_000n; // never ahead of the clients' wall clock (until=now)
    const e: EngineEvent = {
      Type: input.Type,
      Action: input.Action,
      Actor: { ID: input.id, Attributes: { ...(input.attributes ?? {}) } },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (input.Type === 'container' || input.Type === 'image') {
      e.status = input.Action;
      e.id = input.id;
      if (input.attributes?.image) e.from = input.attributes.image;
    }
    this.ring.push(e);
    if (this.ring.length > this.keep) this.ring.splice(0, this.ring.length - this.keep);
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        /* a listener never breaks the emitter */
      }
    }
    return e;
  }

  /** Past events with since ≤ time ≤ until (seconds, may be fractional), matching `filters`. */
  past(filters: Filters, sinceSec?: number, untilSec?: number): EngineEvent[] {
    return this.ring.filter((e) => {
      const t = e.timeNano / 1e9;
      if (sinceSec !== undefined && t < sinceSec) return false;
      if (untilSec !== undefined && t > untilSec) return false;
      return eventMatches(e, filters);
    });
  }

  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }
}

/** Docker's `since`/`until`: unix seconds (with optional fraction), RFC3339, or a Go duration
 *  relative to now (`10m`, `1h30m`). Returns unix seconds. */
export function parseEventTime(v: string | undefined, now = Date.now()): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const d = parseGoDuration(v);
  if (d !== undefined) return (now - d) / 1000;
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return t / 1000;
  return undefined;
}

/** Go duration (`1h2m3.5s`, `300ms`) in milliseconds, or undefined. */
export function parseGoDuration(v: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0,
    consumed = 0;
  for (const m of v.matchAll(re)) {
    total += Number(m[1]) * unit[m[2]];
    consumed += m[0].length;
  }
  return consumed === v.length && consumed > 0 ? total : undefined;
}
