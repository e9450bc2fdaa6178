import { test } from 'node:test';
import { startCluster } from '../helpers/cluster.js';
import { coreFlow } from './kubectl-flow.js';

test('kubectl against kite server on SQLite', async (t) => {
  const c = await startCluster();
  try {
    await coreFlow(t, c);
  } finally {
    await c.stop();
  }
});
