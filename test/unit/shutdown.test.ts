import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shutdown } from '../../src/cli/shutdown.js';

// A role's shutdown: steps in order, a hung or failing step named in the log and passed over, and an exit
// even when a forgotten handle would keep the process alive.

/** Options that never exit the test process; `exited` settles if the fallback exit fires. */
function harness(o: { stepTimeoutMs?: number; exitAfterMs?: number; exitCode?: number } = {}) {
  const logs: string[] = [];
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (exit = resolve));
  return { logs, exited, opts: { log: (m: string) => logs.push(m), exit: (code: number) => exit(code), exitAfterMs: 60_000, ...o } };
}

test('steps run in order, each awaited before the next', async () => {
  const h = harness();
  const order: string[] = [];
  await shutdown(
    [
      { name: 'agent', run: async () => (await Promise.resolve(), order.push('agent')) },
      { name: 'control plane', run: () => order.push('control plane') },
      { name: 'storage', run: async () => (await new Promise((r) => setImmediate(r)), order.push('storage')) },
    ],
    h.opts,
  );
  assert.deepEqual(order, ['agent', 'control plane', 'storage']);
  assert.deepEqual(h.logs, []);
});

test('a step that never finishes is named, and the next steps still run', async () => {
  const h = harness({ stepTimeoutMs: 100 });
  const order: string[] = [];
  await shutdown(
    [
      { name: 'API server', run: () => new Promise<void>(() => undefined) },
      { name: 'informers', run: () => new Promise<void>(() => undefined), timeoutMs: 300 },
      { name: 'storage', run: () => order.push('storage') },
    ],
    h.opts,
  );
  assert.deepEqual(order, ['storage']);
  assert.deepEqual(h.logs, ['shutdown: API server did not finish within 0.1 s; going on', 'shutdown: informers did not finish within 0.3 s; going on']);
});

test('a failing step is logged, not thrown, and the next steps still run', async () => {
  const h = harness();
  const order: string[] = [];
  await shutdown(
    [
      {
        name: 'node agent',
        run: async () => {
          throw new Error('runc said no');
        },
      },
      {
        name: 'compactor',
        run: () => {
          throw new Error('already stopped');
        },
      },
      { name: 'storage', run: () => order.push('storage') },
    ],
    h.opts,
  );
  assert.deepEqual(order, ['storage']);
  assert.deepEqual(h.logs, ['shutdown: node agent failed: runc said no', 'shutdown: compactor failed: already stopped']);
});

test('a process held alive by a forgotten handle after its shutdown exits with the given code', async () => {
  const h = harness({ exitAfterMs: 100, exitCode: 3 });
  const forgotten = setInterval(() => undefined, 1000);
  try {
    await shutdown([{ name: 'server', run: () => undefined }], h.opts);
    assert.equal(await h.exited, 3);
    assert.equal(h.logs.length, 1);
    assert.match(h.logs[0]!, /^shutdown: still running 0.1 s after shutdown, held by .*Timeout.*; exiting$/);
  } finally {
    clearInterval(forgotten);
  }
});
