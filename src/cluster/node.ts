// One composition for every way Skiff runs on a machine: `skiff start` (engine + control plane),
// `skiff server` (control plane; k3s-style it will also run an agent), `skiff engine`, and next
// `skiff agent` (agent + engine). The engine starts first (an agent drives it), the control plane
// after; on failure what already started is closed, and close() goes in reverse order.
import type { Logger } from '../common/index.js';
import { launchEngine, type LaunchedEngine, type LaunchOptions } from './engine.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';

export interface NodeOptions {
  engine?: LaunchOptions;
  server?: ServerOptions;
  log?: Logger;
}

export interface RunningNode {
  engine?: LaunchedEngine;
  server?: RunningServer;
  close(): Promise<void>;
}

export async function startNode(o: NodeOptions): Promise<RunningNode> {
  const closers: (() => Promise<void>)[] = [];
  const node: RunningNode = {
    async close() {
      for (const c of closers.splice(0).reverse()) await c();
    },
  };
  try {
    if (o.engine) {
      node.engine = await launchEngine(o.engine);
      closers.push(() => node.engine!.close());
    }
    if (o.server) {
      node.server = await startServer({ log: o.log, ...o.server });
      closers.push(() => node.server!.close());
    }
  } catch (e) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw e;
  }
  return node;
}
