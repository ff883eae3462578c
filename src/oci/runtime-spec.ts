// OCI runtime-spec 1.x `config.json` and `state` as zod schemas (the schemas are the types).
// Only what a runtime reads is modelled strictly; unknown fields pass through untouched so that a
// config written by a newer client still loads.
import { z } from 'zod';

const uint = z.number().int().nonnegative();
const strings = z.array(z.string());

export const IdMappingSchema = z.object({ containerID: uint, hostID: uint, size: uint.min(1) });
export const MountSchema = z.looseObject({
  destination: z.string().min(1).refine((d) => d.startsWith('/'), 'must be an absolute path'),
  type: z.string().optional(),
  source: z.string().optional(),
  options: strings.optional(),
  uidMappings: z.array(IdMappingSchema).optional(),
  gidMappings: z.array(IdMappingSchema).optional(),
});
/** u64 fields (RLIM_INFINITY, seccomp values) may exceed 2^53: accepted as plain non-negative numbers. */
const u64 = z.number().nonnegative();
export const RlimitSchema = z.object({ type: z.string().regex(/^RLIMIT_[A-Z]+$/, 'must be RLIMIT_*'), hard: u64, soft: u64 });
export const UserSchema = z.looseObject({
  uid: uint, gid: uint, umask: uint.optional(), additionalGids: z.array(uint).optional(), username: z.string().optional(),
});
export const CapabilitiesSchema = z.looseObject({
  bounding: strings.optional(), effective: strings.optional(), inheritable: strings.optional(),
  permitted: strings.optional(), ambient: strings.optional(),
});
export const ProcessSchema = z.looseObject({
  terminal: z.boolean().optional(),
  consoleSize: z.object({ height: uint, width: uint }).optional(),
  user: UserSchema,
  args: z.array(z.string()).min(1, 'must not be empty'),
  commandLine: z.string().optional(),
  env: strings.optional(),
  cwd: z.string().refine((c) => c.startsWith('/'), 'must be an absolute path'),
  capabilities: CapabilitiesSchema.optional(),
  rlimits: z.array(RlimitSchema).optional(),
  noNewPrivileges: z.boolean().optional(),
  apparmorProfile: z.string().optional(),
  oomScoreAdj: z.number().int().min(-1000).max(1000).optional(),
  selinuxLabel: z.string().optional(),
});
export const HookSchema = z.object({ path: z.string().min(1), args: strings.optional(), env: strings.optional(), timeout: z.number().int().positive().optional() });
const hookList = z.array(HookSchema).optional();
export const HooksSchema = z.looseObject({
  prestart: hookList, createRuntime: hookList, createContainer: hookList, startContainer: hookList, poststart: hookList, poststop: hookList,
});
export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup'] as const;
export const NamespaceSchema = z.object({
  type: z.string().refine((t) => (NAMESPACE_TYPES as readonly string[]).includes(t), { error: (iss) => `unknown namespace type ${JSON.stringify(iss.input)} (one of ${NAMESPACE_TYPES.join(', ')})` }),
  path: z.string().optional(),
});
export const DeviceSchema = z.looseObject({
  type: z.enum(['c', 'b', 'u', 'p']), path: z.string().min(1), major: z.number().int().optional(), minor: z.number().int().optional(),
  fileMode: uint.optional(), uid: uint.optional(), gid: uint.optional(),
});
export const SeccompArgSchema = z.object({ index: uint.max(5), value: u64, valueTwo: u64.optional(), op: z.string() });
export const SeccompSyscallSchema = z.looseObject({
  names: strings.min(1), action: z.string(), errnoRet: uint.optional(), args: z.array(SeccompArgSchema).optional(),
});
export const SeccompSchema = z.looseObject({
  defaultAction: z.string(), defaultErrnoRet: uint.optional(), architectures: strings.optional(), flags: strings.optional(),
  syscalls: z.array(SeccompSyscallSchema).optional(),
});
const throttle = z.array(z.object({ major: z.number().int(), minor: z.number().int(), rate: uint }));
export const ResourcesSchema = z.looseObject({
  devices: z.array(z.object({ allow: z.boolean(), type: z.string().optional(), major: z.number().int().nullish(), minor: z.number().int().nullish(), access: z.string().optional() })).optional(),
  memory: z.looseObject({ limit: z.number().int().optional(), reservation: z.number().int().optional(), swap: z.number().int().optional(), kernel: z.number().int().optional(), swappiness: z.number().int().optional(), disableOOMKiller: z.boolean().optional() }).optional(),
  cpu: z.looseObject({ shares: uint.optional(), quota: z.number().int().optional(), period: uint.optional(), realtimeRuntime: z.number().int().optional(), realtimePeriod: uint.optional(), cpus: z.string().optional(), mems: z.string().optional(), idle: z.number().int().optional() }).optional(),
  pids: z.object({ limit: z.number().int() }).optional(),
  blockIO: z.looseObject({ weight: uint.optional(), leafWeight: uint.optional(), throttleReadBpsDevice: throttle.optional(), throttleWriteBpsDevice: throttle.optional(), throttleReadIOPSDevice: throttle.optional(), throttleWriteIOPSDevice: throttle.optional() }).optional(),
  unified: z.record(z.string(), z.string()).optional(),
});
export const LinuxSchema = z.looseObject({
  namespaces: z.array(NamespaceSchema).optional(),
  uidMappings: z.array(IdMappingSchema).optional(),
  gidMappings: z.array(IdMappingSchema).optional(),
  devices: z.array(DeviceSchema).optional(),
  cgroupsPath: z.string().optional(),
  resources: ResourcesSchema.optional(),
  rootfsPropagation: z.enum(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']).optional(),
  seccomp: SeccompSchema.optional(),
  sysctl: z.record(z.string(), z.string()).optional(),
  maskedPaths: strings.optional(),
  readonlyPaths: strings.optional(),
  mountLabel: z.string().optional(),
});
export const SpecSchema = z.looseObject({
  ociVersion: z.string().regex(/^1\.\d+\.\d+/, 'must be a 1.x version'),
  root: z.object({ path: z.string().min(1), readonly: z.boolean().optional() }),
  mounts: z.array(MountSchema).optional(),
  process: ProcessSchema.optional(),
  hostname: z.string().optional(),
  domainname: z.string().optional(),
  hooks: HooksSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  linux: LinuxSchema.optional(),
});

export type Spec = z.infer<typeof SpecSchema>;
export type Process = z.infer<typeof ProcessSchema>;
export type Mount = z.infer<typeof MountSchema>;
export type Hook = z.infer<typeof HookSchema>;
export type Hooks = z.infer<typeof HooksSchema>;
export type LinuxResources = z.infer<typeof ResourcesSchema>;
export type Seccomp = z.infer<typeof SeccompSchema>;
export type LinuxDevice = z.infer<typeof DeviceSchema>;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';
/** The OCI `state` object (what hooks get on stdin). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export const OCI_VERSION = '1.0.2';
