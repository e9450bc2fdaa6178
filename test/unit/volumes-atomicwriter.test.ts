import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readdirSync, readlinkSync, readFileSync, statSync, lstatSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePayload, readPayload, type Payload } from '../../src/agent/volumes/atomicwriter.js';

// The kubelet's atomic-writer layout, on a plain directory (the manager puts it on tmpfs; the layout is the same).

function tmp(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'kite-volumes-aw-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function payload(entries: Record<string, string | [string, number]>): Payload {
  return new Map(Object.entries(entries).map(([k, v]) => [k, typeof v === 'string' ? { data: Buffer.from(v), mode: 0o644 } : { data: Buffer.from(v[0]), mode: v[1] }]));
}

test('first write: a timestamped data dir, ..data pointing at it, and one symlink per top-level key', async (t) => {
  const d = tmp(t);
  assert.equal(await writePayload(d, payload({ 'app.conf': 'a=1', 'nested/deep/x.txt': 'x' })), true);
  const data = readlinkSync(join(d, '..data'));
  assert.match(data, /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\w+$/);
  assert.equal(readlinkSync(join(d, 'app.conf')), '..data/app.conf');
  assert.equal(readlinkSync(join(d, 'nested')), '..data/nested');
  assert.equal(readFileSync(join(d, 'app.conf'), 'utf8'), 'a=1');
  assert.equal(readFileSync(join(d, 'nested/deep/x.txt'), 'utf8'), 'x');
  assert.deepEqual(readdirSync(d).sort(), ['..data', data, 'app.conf', 'nested'].sort());
});

test('modes: defaults and per-item modes are applied despite the umask; fsGroup adds group read', async (t) => {
  const d = tmp(t);
  await writePayload(d, payload({ a: ['1', 0o644], b: ['2', 0o400], c: ['3', 0o777] }));
  assert.equal(statSync(join(d, 'a')).mode & 0o777, 0o644);
  assert.equal(statSync(join(d, 'b')).mode & 0o777, 0o400);
  assert.equal(statSync(join(d, 'c')).mode & 0o777, 0o777);
  const g = tmp(t);
  await writePayload(g, payload({ b: ['2', 0o400] }), { fsGroup: 2000 });
  const st = statSync(join(g, 'b'));
  assert.equal(st.mode & 0o777, 0o440);
  assert.equal(st.gid, 2000);
});

test('an update swaps ..data to a new dir, removes the old dir and the symlinks of keys that went away', async (t) => {
  const d = tmp(t);
  await writePayload(d, payload({ keep: 'v1', gone: 'old' }));
  const before = readlinkSync(join(d, '..data'));
  const linkIno = lstatSync(join(d, 'keep')).ino;
  // An identical payload writes nothing.
  assert.equal(await writePayload(d, payload({ keep: 'v1', gone: 'old' })), false);
  assert.equal(readlinkSync(join(d, '..data')), before);

  assert.equal(await writePayload(d, payload({ keep: 'v2', added: 'new' })), true);
  const after = readlinkSync(join(d, '..data'));
  assert.notEqual(after, before);
  assert.equal(existsSync(join(d, before)), false, 'old data dir removed');
  assert.equal(existsSync(join(d, 'gone')), false, 'symlink of a removed key removed');
  assert.equal(existsSync(join(d, '..data_tmp')), false);
  assert.equal(lstatSync(join(d, 'keep')).ino, linkIno, 'user-visible symlinks of kept keys are not recreated');
  assert.equal(readFileSync(join(d, 'keep'), 'utf8'), 'v2');
  assert.equal(readFileSync(join(d, 'added'), 'utf8'), 'new');
  assert.deepEqual(
    [...(await readPayload(d))].map(([k, v]) => [k, v.data.toString()]).sort(),
    [
      ['added', 'new'],
      ['keep', 'v2'],
    ],
  );
  // A mode change alone is an update too.
  assert.equal(await writePayload(d, payload({ keep: ['v2', 0o600], added: 'new' })), true);
  assert.equal(statSync(join(d, 'keep')).mode & 0o777, 0o600);
});

test('readers never see a key vanish or a half-written payload while updates run', async (t) => {
  const d = tmp(t);
  await writePayload(d, payload({ a: 'gen0', b: 'gen0' }));
  let stop = false;
  const seen = new Set<string>();
  const reader = (async () => {
    while (!stop) {
      // Both files read through one resolution of ..data must be from the same generation.
      const data = readlinkSync(join(d, '..data'));
      try {
        const [a, b] = await Promise.all([readFile(join(d, data, 'a'), 'utf8'), readFile(join(d, data, 'b'), 'utf8')]);
        assert.equal(a, b, 'one generation per data dir');
      } catch (e) {
        // The writer may already have removed that (old) dir: only ENOENT is acceptable.
        assert.equal((e as NodeJS.ErrnoException).code, 'ENOENT');
      }
      seen.add(await readFile(join(d, 'a'), 'utf8')); // the user-visible path never disappears
    }
  })();
  for (let i = 1; i <= 50; i++) await writePayload(d, payload({ a: `gen${i}`, b: `gen${i}` }));
  stop = true;
  await reader;
  assert.equal(readFileSync(join(d, 'a'), 'utf8'), 'gen50');
  assert.equal(readdirSync(d).filter((e) => /^\.\.\d{4}_/.test(e)).length, 1, 'only the current data dir is left');
  assert.ok(seen.size >= 1);
});

test('paths that escape the volume are refused', async (t) => {
  const d = tmp(t);
  for (const bad of ['../x', '/abs', 'a/../../b', '..hidden']) await assert.rejects(writePayload(d, payload({ [bad]: 'x' })), /invalid path/);
});
