// Public face of the OCI runtime (and of its cgroup managers).
export {
  Runtime,
  parseSignal,
  type RuntimeOptions,
  type CreateOptions,
  type RunOptions,
  type ContainerState,
  type MonitorOptions,
  type ExecOptions,
  type ExecResult,
} from './runtime.js';
export { features } from './features.js';
export { psTable } from './ops.js';
export { loadBundle, parseProcess, parseResources } from './bundle.js';
export { DEFAULT_ROOT } from './store.js';
export { defaultSpec, MASKED_PATHS, READONLY_PATHS, type DefaultSpecOptions } from './default-spec.js';
export { defaultSeccompProfile } from './seccomp-default.js';
export { runcSpec } from './runc-spec.js';
export { CAPABILITIES, DEFAULT_CAPABILITIES, capNames } from './capabilities.js';
export { canStart, canPause, canResume, canExec, canKill, canDelete, type ContainerStatus } from './status.js';
export { runHooks, type HookPhase } from './hooks.js';
export { buildBusyboxRootfs } from './busybox-rootfs.js';
export { nativeBinary } from './native.js';
export { isAlive, waitExit as waitProcessExit } from './proc.js';
export * from './cgroups/index.js';
// The monitor (skiff-native/skiff-monitor's TypeScript side); exit-file helpers load zod lazily.
export { spawnMonitor, monitorArgs, type SpawnMonitorOptions } from './monitor/spawn.js';
export {
  readCriLog,
  parseCriLine,
  parseTimeNs,
  rotatedFiles,
  type CriLogRecord,
  type ReadCriLogOptions,
  type TimeArg,
} from './monitor/cri-log.js';
export { monitorBinary, nativeDir } from './monitor/binary.js';
export {
  readExitFile,
  monitorPid,
  isMonitorAlive,
  waitExit,
  exitStatusSchema,
  attach,
  loadFrame,
  type ExitStatus,
  type AttachSession,
  type AttachOptions,
} from './monitor-lazy.js';
export { spawnerCommandRunner } from './commands.js';
