// Cluster DNS (CoreDNS's role): Service, endpoint, SRV, PTR and pod records of the cluster domain
// from the API, the rest forwarded to the node's resolvers. See docs/dns.md.
export { ClusterDns, toDnsService, toDnsSlice, type ClusterDnsOptions } from './server.js';
export { ClusterRecords, type DnsService, type DnsSlice, type DnsEndpoint, type Resolution } from './records.js';
