// Facts about the machine the node reports (kubelet's cadvisor-backed machine info): CPUs, memory,
// the filesystem under the agent's root, the node IP, the OS image, machine/boot ids, and the
// pressure signals kubelet's eviction manager watches (memory.available, nodefs.available and
// nodefs.inodesFree against upstream's default hard thresholds; pid.available against 5 %).
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';

export interface MachineInfo {
  cpus: number;
  memoryBytes: number;
  fsBytes: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  arch: string;
}

const read = (p: string) => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return '';
  }
};

export function goArch(a = process.arch): string {
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

export function machineInfo(root: string): MachineInfo {
  const fs = statfsSync(root);
  const osRelease = read('/etc/os-release');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'Linux';
  const machineID = read('/etc/machine-id');
  return {
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    memoryBytes: os.totalmem(),
    fsBytes: fs.blocks * fs.bsize,
    machineID,
    systemUUID: read('/sys/class/dmi/id/product_uuid') || machineID,
    bootID: read('/proc/sys/kernel/random/boot_id'),
    kernelVersion: os.release(),
    osImage: pretty,
    arch: goArch(),
  };
}

/** The node's address: the first IPv4 of the default route's interface, else any non-loopback one. */
export function nodeIP(): string {
  const routes = read('/proc/net/route').split('\n').slice(1);
  const dflt = routes.map((l) => l.trim().split(/\s+/)).find((f) => f[1] === '00000000')?.[0];
  const ifs = os.networkInterfaces();
  const v4 = (name: string) => (ifs[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (dflt && v4(dflt)) return v4(dflt)!;
  for (const name of Object.keys(ifs)) {
    const a = v4(name);
    if (a) return a;
  }
  return '127.0.0.1';
}

export interface Pressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
  memoryAvailable: number;
}

const MEMORY_AVAILABLE_MIN = 100 * 1024 * 1024;

export function pressure(root: string): Pressure {
  const mem = /MemAvailable:\s+(\d+) kB/.exec(read('/proc/meminfo'));
  const available = mem ? Number(mem[1]) * 1024 : os.freemem();
  let disk = false;
  try {
    const s = statfsSync(root);
    disk = s.bavail / s.blocks < 0.1 || (s.files > 0 && s.ffree / s.files < 0.05);
  } catch {
    disk = false;
  }
  const pidMax = Number(read('/proc/sys/kernel/pid_max')) || 32768;
  const procs = Number(read('/proc/loadavg').split(' ')[3]?.split('/')[1]) || 0;
  return {
    memory: available < MEMORY_AVAILABLE_MIN,
    disk,
    pid: pidMax - procs < pidMax * 0.05,
    memoryAvailable: available,
  };
}

/** Allocatable = capacity minus the hard eviction thresholds (no reservations configured). */
export function allocatable(m: MachineInfo): { cpuMilli: number; memory: number; ephemeralStorage: number } {
  return {
    cpuMilli: m.cpus * 1000,
    memory: Math.max(0, m.memoryBytes - MEMORY_AVAILABLE_MIN),
    ephemeralStorage: Math.floor(m.fsBytes * 0.9),
  };
}
