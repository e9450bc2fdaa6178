import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriLogDecoder, parseLogTime, streamCriLog, type LogOptions } from '../../src/agent/streaming/crilog.js';

const T1 = '2026-11-21T22:59:05.084011587+00:00';
const T2 = '2026-11-21T22:59:06.5Z';
const T3 = '2026-11-21T23:59:07+01:00';

test('CRI log times are read to nanoseconds and printed in UTC with nine digits', () => {
  assert.deepEqual(parseLogTime(T1), { time: '2026-11-21T22:59:05.084011587Z', ms: Date.parse('2026-11-21T22:59:05.084Z') });
  assert.equal(parseLogTime(T2)?.time, '2026-11-21T22:59:06.500000000Z');
  assert.equal(parseLogTime(T3)?.time, '2026-11-21T22:59:07.000000000Z');
  assert.equal(parseLogTime('yesterday'), undefined);
});

test('the decoder joins partial records per stream and keeps unfinished lines between chunks', () => {
  const d = new CriLogDecoder();
  const text = [`${T1} stdout P hel`, `${T1} stderr F oops`, `${T2} stdout P lo `, `${T2} stdout F world`, `${T2} stdout F`, `${T3} stdout F with  two  spaces`, ''].join('\n');
  const buf = Buffer.from(text);
  const entries = [...d.push(buf.subarray(0, 40)), ...d.push(buf.subarray(40, 41)), ...d.push(buf.subarray(41))];
  assert.deepEqual(
    entries.map((e) => [e.stream, e.content.toString(), e.time]),
    [
      ['stderr', 'oops', '2026-11-21T22:59:05.084011587Z'],
      ['stdout', 'hello world', '2026-11-21T22:59:05.084011587Z'],
      ['stdout', '', '2026-11-21T22:59:06.500000000Z'],
      ['stdout', 'with  two  spaces', '2026-11-21T22:59:07.000000000Z'],
    ],
  );
  assert.deepEqual(d.push(Buffer.from(`${T3} stdout P unfinished`)), []);
  assert.deepEqual(d.push(Buffer.from('\n')), []);
  const rest = d.flush();
  assert.equal(rest.length, 1);
  assert.equal(rest[0]!.content.toString(), 'unfinished');
  assert.equal(rest[0]!.complete, false);
});

async function read(path: string, opts: Partial<LogOptions>, running = async () => false): Promise<string> {
  let out = '';
  await streamCriLog(path, { follow: false, timestamps: false, ...opts }, { write: async (b) => void (out += b.toString()), closed: () => false }, running);
  return out;
}

test('logs honour tailLines, sinceTime, timestamps and limitBytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-crilog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, '0.log');
  writeFileSync(path, [`${T1} stdout F one`, `${T2} stdout F two`, `${T3} stderr F three`, ''].join('\n'));
  assert.equal(await read(path, {}), 'one\ntwo\nthree\n');
  assert.equal(await read(path, { tailLines: 2 }), 'two\nthree\n');
  assert.equal(await read(path, { tailLines: 0 }), '');
  assert.equal(await read(path, { sinceMs: Date.parse('2026-11-21T22:59:06Z') }), 'two\nthree\n');
  assert.equal(await read(path, { timestamps: true, tailLines: 1 }), '2026-11-21T22:59:07.000000000Z three\n');
  assert.equal(await read(path, { limitBytes: 6 }), 'one\ntw');
  assert.equal(await read(join(dir, 'missing.log'), {}), '');
});

test('following a log sees appends, survives rotation and truncation, and ends when the container stops', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kite-crilog-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, '0.log');
  writeFileSync(path, `${T1} stdout F first\n`);
  let running = true;
  let out = '';
  const done = streamCriLog(path, { follow: true, timestamps: false }, { write: async (b) => void (out += b.toString()), closed: () => false }, async () => running);
  const until = async (what: string, ok: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(out)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until('the first line', () => out === 'first\n');
  appendFileSync(path, `${T2} stdout P sec`);
  appendFileSync(path, `\n${T2} stdout F ond\n`);
  await until('the joined second line', () => out === 'first\nsecond\n');
  // Rotation: the file is renamed and a new one takes its place.
  renameSync(path, `${path}.1`);
  writeFileSync(path, `${T3} stdout F third, a line long enough that the next file is shorter\n`);
  await until('the line in the new file', () => out.endsWith('shorter\n'));
  // Truncation in place, as conmon does: noticed because the file is now shorter than what was read.
  truncateSync(path, 0);
  appendFileSync(path, `${T3} stdout F fourth\n`);
  await until('the line after truncation', () => out.endsWith('fourth\n'));
  appendFileSync(path, `${T3} stdout F last words\n`);
  running = false;
  await done;
  assert.equal(out, 'first\nsecond\nthird, a line long enough that the next file is shorter\nfourth\nlast words\n');
});
