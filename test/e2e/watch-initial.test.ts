import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { startCluster } from '../helpers/cluster.js';
import { apiClient } from '../helpers/api.js';

// A watch without a resourceVersion starts with every existing object as ADDED. That state can be far larger
// than the buffer a live watcher may fall behind by, and a client reading it must still get all of it.

test('a watch starting from the current state delivers all of a large collection, then live changes', async () => {
  const c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler'] });
  try {
    const api = apiClient(c);
    const ns = 'big';
    assert.equal((await api.call('POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }))).status, 201);
    // 2,000 ConfigMaps of 12 KB each: about 24 MB of initial state, above the 16 MB a live watcher may lag.
    const filler = 'x'.repeat(12 * 1024);
    const total = 2000;
    for (let i = 0; i < total; i += 50) {
      const batch = [];
      for (let j = i; j < i + 50; j++) {
        batch.push(api.call('POST', `/api/v1/namespaces/${ns}/configmaps`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${j}` }, data: { filler } })));
      }
      for (const r of await Promise.all(batch)) assert.equal(r.status, 201, r.body);
    }
    const seen = new Set<string>();
    let liveSeen = false;
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: c.port, path: `/api/v1/namespaces/${ns}/configmaps?watch=true`, agent: api.agent, headers: { Authorization: `Bearer ${api.token}` } }, (res) => {
        assert.equal(res.statusCode, 200);
        let rest = '';
        let created = false;
        res.on('data', (d: Buffer) => {
          const lines = (rest + d.toString('utf8')).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) {
            const ev = JSON.parse(line) as { type: string; object: { metadata: { name: string } } };
            if (ev.type === 'ADDED' && ev.object.metadata.name === 'after') liveSeen = true;
            else if (ev.type === 'ADDED' && ev.object.metadata.name.startsWith('cm-')) seen.add(ev.object.metadata.name);
          }
          if (seen.size === total && !created) {
            created = true;
            void api.call('POST', `/api/v1/namespaces/${ns}/configmaps`, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after' } }));
          }
          if (liveSeen) {
            req.destroy();
            resolve();
          }
        });
        res.on('end', () => reject(new Error(`watch ended after ${seen.size} of ${total} objects`)));
      });
      req.on('error', (e) => (liveSeen ? resolve() : reject(e)));
      req.end();
    });
    assert.equal(seen.size, total);
    assert.ok(liveSeen);
    api.agent.destroy();
  } finally {
    await c.stop();
  }
});
