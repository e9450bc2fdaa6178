import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { StatusError, notFound } from '../../src/api/errors.js';
import type { RestClient } from '../../src/client/rest.js';
import { ApiSourceReader } from '../../src/agent/volumes/reader.js';

// The node agent's projected service-account tokens: a ServiceAccount that is missing fails the mount (it is
// retried, as the kubelet's is), while an API server without TokenRequest gives pods their volume untokened.

const pod: Pod = { metadata: { name: 'web', namespace: 'shop', uid: 'u1' }, spec: { serviceAccountName: 'default', containers: [] } };

function readerAnswering(answers: Array<() => unknown>): { reader: ApiSourceReader; logs: string[]; calls: () => number } {
  let calls = 0;
  const client = {
    request: async () => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      return answer();
    },
  } as unknown as RestClient;
  const logs: string[] = [];
  return { reader: new ApiSourceReader(client, 'node-1', (m) => logs.push(m)), logs, calls: () => calls };
}

test('a missing ServiceAccount fails the token, and the next attempt asks again', async () => {
  const { reader, calls } = readerAnswering([
    () => {
      throw notFound('serviceaccounts', '', 'default');
    },
    () => ({ status: { token: 'tok', expirationTimestamp: new Date(Date.now() + 3600_000).toISOString() } }),
  ]);
  await assert.rejects(reader.serviceAccountToken(pod, undefined, 3607), (e: unknown) => e instanceof StatusError && e.code === 404);
  assert.equal(await reader.serviceAccountToken(pod, undefined, 3607), 'tok');
  assert.equal(calls(), 2);
});

test('an API server without TokenRequest: the volume goes without a token, and the agent says why', async () => {
  const { reader, logs, calls } = readerAnswering([
    () => {
      throw new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    },
  ]);
  assert.equal(await reader.serviceAccountToken(pod, undefined, 3607), undefined);
  assert.equal(await reader.serviceAccountToken(pod, undefined, 3607), undefined);
  assert.equal(calls(), 1, 'not asked again at once');
  assert.ok(logs.some((l) => /serviceaccounts\/default\/token in shop is not served/.test(l)), logs.join('\n'));
});
