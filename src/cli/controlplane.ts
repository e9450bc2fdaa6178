import { hostname } from 'node:os';
import { RestClient, type ClientConfig } from '../client/rest.js';
import { InformerFactory } from '../client/informer.js';
import { EventRecorder } from '../client/events.js';
import { LeaderElector } from '../client/leaderelection.js';
import { startControllers } from '../controllers/manager.js';
import type { Controller, ControllerOptions } from '../controllers/runtime.js';
import { scheduler } from '../scheduler/index.js';

// The control loops of `kite server`: controllers and the scheduler, run only while this process holds the
// leader Lease, so several servers can share one datastore. They reach the API through its HTTP handling like
// any client, over the in-process connections the config provides (ClientConfig.connect).

export interface ControlPlaneOptions extends ControllerOptions {
  config: ClientConfig;
  disabledControllers: Set<string>;
  log(msg: string): void;
}

export function startControlPlane(opts: ControlPlaneOptions): { stop(): Promise<void> } {
  const client = new RestClient({ ...opts.config, userAgent: 'kube-controller-manager' });
  let informers: InformerFactory | undefined;
  let running: Controller[] = [];
  const elector = new LeaderElector(client, {
    name: 'kite-control-plane',
    namespace: 'kube-system',
    identity: `${hostname()}_${process.pid}`,
    onStartedLeading() {
      opts.log('became leader: starting controllers and scheduler');
      informers = new InformerFactory(client, opts.log);
      const ctx = {
        client,
        informers,
        recorder: (component: string) => new EventRecorder(client, component),
        log: opts.log,
        options: opts,
      };
      const sched = opts.disabledControllers.has('scheduler') ? undefined : scheduler();
      if (sched) sched.start(ctx);
      running = [...startControllers(ctx, opts.disabledControllers), ...(sched ? [sched] : [])];
    },
    onStoppedLeading() {
      opts.log('lost leadership: stopping controllers');
      for (const c of running) c.stop();
      running = [];
      void informers?.stop();
    },
  });
  elector.start();
  return {
    async stop() {
      await elector.stop();
      await informers?.stop();
      client.close();
    },
  };
}
