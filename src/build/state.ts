// A build stage's state between instructions: the image config being built, its layers, the
// snapshot holding its file system (a committed chain id), and the ARG/ENV scope.
import type { Descriptor, ImageConfig, Images, Snapshotter } from '../image/index.js';
import type { Runtime } from '../runtime/index.js';
import type { parseDockerfile, parseDockerignore } from './dockerfile/index.js';

export interface StageState {
  config: ImageConfig;
  layers: Descriptor[];
  /** The committed snapshot (chain id) of the top layer; undefined for an empty file system. */
  top?: string;
  /** ARGs declared in this stage (name → value) — not persisted in the image. */
  args: Map<string, string>;
  /** Whether any instruction ran (not cached) — later steps then cannot be cached either. */
  cacheBroken: boolean;
}

/** A network namespace attached to the engine's default bridge for one RUN step: its path, the
 *  resolv.conf contents to use, and how to give it back. */
export interface NetworkSandbox {
  netns: string;
  resolvConf?: string;
  release(): Promise<void>;
}
export type NetworkSandboxFn = (id: string) => Promise<NetworkSandbox>;

export interface BuildEnv {
  images: Images;
  sn: Snapshotter;
  runtime: Runtime;
  /** Scratch space (bundles, mount points). */
  tmpDir: string;
  contextDir: string;
  /** `default`: the engine's default bridge through `sandbox` (none without one). */
  network: 'none' | 'host' | 'default';
  sandbox?: NetworkSandboxFn;
  log: (line: string) => void;
  signal?: AbortSignal;
}

/** The environment used to expand an instruction's words: ARGs, then ENV overriding them. */
export function wordEnv(s: StageState): Map<string, string> {
  const m = new Map(s.args);
  for (const e of s.config.config?.Env ?? []) {
    const i = e.indexOf('=');
    m.set(i < 0 ? e : e.slice(0, i), i < 0 ? '' : e.slice(i + 1));
  }
  return m;
}

/** Sets `key` in the image's Env: replaced where it is (ENV PATH=… keeps PATH first), else
 *  appended, as the classic builder does. */
export function setEnv(s: StageState, key: string, value: string): void {
  const cfg = (s.config.config ??= {});
  const env = [...(cfg.Env ?? [])];
  const i = env.findIndex((e) => e.split('=')[0] === key);
  if (i >= 0) env[i] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
  cfg.Env = env;
}

export function addHistory(s: StageState, createdBy: string, emptyLayer: boolean): void {
  const created = new Date().toISOString();
  s.config.created = created;
  (s.config.history ??= []).push({ created, created_by: createdBy, ...(emptyLayer ? { empty_layer: true } : {}) });
}

/** What the steps of one build share. */
export interface StepCtx {
  df: ReturnType<typeof parseDockerfile>;
  globals: Map<string, string>;
  buildArgs: Record<string, string>;
  ignore: ReturnType<typeof parseDockerignore> | undefined;
  results: Map<string, StageState>;
  flags: { cmdSet: boolean };
  noCache: boolean;
  /** The instruction being run (the cache entry's description). */
  desc?: string;
}
