import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import * as zlib from 'node:zlib';
import {
  FLAG_FIN,
  FrameParser,
  HeaderCompressor,
  HeaderDecompressor,
  SPDY_DICTIONARY,
  SpdySession,
  decodeHeaderBlock,
  encodeFrame,
  encodeHeaderBlock,
  type SpdyFrame,
} from '../../src/agent/streaming/spdy.js';

const FRAMES: SpdyFrame[] = [
  { type: 'data', streamId: 5, flags: FLAG_FIN, data: Buffer.from('hello') },
  { type: 'data', streamId: 0x7fffffff, flags: 0, data: Buffer.alloc(0) },
  { type: 'syn_stream', streamId: 1, associatedId: 0, priority: 3, flags: FLAG_FIN, headerBlock: Buffer.from([1, 2, 3]) },
  { type: 'syn_reply', streamId: 3, flags: 0, headerBlock: Buffer.from([9]) },
  { type: 'headers', streamId: 3, flags: 0, headerBlock: Buffer.alloc(0) },
  { type: 'rst_stream', streamId: 7, status: 5 },
  { type: 'settings', flags: 1, entries: [{ flags: 0, id: 7, value: 65536 }, { flags: 1, id: 4, value: 100 }] },
  { type: 'ping', id: 0xfffffffe },
  { type: 'goaway', lastGoodStreamId: 9, status: 0 },
  { type: 'window_update', streamId: 1, delta: 1 << 20 },
];

test('SPDY frames round-trip through the encoder and parser, split or coalesced', () => {
  const wire = Buffer.concat(FRAMES.map(encodeFrame));
  assert.deepEqual(new FrameParser().push(wire), FRAMES);
  // One byte at a time, as a WebSocket tunnel may cut them.
  const p = new FrameParser();
  const got: SpdyFrame[] = [];
  for (const b of wire) got.push(...p.push(Buffer.of(b)));
  assert.deepEqual(got, FRAMES);
});

test('SPDY control frame header layout', () => {
  const ping = encodeFrame({ type: 'ping', id: 1 });
  assert.equal(ping.toString('hex'), '800300060000000400000001');
  const data = encodeFrame({ type: 'data', streamId: 3, flags: FLAG_FIN, data: Buffer.from('ab') });
  assert.equal(data.toString('hex'), '00000003010000026162');
  assert.throws(() => new FrameParser().push(Buffer.from('800200060000000400000001', 'hex')), /unsupported SPDY version 2/);
});

test('header blocks encode names in lower case with u32 lengths', () => {
  const block = encodeHeaderBlock({ StreamType: 'error', port: '80' });
  assert.equal(block.readUInt32BE(0), 2);
  assert.equal(block.readUInt32BE(4), 10);
  assert.equal(block.subarray(8, 18).toString(), 'streamtype');
  assert.deepEqual(decodeHeaderBlock(block), { streamtype: 'error', port: '80' });
  assert.throws(() => decodeHeaderBlock(block.subarray(0, 12)), /truncated/);
});

test('header compression keeps one zlib context per direction with the SPDY/3 dictionary', async () => {
  assert.equal(SPDY_DICTIONARY.length, 1423);
  assert.equal(SPDY_DICTIONARY.subarray(0, 11).toString('latin1'), '\0\0\0\x07options');
  const c = new HeaderCompressor();
  const d = new HeaderDecompressor();
  const blocks: Array<Record<string, string>> = [{ streamtype: 'error', port: '8080', requestid: '0' }, { streamtype: 'data', port: '8080', requestid: '0' }, {}, { streamtype: 'stdout' }];
  const compressed: Buffer[] = [];
  for (const h of blocks) {
    const z = await c.compress(h);
    compressed.push(z);
    assert.deepEqual(await d.decompress(z), h);
  }
  // The first block is a zlib stream that names the dictionary (FDICT set, DICTID = adler32 of it).
  assert.equal(compressed[0]![1]! & 0x20, 0x20);
  // An independent inflater with the same dictionary reads the whole sequence.
  const all = zlib.inflateSync(Buffer.concat(compressed), { dictionary: SPDY_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.deepEqual(decodeHeaderBlock(all.subarray(0, encodeHeaderBlock(blocks[0]!).length)), blocks[0]);
  // Without the dictionary the peer cannot read it: the failure kubectl reports for a wrong dictionary.
  assert.throws(() => zlib.inflateSync(compressed[0]!, { finishFlush: zlib.constants.Z_SYNC_FLUSH }), /dictionary/i);
  c.close();
  d.close();
});

function pipePair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  return [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
}

/** A minimal SPDY client: what kubectl's side does, enough to drive the server session. */
class TestClient {
  private parser = new FrameParser();
  private comp = new HeaderCompressor();
  private decomp = new HeaderDecompressor();
  frames: SpdyFrame[] = [];
  replies = new Map<number, Record<string, string>>();
  data = new Map<number, Buffer>();
  fins = new Set<number>();
  private chain = Promise.resolve();

  constructor(private readonly conn: Duplex) {
    conn.on('data', (b: Buffer) => {
      for (const f of this.parser.push(b)) {
        this.chain = this.chain.then(async () => {
          this.frames.push(f);
          if (f.type === 'syn_reply') this.replies.set(f.streamId, await this.decomp.decompress(f.headerBlock));
          if (f.type === 'data') {
            this.data.set(f.streamId, Buffer.concat([this.data.get(f.streamId) ?? Buffer.alloc(0), f.data]));
            if (f.flags & FLAG_FIN) this.fins.add(f.streamId);
          }
        });
      }
    });
  }

  async open(id: number, headers: Record<string, string>, fin = false): Promise<void> {
    this.conn.write(encodeFrame({ type: 'syn_stream', streamId: id, associatedId: 0, priority: 0, flags: fin ? FLAG_FIN : 0, headerBlock: await this.comp.compress(headers) }));
  }

  send(f: SpdyFrame): void {
    this.conn.write(encodeFrame(f));
  }

  async until(what: string, ok: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

test('a SPDY session replies to new streams, carries data both ways and echoes pings', async () => {
  const [serverSide, clientSide] = pipePair();
  const session = new SpdySession(serverSide);
  const seen: Array<Record<string, string>> = [];
  session.on('stream', (s) => {
    seen.push(s.headers);
    // Echo in upper case, then FIN when the client has finished.
    s.on('data', (b: Buffer) => s.write(Buffer.from(b.toString().toUpperCase())));
    s.on('end', () => s.end());
  });
  const client = new TestClient(clientSide);
  await client.open(1, { streamtype: 'data', port: '80', requestid: '0' });
  await client.open(3, { streamtype: 'error', port: '80', requestid: '0' }, true);
  client.send({ type: 'data', streamId: 1, flags: 0, data: Buffer.from('hello ') });
  client.send({ type: 'data', streamId: 1, flags: FLAG_FIN, data: Buffer.from('spdy') });
  client.send({ type: 'ping', id: 1 });
  client.send({ type: 'settings', flags: 0, entries: [{ flags: 0, id: 7, value: 1 }] });
  await client.until('the echo and both FINs', () => client.fins.has(1) && client.fins.has(3) && client.frames.some((f) => f.type === 'ping'));
  assert.deepEqual(seen, [{ streamtype: 'data', port: '80', requestid: '0' }, { streamtype: 'error', port: '80', requestid: '0' }]);
  assert.deepEqual([...client.replies.keys()], [1, 3]);
  assert.equal(client.data.get(1)?.toString(), 'HELLO SPDY');
  // SYN_REPLY comes before any DATA of its stream.
  const firstReply = client.frames.findIndex((f) => f.type === 'syn_reply' && f.streamId === 1);
  const firstData = client.frames.findIndex((f) => f.type === 'data' && f.streamId === 1);
  assert.ok(firstReply >= 0 && firstReply < firstData);
  await session.close();
  await client.until('GOAWAY', () => client.frames.some((f) => f.type === 'goaway'));
  assert.equal(session.isClosed, true);
});

test('a SPDY session ends its streams when the peer resets one or goes away', async () => {
  const [serverSide, clientSide] = pipePair();
  const session = new SpdySession(serverSide);
  const closed: number[] = [];
  session.on('stream', (s) => s.on('close', () => closed.push(s.id)));
  const client = new TestClient(clientSide);
  await client.open(1, { streamtype: 'stdin' });
  await client.open(3, { streamtype: 'stdout' });
  await client.until('two replies', () => client.replies.size === 2);
  client.send({ type: 'rst_stream', streamId: 1, status: 5 });
  await client.until('stream 1 to close', () => closed.includes(1));
  client.send({ type: 'goaway', lastGoodStreamId: 3, status: 0 });
  await client.until('stream 3 to close', () => closed.includes(3));
  assert.equal(session.isClosed, true);
});
