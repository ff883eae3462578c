// core/v1 container schemas, part 3: the container's security context (capabilities, SELinux,
// seccomp, AppArmor, Windows options) and resize policies. Loaded by container-schema.ts.
import { bool, define, enumStr, int64, obj, ref, str, strList } from '../../schema/builder.js';
import { CORE } from './schema-names.js';

const r = (n: string, d?: string) => ref(CORE(n), d);

define(
  CORE('Capabilities'),
  obj('POSIX capabilities to add to or drop from a running container.', {
    add: strList('Added capabilities.'),
    drop: strList('Removed capabilities.'),
  }),
);
define(
  CORE('SELinuxOptions'),
  obj('SELinux labels to apply.', {
    user: str('SELinux user label.'),
    role: str('SELinux role label.'),
    type: str('SELinux type label.'),
    level: str('SELinux level label.'),
  }),
);
define(
  CORE('SeccompProfile'),
  obj(
    'A seccomp profile.',
    {
      type: enumStr('Localhost, RuntimeDefault or Unconfined.', ['Localhost', 'RuntimeDefault', 'Unconfined']),
      localhostProfile: str(
        "A profile in a file on the node, relative to the kubelet's seccomp profile location; only with type Localhost.",
      ),
    },
    ['type'],
  ),
);
define(
  CORE('AppArmorProfile'),
  obj(
    'An AppArmor profile.',
    {
      type: enumStr('Localhost, RuntimeDefault or Unconfined.', ['Localhost', 'RuntimeDefault', 'Unconfined']),
      localhostProfile: str('A profile loaded on the node; only with type Localhost.'),
    },
    ['type'],
  ),
);
define(
  CORE('WindowsSecurityContextOptions'),
  obj('Windows-specific options (accepted, not used on Linux nodes).', {
    gmsaCredentialSpecName: str('Name of the GMSA credential spec to use.'),
    gmsaCredentialSpec: str('GMSA credential spec contents.'),
    runAsUserName: str('UserName in Windows to run the entrypoint of the container process.'),
    hostProcess: bool('Run as a Windows HostProcess container.'),
  }),
);
define(
  CORE('ContainerResizePolicy'),
  obj(
    'How a container reacts to an in-place resize of one resource.',
    {
      resourceName: str('Name of the resource (cpu, memory).'),
      restartPolicy: str('NotRequired (default) or RestartContainer.'),
    },
    ['resourceName', 'restartPolicy'],
  ),
);
define(
  CORE('SecurityContext'),
  obj('Security options of a container; fields here override the pod-level ones.', {
    capabilities: r('Capabilities', 'Capabilities to add/drop when running the container.'),
    privileged: bool('Run as privileged: processes are equivalent to root on the host. Defaults to false.'),
    seLinuxOptions: r('SELinuxOptions', 'The SELinux context to apply to the container.'),
    runAsUser: int64('The UID to run the entrypoint of the container process.'),
    runAsGroup: int64('The GID to run the entrypoint of the container process.'),
    runAsNonRoot: bool('Indicates that the container must run as a non-root user.'),
    readOnlyRootFilesystem: bool('Whether this container has a read-only root filesystem. Default is false.'),
    allowPrivilegeEscalation: bool('Whether a process can gain more privileges than its parent (no_new_privs).'),
    procMount: str('Type of proc mount: Default or Unmasked.'),
    seccompProfile: r('SeccompProfile', 'The seccomp options of this container.'),
    appArmorProfile: r('AppArmorProfile', 'The AppArmor options of this container.'),
    windowsOptions: r('WindowsSecurityContextOptions', 'Windows-specific settings.'),
  }),
);
