// networking.k8s.io/v1 schemas: Ingress, IngressClass, NetworkPolicy.
import { arr, define, enumStr, int32, obj, ref, str, strList } from '../../schema/builder.js';
import { N } from '../../schema/meta.js';
import '../core/storage-schema.js';

export const NW = (n: string) => `io.k8s.api.networking.v1.${n}`;
const r = (n: string, d?: string) => ref(NW(n), d);

define(
  NW('ServiceBackendPort'),
  obj('The port of a backend service: a name or a number.', {
    name: str('Name of the port on the Service; exclusive with number.'),
    number: int32('Numerical port number; exclusive with name.'),
  }),
);
define(
  NW('IngressServiceBackend'),
  obj(
    'A Service as a backend.',
    {
      name: str("Name of the referenced Service, in the Ingress's namespace."),
      port: r('ServiceBackendPort', 'Port of the referenced Service.'),
    },
    ['name'],
  ),
);
define(
  NW('IngressBackend'),
  obj('Where to send matching traffic: a service or a resource (exclusive).', {
    service: r('IngressServiceBackend', 'A Service as a backend.'),
    resource: ref('io.k8s.api.core.v1.TypedLocalObjectReference', "An object in the Ingress's namespace as a backend."),
  }),
);
define(
  NW('HTTPIngressPath'),
  obj(
    'A path matched to a backend.',
    {
      path: str('Path matched against the request path; must begin with "/" for Exact and Prefix.'),
      pathType: enumStr('How the path is matched: Exact, Prefix or ImplementationSpecific. Required.', [
        'Exact',
        'ImplementationSpecific',
        'Prefix',
      ]),
      backend: r('IngressBackend', 'Where matching traffic is sent.'),
    },
    ['pathType', 'backend'],
  ),
);
define(
  NW('HTTPIngressRuleValue'),
  obj(
    'HTTP paths of a rule.',
    {
      paths: arr('Paths mapped to backends.', r('HTTPIngressPath'), { listType: 'atomic' }),
    },
    ['paths'],
  ),
);
define(
  NW('IngressRule'),
  obj('Host rules: requests for the host are matched against the paths.', {
    host: str(
      'Fully qualified domain name, optionally with a leading "*." wildcard label; empty matches all hosts. IP addresses are not allowed.',
    ),
    http: r('HTTPIngressRuleValue', 'HTTP paths of the rule.'),
  }),
);
define(
  NW('IngressTLS'),
  obj('TLS settings of an Ingress.', {
    hosts: strList('Hosts included in the TLS certificate.'),
    secretName: str('Name of the Secret holding the certificate and key.'),
  }),
);
define(
  NW('IngressSpec'),
  obj('The desired state of an Ingress.', {
    ingressClassName: str('Name of the IngressClass that implements this Ingress.'),
    defaultBackend: r('IngressBackend', 'Backend for requests that match no rule.'),
    tls: arr('TLS configuration.', r('IngressTLS'), { listType: 'atomic' }),
    rules: arr('Host rules; requests that match none go to defaultBackend.', r('IngressRule'), { listType: 'atomic' }),
  }),
);
define(
  NW('IngressPortStatus'),
  obj(
    'Status of a load balancer port.',
    { port: int32('Port number.'), protocol: str('Protocol.'), error: str('Error, if any.') },
    ['port', 'protocol'],
  ),
);
define(
  NW('IngressLoadBalancerIngress'),
  obj('An ingress point.', {
    ip: str('IP address of the ingress point.'),
    hostname: str('Hostname of the ingress point.'),
    ports: arr('Ports of the ingress point.', r('IngressPortStatus'), { listType: 'atomic' }),
  }),
);
define(
  NW('IngressLoadBalancerStatus'),
  obj('Load balancer status.', {
    ingress: arr('Ingress points.', r('IngressLoadBalancerIngress'), { listType: 'atomic' }),
  }),
);
define(
  NW('IngressStatus'),
  obj('The observed state of an Ingress.', {
    loadBalancer: r('IngressLoadBalancerStatus', 'Status of the load balancer.'),
  }),
);

define(
  NW('IngressClassParametersReference'),
  obj(
    'A reference to a parameters object.',
    {
      apiGroup: str('API group of the referent.'),
      kind: str('Kind of the referent.'),
      name: str('Name of the referent.'),
      scope: str('Cluster (default) or Namespace.'),
      namespace: str('Namespace of the referent when scope is Namespace.'),
    },
    ['kind', 'name'],
  ),
);
define(
  NW('IngressClassSpec'),
  obj('The IngressClass specification.', {
    controller: str(
      'Name of the controller that implements this class, e.g. example.com/ingress-controller. Immutable.',
    ),
    parameters: r('IngressClassParametersReference', 'Additional configuration for the controller.'),
  }),
);

define(
  NW('IPBlock'),
  obj(
    'A CIDR range, minus exceptions.',
    { cidr: str('A CIDR such as 192.168.1.0/24.'), except: strList('CIDRs excluded from cidr.') },
    ['cidr'],
  ),
);
define(
  NW('NetworkPolicyPeer'),
  obj('A set of peers: pods selected in namespaces, or an IP block.', {
    podSelector: ref(N.LabelSelector, "Pods selected (in the policy's namespace unless namespaceSelector is set)."),
    namespaceSelector: ref(N.LabelSelector, 'Namespaces selected.'),
    ipBlock: r('IPBlock', 'An IP block; exclusive with the selectors.'),
  }),
);
define(
  NW('NetworkPolicyPort'),
  obj('A port to allow traffic on.', {
    protocol: { ...enumStr('TCP (default), UDP or SCTP.', ['SCTP', 'TCP', 'UDP']), default: 'TCP' },
    port: ref(N.IntOrString, 'Port number or name; all ports if unset.'),
    endPort: int32('End of a port range starting at port (numeric port required).'),
  }),
);
define(
  NW('NetworkPolicyIngressRule'),
  obj('Traffic allowed into the selected pods.', {
    ports: arr('Ports allowed; all if empty.', r('NetworkPolicyPort'), { listType: 'atomic' }),
    from: arr('Sources allowed; all if empty.', r('NetworkPolicyPeer'), { listType: 'atomic' }),
  }),
);
define(
  NW('NetworkPolicyEgressRule'),
  obj('Traffic allowed out of the selected pods.', {
    ports: arr('Ports allowed; all if empty.', r('NetworkPolicyPort'), { listType: 'atomic' }),
    to: arr('Destinations allowed; all if empty.', r('NetworkPolicyPeer'), { listType: 'atomic' }),
  }),
);
define(
  NW('NetworkPolicySpec'),
  obj(
    'The desired behavior of a NetworkPolicy.',
    {
      podSelector: ref(
        N.LabelSelector,
        'Pods the policy applies to; an empty selector selects every pod in the namespace.',
      ),
      ingress: arr('Ingress rules (ORed).', r('NetworkPolicyIngressRule'), { listType: 'atomic' }),
      egress: arr('Egress rules (ORed).', r('NetworkPolicyEgressRule'), { listType: 'atomic' }),
      policyTypes: strList('Ingress and/or Egress. Defaults to Ingress, plus Egress when egress rules are present.'),
    },
    ['podSelector'],
  ),
);
