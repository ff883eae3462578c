// The component table: what each folder under src/ is for and which components it may import.
// scripts/lint-imports.mjs enforces it on the code; scripts/arch-doc.mjs writes it into
// docs/architecture.md (and `npm run lint` checks that the doc is current). Change both the code and
// this table together, and say why in the commit when you add an edge.

// component -> components it may import (every component has a row; the table is exact: an edge
// that no import uses is an error too).
export const ALLOWED = {
  common: [],
  oci: ['common'],
  cri: ['common'],
  streaming: ['common'],
  // NRI's runtime side (ttrpc, the multiplexer, plugin registry and relay); the engine's CRI hooks it.
  nri: ['common'],
  runtime: ['common', 'oci'],
  image: ['common'],
  registry: ['common', 'image'],
  network: ['common'],
  build: ['common', 'runtime', 'image'],
  engine: ['common', 'oci', 'runtime', 'image', 'registry', 'network', 'build', 'cri', 'streaming', 'nri'],
  'kube/api': ['common'],
  'kube/storage': ['common'],
  'kube/apiserver': ['common', 'kube/api', 'kube/storage'],
  'kube/client': ['common', 'kube/api'],
  'kube/controllers': ['common', 'kube/api', 'kube/client'],
  'kube/scheduler': ['common', 'kube/api', 'kube/client'],
  'kube/agent': ['common', 'kube/api', 'kube/client', 'cri'],
  'kube/proxy': ['common', 'kube/api', 'kube/client', 'network'],
  'kube/dns': ['common', 'kube/api', 'kube/client', 'network'],
  'kube/netpol': ['common', 'kube/api', 'kube/client', 'network'],
  // Joining: PKCS#10 making, parsing and signing come from the API server's PKI (kube/apiserver).
  'kube/certificates': ['common', 'kube/client', 'kube/apiserver'],
  // The pod network across nodes: node IPAM (a control loop) and the VXLAN / host-gw routes.
  'kube/podnet': ['common', 'kube/client', 'network'],
  cluster: '*',
  cli: '*',
};

// Inside a component: folder (relative to src/) -> folders under src/ it must not import.
export const LAYERS = {
  'engine/services': ['engine/api'],
  'engine/cri': ['engine/api'],
};

// component -> its role, one line (docs/architecture.md's table).
export const ROLES = {
  common:
    'the closed error set, ids (`newId`), logging (`logFailure`), `writeFileAtomic`, `sleep`, `isObject`, `BatchedSync`, the upgrade-aware HTTP reverse proxy (API server → agent → streaming server)',
  oci: 'OCI runtime-spec types and their validation (image-spec types are in `image/formats`)',
  cri: 'the `ContainerRuntime` interface in CRI v1 vocabulary, the generated CRI message types and the gRPC endpoint',
  streaming: 'the CRI streaming server: exec, attach and port-forward over SPDY/3.1 and WebSocket',
  nri: "NRI's runtime side: plugins connect over ttrpc on NRI's multiplexed socket, register, synchronize and get the pod and container lifecycle events",
  runtime:
    "the OCI runtime as a library (create/start/wait/exec/stats by id) and runc's CLI over it; cgroups v1/v2, mounts, namespaces, seccomp, the monitor",
  image:
    'content store, references, image-spec formats (`formats/`), snapshotters (overlay, native), unpack, image store, archives, garbage collection',
  registry: 'the distribution server (`skiff registry`) and the pull/push client',
  network:
    'bridges, veths, host-local IPAM, NAT and published ports, embedded DNS, /etc files: shared by engine and agent',
  build: 'Dockerfile parsing and the classic builder with its cache',
  engine:
    "dockerd's role: `services/` (containers, exec, images, volumes, networks, build, system), `api/` (the Engine API: routes over one backend interface each), `cri/` (the engine's ContainerRuntime)",
  'kube/api':
    'the Kubernetes kinds served (schemas, defaulting, validation, tables, field selectors) and shared helpers (selectors, quantities)',
  'kube/storage': 'the revisioned key-value store with watch: SQLite (default), etcd, memory',
  'kube/apiserver':
    'the API server: one request pipeline over per-resource strategies, admission, authn/authz, discovery, OpenAPI, CRDs, pod streams',
  'kube/client': 'REST client, watch, informers, work queue, discovery, leader election (never the store)',
  'kube/controllers': "kube-controller-manager's control loops, one folder per controller, over shared informers",
  'kube/scheduler': "kube-scheduler's role: queue, framework, the default profile's plugins, binding",
  'kube/agent': "the node agent (kubelet's role) over `ContainerRuntime`: pod workers, probes, volumes, status",
  'kube/proxy': "the service proxy (kube-proxy's role) in nftables",
  'kube/dns': "cluster DNS (CoreDNS's role)",
  'kube/netpol': 'NetworkPolicy enforcement on a node, in nftables',
  'kube/certificates': "joining nodes: join token, node CSR approval and signing, the node's TLS bootstrap",
  'kube/podnet': "the pod network across nodes: node IPAM, VXLAN or host-gw routes to other nodes' pod CIDRs",
  cluster:
    'composition only: `startNode` wires the engine, control plane and agent of `skiff start`, `skiff server` and `skiff agent`',
  cli: 'the multicall `skiff` CLI: one file per verb, the Docker-client commands, the runc-compatible runtime CLI',
};
