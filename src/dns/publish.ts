import type { KubeObject } from '../api/object.js';
import { StatusError } from '../api/errors.js';
import { resource, type RestClient } from '../client/rest.js';

// Pods ask the cluster DNS address (kubelet's --cluster-dns), which is the ClusterIP of kube-system/kube-dns as in
// every Kubernetes cluster. Each node's agent serves DNS on its own address and announces itself as one endpoint
// of that service, so the service proxy spreads queries over the nodes and a node that goes away drops out.

const SERVICES = resource('', 'v1', 'services');
const SLICES = resource('discovery.k8s.io', 'v1', 'endpointslices');
const NAMESPACE = 'kube-system';
const SERVICE = 'kube-dns';
const MANAGED_BY = 'cluster-dns.kite.io';

export interface DnsEndpoint {
  clusterIP: string;
  nodeName: string;
  nodeIP: string;
  port: number;
}

function dnsPorts(port: number) {
  return [
    { name: 'dns', port, protocol: 'UDP' },
    { name: 'dns-tcp', port, protocol: 'TCP' },
  ];
}

/** Creates the kube-dns Service (if missing) and this node's EndpointSlice for it. Idempotent. */
export async function publishDnsEndpoint(client: RestClient, ep: DnsEndpoint): Promise<void> {
  const svc: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE, namespace: NAMESPACE, labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS', 'kubernetes.io/cluster-service': 'true' } },
    // No selector: the endpoints are the nodes' DNS servers, announced below, not pods.
    spec: { type: 'ClusterIP', clusterIP: ep.clusterIP, ports: dnsPorts(53).map((p) => ({ ...p, targetPort: ep.port })) },
  };
  try {
    await client.create(SERVICES, NAMESPACE, svc, 'kite-dns');
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 409)) throw new Error(`cannot create the ${NAMESPACE}/${SERVICE} service at ${ep.clusterIP}: ${(e as Error).message}; --cluster-dns must be a free address inside the service CIDR`);
  }
  const name = `${SERVICE}-${ep.nodeName}`.slice(0, 253);
  const slice: KubeObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': SERVICE, 'endpointslice.kubernetes.io/managed-by': MANAGED_BY } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [ep.nodeIP], conditions: { ready: true }, nodeName: ep.nodeName }],
    ports: dnsPorts(ep.port),
  };
  try {
    await client.patch(SLICES, NAMESPACE, name, 'apply', slice, { fieldManager: 'kite-dns', force: true });
  } catch (e) {
    throw new Error(`cannot publish this node's DNS endpoint (${NAMESPACE}/${name}): ${(e as Error).message}`);
  }
}

/** Withdraws this node's endpoint (the service stays for the other nodes). */
export async function withdrawDnsEndpoint(client: RestClient, nodeName: string): Promise<void> {
  try {
    await client.delete(SLICES, NAMESPACE, `${SERVICE}-${nodeName}`.slice(0, 253));
  } catch (e) {
    if (!(e instanceof StatusError && e.code === 404)) throw e;
  }
}
