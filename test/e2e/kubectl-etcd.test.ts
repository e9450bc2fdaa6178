import { test } from 'node:test';
import { startCluster } from '../helpers/cluster.js';
import { startEtcd } from '../helpers/etcd.js';
import { coreFlow } from './kubectl-flow.js';

test('kubectl against kite server on etcd', async (t) => {
  const etcd = await startEtcd();
  try {
    const c = await startCluster({ datastoreEndpoint: etcd.endpoint });
    try {
      await coreFlow(t, c);
    } finally {
      await c.stop();
    }
  } finally {
    await etcd.stop();
  }
});
