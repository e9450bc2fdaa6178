import { Worker, type MessagePort } from 'node:worker_threads';
import type { Duplex } from 'node:stream';
import { PortPipe } from '../client/portpipe.js';
import type { ClientConfig } from '../client/rest.js';
import type { ControlPlaneOptions } from './controlplane.js';

// `kite server` runs its controllers and scheduler in a worker thread, so their side of every request
// (HTTP framing, JSON parsing, informer caches, scheduling cycles and the garbage they make) runs on a second
// core beside the API server, as k3s runs kube-controller-manager and kube-scheduler beside kube-apiserver in
// one binary. They still reach the API only through HTTP: each connection is a PortPipe whose server end
// this thread hands to the API server (ApiServer.accept).

/** What the worker gets: the control plane's options, minus what cannot cross threads (functions). */
export interface ControlPlaneWorkerData extends Omit<ControlPlaneOptions, 'config' | 'log'> {
  config: Omit<ClientConfig, 'connect'>;
}

/** From the worker: a new connection's server end, a log line, or the end of its stop(). */
export type FromControlPlaneWorker = { type: 'connect'; port: MessagePort } | { type: 'log'; msg: string } | { type: 'stopped' };
/** To the worker. */
export type ToControlPlaneWorker = { type: 'stop' };

export interface ControlPlaneThreadOptions extends Omit<ControlPlaneOptions, 'config'> {
  config: ClientConfig;
  /** Serves the server end of each of the worker's connections (ApiServer.accept). */
  accept(serverEnd: Duplex): void;
}

export interface ControlPlaneThread {
  /** Resolves when the worker ends without being asked to (an uncaught error, an exit): the process must not go on. */
  readonly died: Promise<Error>;
  /** Asks the control plane to stop (it hands its Lease back through the API), waits for it, then ends the thread. */
  stop(): Promise<void>;
}

export function startControlPlaneThread(opts: ControlPlaneThreadOptions): ControlPlaneThread {
  const { accept, log, config, ...rest } = opts;
  const { connect: _connect, ...portableConfig } = config;
  const workerData: ControlPlaneWorkerData = { ...rest, config: portableConfig };
  const worker = new Worker(new URL('./controlplaneworker.js', import.meta.url), { workerData });
  let stopping = false;
  let stopped: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (stopped = resolve));
  worker.on('message', (m: FromControlPlaneWorker) => {
    if (m.type === 'connect') accept(new PortPipe(m.port));
    else if (m.type === 'log') log(m.msg);
    else stopped();
  });
  const died = new Promise<Error>((resolve) => {
    let error: Error | undefined;
    worker.on('error', (e) => (error = e));
    worker.on('exit', (code) => {
      stopped();
      if (!stopping) resolve(error ?? new Error(`its thread exited with code ${code}`));
    });
  });
  return {
    died,
    async stop() {
      stopping = true;
      const message: ToControlPlaneWorker = { type: 'stop' };
      worker.postMessage(message);
      await finished;
      await worker.terminate();
    },
  };
}
