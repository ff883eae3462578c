// Public face of the OCI runtime (and of its cgroup managers).
export { Runtime, parseSignal, features, type RuntimeOptions, type CreateOptions, type RunOptions, type ContainerState, type MonitorOptions } from './runtime.js';
export { execProcess, parseProcess, pids, psTable, pause, resume, update, list, type ExecOptions } from './ops.js';
export { StateStore, DEFAULT_ROOT, type StoredState } from './store.js';
export { defaultSpec, MASKED_PATHS, READONLY_PATHS, type DefaultSpecOptions } from './default-spec.js';
export { defaultSeccompProfile } from './seccomp-default.js';
export { CAPABILITIES, DEFAULT_CAPABILITIES, capNames } from './capabilities.js';
export { canStart, canPause, canResume, canExec, canKill, canDelete, type ContainerStatus } from './status.js';
export { runHooks, type HookPhase } from './hooks.js';
export { buildBusyboxRootfs } from './busybox-rootfs.js';
export { nativeBinary } from './native.js';
export { isAlive, waitExit as waitProcessExit } from './proc.js';
export * from './cgroups/index.js';
export * from './monitor/index.js';
