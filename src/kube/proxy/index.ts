// The service proxy (kube-proxy's role) in nftables: ClusterIP, NodePort, external and
// load-balancer IPs, session affinity, traffic policies, terminating endpoints, hairpin.
// See docs/proxy.md.
export { Proxier, type ProxierOptions, type SyncStats } from './proxier.js';
export { servicePorts, usable, proxied, type ServicePort, type ProxyEndpoint } from './model.js';
export { renderServicePort, baseScript, diffScript, type NftConfig } from './nft.js';
export { ensureServiceDevice, removeServiceDevice } from './device.js';
