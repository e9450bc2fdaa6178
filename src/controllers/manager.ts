import type { Controller, ControllerContext } from './runtime.js';
import { workloadsControllers } from './workloads/index.js';
import { lifecycleControllers } from './lifecycle/index.js';
import { batchControllers } from './batch/index.js';
import { nodesControllers } from './nodes/index.js';
import { appsControllers } from './apps/index.js';
import { storageControllers } from './storage/index.js';
import { RootCACertPublisher } from './lifecycle/rootcacertpublisher.js';

// kube-controller-manager's role inside `kite server`: every controller, over shared informers, each one
// switchable off by name (--disable-controllers).

export function allControllers(): Controller[] {
  return [...workloadsControllers(), ...appsControllers(), ...lifecycleControllers(), ...nodesControllers(), ...batchControllers(), ...storageControllers(), new RootCACertPublisher()];
}

export function startControllers(ctx: ControllerContext, disabled: Set<string>): Controller[] {
  const running = allControllers().filter((c) => !disabled.has(c.name));
  for (const c of running) c.start(ctx);
  ctx.informers.start();
  return running;
}
