// NetworkPolicy enforcement (networking.k8s.io/v1) on one node, in nftables: ingress and egress,
// pod and namespace selectors, ipBlock with exceptions, numeric, ranged and named ports, default
// deny. See docs/netpol.md.
export { NetworkPolicyController, startNetworkPolicy, type NetworkPolicyOptions } from './controller.js';
export { compilePolicy, podInfo, policyTypes, type ClusterView, type CompiledPolicy, type PodInfo } from './model.js';
export { baseScript, diffScript, tableState, type TableState } from './nft.js';
