import type { IncomingMessage } from 'node:http';
import type { RuntimeService } from '../../runtime/interface.js';

// The agent's streaming endpoint (the kubelet's :10250): container logs, exec, attach, port-forward and stats,
// reached only through the API server's pods/log|exec|attach|portforward proxies.

/** What the streaming server needs to know about a pod's containers; the agent answers from its pod workers. */
export interface ContainerLocator {
  /** The current (or last) runtime container of a pod's container, and the one before it (for --previous). */
  container(namespace: string, pod: string, container: string): Promise<{ current?: { id: string; logPath: string; running: boolean }; previous?: { id: string; logPath: string } } | undefined>;
  /** The pod's sandbox, for port-forward. */
  sandbox(namespace: string, pod: string): Promise<{ id: string } | undefined>;
  /** Every pod running on this node with its running containers, for stats. */
  pods(): Promise<Array<{ namespace: string; name: string; uid: string; containers: Array<{ name: string; id: string }> }>>;
}

export interface StreamingServerOptions {
  port: number;
  bindAddress: string;
  /** PEM key and certificate to serve with. */
  tls: { keyPem: string; certPem: string };
  /** True when the request carries the cluster's credentials (the API server's bearer token). */
  authenticate(req: IncomingMessage): boolean;
  runtime: RuntimeService;
  locator: ContainerLocator;
  log(msg: string): void;
}

export interface StreamingServer {
  port: number;
  close(): Promise<void>;
}

export async function startStreamingServer(opts: StreamingServerOptions): Promise<StreamingServer> {
  void opts;
  throw new Error('streaming server not implemented yet');
}
