// The device cgroup rules a container gets besides its own: the nodes the runtime itself creates.
import type { Spec } from '../oci/index.js';

/** The device cgroup always lets the container use the nodes the runtime itself creates (as runc
 *  does): null, zero, full, random, urandom, tty, console, ptmx, pts, tun, and mknod of anything. */
const DEFAULT_ALLOWED_DEVICES = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  ...[
    [1, 3],
    [1, 5],
    [1, 7],
    [1, 8],
    [1, 9],
    [5, 0],
    [5, 1],
    [5, 2],
    [10, 200],
  ].map(([major, minor]) => ({ allow: true, type: 'c', major, minor, access: 'rwm' })),
  { allow: true, type: 'c', major: 136, access: 'rwm' },
];

export function withDefaultDevices(spec: Spec): NonNullable<NonNullable<Spec['linux']>['resources']> {
  const r = spec.linux?.resources ?? {};
  const own = (spec.linux?.devices ?? [])
    .filter((d) => d.type !== 'p')
    .map((d) => ({ allow: true, type: d.type === 'u' ? 'c' : d.type, major: d.major, minor: d.minor, access: 'rwm' }));
  if (!r.devices) return r;
  return { ...r, devices: [...r.devices, ...DEFAULT_ALLOWED_DEVICES, ...own] };
}
