import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { RestClient, configFromKubeconfig } from '../../src/client/rest.js';
import type { KubeObject } from '../../src/api/object.js';
import { volumeNameFor, volumePathFor } from '../../src/controllers/storage/localpath.js';
import { sweepLocalPathVolumes } from '../../src/agent/volumes/localpath.js';

// The local-path layout, and the node-side sweep that removes the directories of deleted volumes.

const claim: KubeObject = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'shop', uid: '0b4c2a4e-1111-4222-8333-944445555666' } };

test('volume name and path follow local-path-provisioner', () => {
  assert.equal(volumeNameFor(claim), 'pvc-0b4c2a4e-1111-4222-8333-944445555666');
  assert.equal(volumePathFor('/var/lib/kite/storage/', claim), '/var/lib/kite/storage/pvc-0b4c2a4e-1111-4222-8333-944445555666_shop_data');
});

let c: Cluster;
let client: RestClient;
let base: string;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'kite-volumes-lp-'));
  c = await startCluster({ extraArgs: ['--disable-controllers', 'scheduler,local-path-provisioner'] });
  client = new RestClient(configFromKubeconfig(c.kubeconfig));
});

after(async () => {
  client?.close();
  await c?.stop();
  if (base) rmSync(base, { recursive: true, force: true });
});

test('the sweep removes directories of volumes that no longer exist, and nothing else', async () => {
  const live = 'pvc-11111111-2222-4333-8444-555555555555';
  const gone = 'pvc-99999999-2222-4333-8444-555555555555';
  const r = await c.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: ${live}}\nspec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: ${base}/${live}_default_a}}\n`,
  });
  assert.equal(r.code, 0, r.stderr);
  for (const d of [`${live}_default_a`, `${gone}_default_b`, 'not-a-volume']) {
    mkdirSync(join(base, d));
    writeFileSync(join(base, d, 'f'), 'x');
  }
  const logs: string[] = [];
  const removed = await sweepLocalPathVolumes({ client, basePath: base, log: (m) => logs.push(m) });
  assert.deepEqual(removed, [`${gone}_default_b`]);
  assert.deepEqual(readdirSync(base).sort(), ['not-a-volume', `${live}_default_a`]);
  assert.match(logs.join('\n'), new RegExp(`persistentvolume ${gone} no longer exists`));
  assert.deepEqual(await sweepLocalPathVolumes({ client, basePath: join(base, 'absent'), log: () => undefined }), []);
});
