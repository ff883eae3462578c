// Public face of the container monitor (re-exported by src/runtime/index.ts): starting
// native/build/skiff-monitor, its exit file, its attach socket and the CRI log it writes.
export { spawnMonitor, monitorArgs, type SpawnMonitorOptions } from './spawn.js';
export { readExitFile, waitExit, isMonitorAlive, monitorPid, ExitStatusSchema, type ExitStatus } from './exit-file.js';
export { attach, frame, type AttachSession, type AttachOptions } from './attach.js';
export {
  readCriLog,
  parseCriLine,
  parseTimeNs,
  rotatedFiles,
  type CriLogRecord,
  type ReadCriLogOptions,
  type TimeArg,
} from './cri-log.js';
export { monitorBinary, nativeDir } from './binary.js';
