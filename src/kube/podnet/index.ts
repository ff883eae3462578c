// The pod network across nodes (docs/multinode.md): node IPAM on the server (each Node a /24 of
// the cluster CIDR) and each node's routes to the others' pod CIDRs (VXLAN or host-gw).
export { NodeIpam, CidrSet, DEFAULT_CLUSTER_CIDR } from './ipam.js';
export type { IpamOptions, NodeLike } from './ipam.js';
export { PodOverlay, VXLAN_DEVICE, VNI, VXLAN_PORT } from './overlay.js';
export type { OverlayOptions, Backend } from './overlay.js';
