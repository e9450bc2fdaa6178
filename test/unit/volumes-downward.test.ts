import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { downwardFile, formatMap } from '../../src/agent/volumes/downward.js';

// downwardAPI file contents, formatted as the kubelet formats them.

const pod: Pod = {
  metadata: { name: 'web', namespace: 'shop', uid: 'u-1', labels: { tier: 'front', app: 'web' }, annotations: { note: 'say "hi"\nbye' } },
  spec: {
    containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { memory: '128Mi' } } }],
  },
};

test('metadata fields, labels and annotations (sorted, Go-quoted, no trailing newline)', () => {
  const f = (fieldPath: string) => downwardFile(pod, { path: 'p', fieldRef: { fieldPath } }, {});
  assert.equal(f('metadata.name'), 'web');
  assert.equal(f('metadata.namespace'), 'shop');
  assert.equal(f('metadata.uid'), 'u-1');
  assert.equal(f('metadata.labels'), 'app="web"\ntier="front"');
  assert.equal(f('metadata.annotations'), 'note="say \\"hi\\"\\nbye"');
  assert.equal(f("metadata.labels['tier']"), 'front');
  assert.equal(formatMap({}), '');
  assert.throws(() => f('status.podIP'), /unsupported fieldPath: status.podIP/);
});

test('resources: divisors round up; an unset limit falls back to node allocatable', () => {
  const r = (resource: string, divisor?: string) => downwardFile(pod, { path: 'p', resourceFieldRef: { containerName: 'c', resource, divisor } }, { cpu: '2', memory: '1Gi' });
  assert.equal(r('requests.cpu'), '1'); // 250m in whole cores, rounded up
  assert.equal(r('requests.cpu', '1m'), '250');
  assert.equal(r('requests.memory', '1Mi'), '64');
  assert.equal(r('limits.memory'), String(128 * 1024 * 1024));
  assert.equal(r('limits.cpu', '1m'), '2000');
  assert.equal(r('limits.memory', '1Gi'), '1');
  assert.throws(() => r('limits.gpu'), /unsupported container resource/);
});
