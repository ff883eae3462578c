// core/v1 container schemas, part 2: probes and their actions (exec, HTTP GET, TCP, gRPC) and the
// lifecycle hooks (postStart, preStop, sleep). Loaded by container-schema.ts.
import { arr, define, enumStr, int32, int64, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import { CORE } from './schema-names.js';

const r = (n: string, d?: string) => ref(CORE(n), d);

define(
  CORE('ExecAction'),
  obj('Runs a command in the container.', {
    command: strList('Command line to execute inside the container; not run in a shell. Exit status 0 is success.'),
  }),
);
define(
  CORE('HTTPHeader'),
  obj('A custom header for HTTP probes.', { name: str('Header field name.'), value: str('Header field value.') }, [
    'name',
    'value',
  ]),
);
define(
  CORE('HTTPGetAction'),
  obj(
    'An HTTP GET request.',
    {
      path: str('Path to access on the HTTP server.'),
      port: ref(N.IntOrString, 'Number or IANA_SVC_NAME of the port to access on the container.'),
      host: str('Host name to connect to, defaults to the pod IP.'),
      scheme: enumStr('Scheme for connecting: HTTP (default) or HTTPS.', ['HTTP', 'HTTPS']),
      httpHeaders: arr('Custom headers to set in the request.', r('HTTPHeader'), { listType: 'atomic' }),
    },
    ['port'],
  ),
);
define(
  CORE('TCPSocketAction'),
  obj(
    'Opens a TCP connection.',
    {
      port: ref(N.IntOrString, 'Number or name of the port to access on the container.'),
      host: str('Host name to connect to, defaults to the pod IP.'),
    },
    ['port'],
  ),
);
define(
  CORE('GRPCAction'),
  obj(
    'A gRPC health check.',
    {
      port: int32('Port number of the gRPC service (1-65535).'),
      service: str('Service name placed in the gRPC HealthCheckRequest.'),
    },
    ['port'],
  ),
);
define(
  CORE('Probe'),
  obj('A health check performed against a container.', {
    exec: r('ExecAction', 'Exec specifies a command to execute in the container.'),
    httpGet: r('HTTPGetAction', 'HTTPGet specifies an HTTP GET request to perform.'),
    tcpSocket: r('TCPSocketAction', 'TCPSocket specifies a connection to a TCP port.'),
    grpc: r('GRPCAction', 'GRPC specifies a gRPC HealthCheckRequest.'),
    initialDelaySeconds: int32('Seconds after the container starts before probes begin.'),
    timeoutSeconds: int32('Seconds after which the probe times out. Defaults to 1.'),
    periodSeconds: int32('How often (in seconds) to probe. Defaults to 10.'),
    successThreshold: int32(
      'Consecutive successes for the probe to be considered successful after a failure. Defaults to 1; must be 1 for liveness and startup.',
    ),
    failureThreshold: int32(
      'Consecutive failures for the probe to be considered failed after a success. Defaults to 3.',
    ),
    terminationGracePeriodSeconds: int64('Optional grace period for the pod to terminate after a probe failure.'),
  }),
);
define(CORE('SleepAction'), obj('Sleeps for a duration.', { seconds: int64('Seconds to sleep.') }, ['seconds']));
define(
  CORE('LifecycleHandler'),
  obj('An action to take in a lifecycle hook; exactly one field may be set.', {
    exec: r('ExecAction', 'Exec specifies a command to execute in the container.'),
    httpGet: r('HTTPGetAction', 'HTTPGet specifies an HTTP GET request to perform.'),
    tcpSocket: r('TCPSocketAction', 'Deprecated; kept for compatibility.'),
    sleep: r('SleepAction', 'Sleep represents a duration to wait before the container is terminated.'),
  }),
);
define(
  CORE('Lifecycle'),
  obj('Actions the system takes in response to container lifecycle events.', {
    postStart: r(
      'LifecycleHandler',
      'Called immediately after the container is created; failure restarts the container.',
    ),
    preStop: r('LifecycleHandler', 'Called immediately before the container is terminated.'),
    stopSignal: str('The signal used to stop the container.'),
  }),
);
