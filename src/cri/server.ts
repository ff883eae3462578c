// The CRI gRPC endpoint: RuntimeService and ImageService of k8s.io/cri-api runtime/v1 over
// @grpc/grpc-js on a unix socket, from the upstream api.proto loaded with @grpc/proto-loader under
// the options the generated types were made with (camelCase, longs as Number, enums as String,
// defaults, oneofs). SkiffErrors become gRPC status codes here, once; RPCs the ContainerRuntime
// does not have (checkpoint, pod resources, the streaming list RPCs) answer UNIMPLEMENTED.
import { chmodSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, isSkiffError, internal } from '../common/index.js';
import type { ContainerRuntime } from './runtime.js';

const log = createLogger({ component: 'cri.server' });

/** Where api.proto is: beside this file in the sources, dist/proto/ in the bundle. */
export function protoPath(): string {
  for (const rel of ['./proto/api.proto', '../proto/api.proto', '../cri/proto/api.proto']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  // An installation defect (the build did not copy the proto), not a client's error.
  throw internal('src/cri/proto/api.proto not found (the build copies it to dist/proto/)');
}

export const LOADER_OPTIONS = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

type GrpcStatus = number;
const STATUS = {
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** The one mapping of SkiffErrors to gRPC status codes. */
export function grpcStatusOf(e: unknown): GrpcStatus {
  if (!isSkiffError(e)) return STATUS.UNKNOWN;
  switch (e.code) {
    case 'NotFound':
      return STATUS.NOT_FOUND;
    case 'AlreadyExists':
      return STATUS.ALREADY_EXISTS;
    case 'Conflict':
      return STATUS.ABORTED;
    case 'InvalidArgument':
      return STATUS.INVALID_ARGUMENT;
    case 'FailedPrecondition':
      return STATUS.FAILED_PRECONDITION;
    case 'Unavailable':
      return e.reason === 'DeadlineExceeded' ? STATUS.DEADLINE_EXCEEDED : STATUS.UNAVAILABLE;
    case 'NotImplemented':
      return STATUS.UNIMPLEMENTED;
    case 'Internal':
      return STATUS.INTERNAL;
  }
}

const RUNTIME_RPCS = [
  'Version',
  'RunPodSandbox',
  'StopPodSandbox',
  'RemovePodSandbox',
  'PodSandboxStatus',
  'ListPodSandbox',
  'CreateContainer',
  'StartContainer',
  'StopContainer',
  'RemoveContainer',
  'ListContainers',
  'ContainerStatus',
  'UpdateContainerResources',
  'ReopenContainerLog',
  'ExecSync',
  'Exec',
  'Attach',
  'PortForward',
  'ContainerStats',
  'ListContainerStats',
  'PodSandboxStats',
  'ListPodSandboxStats',
  'ListMetricDescriptors',
  'ListPodSandboxMetrics',
  'UpdateRuntimeConfig',
  'Status',
  'RuntimeConfig',
] as const;
const IMAGE_RPCS = ['ListImages', 'ImageStatus', 'PullImage', 'RemoveImage', 'ImageFsInfo'] as const;

const lower = (s: string) => s[0].toLowerCase() + s.slice(1);

export interface CriServer {
  /** The address served, e.g. unix:///run/skiff/cri.sock. */
  endpoint: string;
  close(): Promise<void>;
}

/** Serves `runtime` on a unix socket path (default /run/skiff/cri.sock). */
export async function serveCri(runtime: ContainerRuntime, socketPath = '/run/skiff/cri.sock'): Promise<CriServer> {
  const grpc = await import('@grpc/grpc-js');
  const loader = await import('@grpc/proto-loader');
  const def = await loader.load(protoPath(), LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    runtime: { v1: Record<string, { service: import('@grpc/grpc-js').ServiceDefinition }> };
  };
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.max_send_message_length': 16 * 1024 * 1024,
  });
  type Handler = (call: { request: unknown }, cb: (err: unknown, res?: unknown) => void) => void;
  const unary = (method: string): Handler => {
    const fn = (runtime as unknown as Record<string, (req: unknown) => Promise<unknown>>)[method].bind(runtime);
    return (call, cb) => {
      fn(call.request).then(
        (res) => cb(null, res),
        (e: unknown) => {
          const code = grpcStatusOf(e);
          if (code === STATUS.UNKNOWN || code === STATUS.INTERNAL)
            log.error('CRI call failed', { method, error: (e as Error)?.message });
          cb({ code, details: (e as Error)?.message ?? String(e), message: (e as Error)?.message });
        },
      );
    };
  };
  const runtimeImpl: Record<string, unknown> = {};
  for (const rpc of RUNTIME_RPCS) runtimeImpl[rpc] = unary(lower(rpc));
  runtimeImpl.GetContainerEvents = (call: import('@grpc/grpc-js').ServerWritableStream<unknown, unknown>) => {
    const ac = new AbortController();
    call.on('cancelled', () => ac.abort());
    call.on('close', () => ac.abort());
    void (async () => {
      try {
        for await (const ev of runtime.getContainerEvents(call.request as object, ac.signal)) {
          if (ac.signal.aborted) break;
          call.write(ev);
        }
      } catch (e) {
        if (!ac.signal.aborted) call.destroy(e as Error);
        return;
      }
      call.end();
    })();
  };
  const imageImpl: Record<string, unknown> = {};
  for (const rpc of IMAGE_RPCS) imageImpl[rpc] = unary(lower(rpc));
  const v1 = pkg.runtime.v1;
  server.addService(v1.RuntimeService.service, runtimeImpl as import('@grpc/grpc-js').UntypedServiceImplementation);
  server.addService(v1.ImageService.service, imageImpl as import('@grpc/grpc-js').UntypedServiceImplementation);
  mkdirSync(dirname(socketPath), { recursive: true });
  rmSync(socketPath, { force: true });
  const endpoint = `unix://${socketPath}`;
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(endpoint, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())),
  );
  chmodSync(socketPath, 0o660);
  return {
    endpoint,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          rmSync(socketPath, { force: true });
          resolve();
        });
        setTimeout(() => {
          server.forceShutdown();
          rmSync(socketPath, { force: true });
          resolve();
        }, 2000).unref();
      }),
  };
}
