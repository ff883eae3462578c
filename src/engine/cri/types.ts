// The CRI message types the engine's implementation uses, and normalisers for what the generated
// "Input" types allow (enums as names or numbers, int64 as number/string/Long, absent fields).
import type { ContainerState, PodSandboxState, NamespaceMode } from '../../cri/index.js';

export type {
  ContainerConfigInput,
  PodSandboxConfigInput,
  LinuxContainerResourcesInput,
  LinuxContainerResources,
  ContainerStatus,
  PodSandboxStatus,
  ContainerStatusResponse,
  PodSandboxStatusResponse,
  Container,
  PodSandbox,
  ContainerEventResponse,
  ContainerStats,
  PodSandboxStats,
  Image,
  MountInput,
  KeyValueInput,
} from '../../cri/index.js';

export type ContainerStateLabel = ContainerState;
export type PodSandboxStateLabel = PodSandboxState;
export type NamespaceModeLabel = NamespaceMode;

const NS: NamespaceMode[] = ['POD', 'CONTAINER', 'NODE', 'TARGET'];
/** NamespaceMode from a name or number (proto3 default: POD). */
export function nsMode(v: unknown): NamespaceMode {
  if (typeof v === 'number') return NS[v] ?? 'POD';
  if (typeof v === 'string' && (NS as string[]).includes(v)) return v as NamespaceMode;
  return 'POD';
}

const CSTATES: ContainerState[] = ['CONTAINER_CREATED', 'CONTAINER_RUNNING', 'CONTAINER_EXITED', 'CONTAINER_UNKNOWN'];
export function containerStateOf(v: unknown): ContainerState | undefined {
  if (typeof v === 'number') return CSTATES[v];
  if (typeof v === 'string' && (CSTATES as string[]).includes(v)) return v as ContainerState;
  return undefined;
}
const PSTATES: PodSandboxState[] = ['SANDBOX_READY', 'SANDBOX_NOTREADY'];
export function sandboxStateOf(v: unknown): PodSandboxState | undefined {
  if (typeof v === 'number') return PSTATES[v];
  if (typeof v === 'string' && (PSTATES as string[]).includes(v)) return v as PodSandboxState;
  return undefined;
}

/** int64 fields as the loader may hand them (number, decimal string, Long-like object). */
export function int64(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  if (v && typeof v === 'object' && 'toNumber' in v && typeof (v as { toNumber: unknown }).toNumber === 'function')
    return (v as { toNumber(): number }).toNumber();
  return 0;
}

/** Nanoseconds since the epoch, as CRI timestamps are. */
export function nowNs(): number {
  return Date.now() * 1e6;
}

/** A label selector matches when every key/value is present. */
export function matchesLabels(labels: Record<string, string> | undefined, sel: Record<string, string> | undefined) {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel)) if ((labels ?? {})[k] !== v) return false;
  return true;
}
