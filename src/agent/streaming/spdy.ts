import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import * as zlib from 'node:zlib';

// SPDY/3.1 as kubectl speaks it for exec/attach (the fallback to WebSocket) and port-forward (always, either
// on the upgraded TCP connection or tunnelled inside WebSocket messages). Only the server side is needed:
// the client opens every stream, the server replies and carries bytes. Flow control (WINDOW_UPDATE) is
// ignored in both directions, as the Go client (moby/spdystream) ignores it too.

/**
 * The zlib dictionary every SPDY/3 header block is compressed against (SPDY/3 draft §2.6.10.1).
 * Protocol data, embedded byte for byte from moby/spdystream spdy/dictionary.go (1423 bytes); a different
 * dictionary makes the peer fail with "Bad dictionary" / Z_NEED_DICT.
 */
export const SPDY_DICTIONARY: Buffer = Buffer.from(
    '000000076f7074696f6e73000000046865616400000004706f7374000000037075740000000664656c65746500000005' +
    '7472616365000000066163636570740000000e6163636570742d636861727365740000000f6163636570742d656e636f' +
    '64696e670000000f6163636570742d6c616e67756167650000000d6163636570742d72616e6765730000000361676500' +
    '000005616c6c6f770000000d617574686f72697a6174696f6e0000000d63616368652d636f6e74726f6c0000000a636f' +
    '6e6e656374696f6e0000000c636f6e74656e742d6261736500000010636f6e74656e742d656e636f64696e6700000010' +
    '636f6e74656e742d6c616e67756167650000000e636f6e74656e742d6c656e67746800000010636f6e74656e742d6c6f' +
    '636174696f6e0000000b636f6e74656e742d6d64350000000d636f6e74656e742d72616e67650000000c636f6e74656e' +
    '742d74797065000000046461746500000004657461670000000665787065637400000007657870697265730000000466' +
    '726f6d00000004686f73740000000869662d6d617463680000001169662d6d6f6469666965642d73696e63650000000d' +
    '69662d6e6f6e652d6d617463680000000869662d72616e67650000001369662d756e6d6f6469666965642d73696e6365' +
    '0000000d6c6173742d6d6f646966696564000000086c6f636174696f6e0000000c6d61782d666f727761726473000000' +
    '06707261676d610000001270726f78792d61757468656e7469636174650000001370726f78792d617574686f72697a61' +
    '74696f6e0000000572616e676500000007726566657265720000000b72657472792d6166746572000000067365727665' +
    '7200000002746500000007747261696c6572000000117472616e736665722d656e636f64696e67000000077570677261' +
    '64650000000a757365722d6167656e74000000047661727900000003766961000000077761726e696e67000000107777' +
    '772d61757468656e746963617465000000066d6574686f64000000036765740000000673746174757300000006323030' +
    '204f4b0000000776657273696f6e00000008485454502f312e310000000375726c000000067075626c69630000000a73' +
    '65742d636f6f6b69650000000a6b6565702d616c697665000000066f726967696e313030313031323031323032323035' +
    '323036333030333032333033333034333035333036333037343032343035343036343037343038343039343130343131' +
    '343132343133343134343135343136343137353032353034353035323033204e6f6e2d417574686f7269746174697665' +
    '20496e666f726d6174696f6e323034204e6f20436f6e74656e74333031204d6f766564205065726d616e656e746c7934' +
    '303020426164205265717565737434303120556e617574686f72697a656434303320466f7262696464656e343034204e' +
    '6f7420466f756e6435303020496e7465726e616c20536572766572204572726f72353031204e6f7420496d706c656d65' +
    '6e746564353033205365727669636520556e617661696c61626c654a616e20466562204d617220417072204d6179204a' +
    '756e204a756c204175672053657074204f6374204e6f76204465632030303a30303a3030204d6f6e2c205475652c2057' +
    '65642c205468752c204672692c205361742c2053756e2c20474d546368756e6b65642c746578742f68746d6c2c696d61' +
    '67652f706e672c696d6167652f6a70672c696d6167652f6769662c6170706c69636174696f6e2f786d6c2c6170706c69' +
    '636174696f6e2f7868746d6c2b786d6c2c746578742f706c61696e2c746578742f6a6176617363726970742c7075626c' +
    '6963707269766174656d61782d6167653d677a69702c6465666c6174652c73646368636861727365743d7574662d3863' +
    '6861727365743d69736f2d383835392d312c7574662d2c2a2c656e713d302e',
  'hex',
);

const VERSION = 3;

export const FRAME = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;
export const RST = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6 } as const;

/** The largest payload a frame can carry is 2^24-1; data is cut into smaller frames so streams interleave. */
const MAX_DATA_CHUNK = 32 * 1024;

export type SpdyFrame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedId: number; priority: number; flags: number; headerBlock: Buffer }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: Array<{ flags: number; id: number; value: number }> }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

function control(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h.writeUInt32BE(((flags & 0xff) << 24) | payload.length, 4);
  return Buffer.concat([h, payload]);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

export function encodeFrame(f: SpdyFrame): Buffer {
  switch (f.type) {
    case 'data': {
      if (f.data.length > 0xffffff) throw new Error(`SPDY data frame of ${f.data.length} bytes is too large`);
      const h = Buffer.alloc(8);
      h.writeUInt32BE(f.streamId & 0x7fffffff, 0);
      h.writeUInt32BE(((f.flags & 0xff) << 24) | f.data.length, 4);
      return Buffer.concat([h, f.data]);
    }
    case 'syn_stream': {
      const p = Buffer.alloc(10);
      p.writeUInt32BE(f.streamId & 0x7fffffff, 0);
      p.writeUInt32BE(f.associatedId & 0x7fffffff, 4);
      p.writeUInt8((f.priority & 0x7) << 5, 8);
      return control(FRAME.SYN_STREAM, f.flags, Buffer.concat([p, f.headerBlock]));
    }
    case 'syn_reply':
      return control(FRAME.SYN_REPLY, f.flags, Buffer.concat([u32s(f.streamId & 0x7fffffff), f.headerBlock]));
    case 'headers':
      return control(FRAME.HEADERS, f.flags, Buffer.concat([u32s(f.streamId & 0x7fffffff), f.headerBlock]));
    case 'rst_stream':
      return control(FRAME.RST_STREAM, 0, u32s(f.streamId & 0x7fffffff, f.status));
    case 'settings': {
      const p = Buffer.alloc(4 + f.entries.length * 8);
      p.writeUInt32BE(f.entries.length, 0);
      f.entries.forEach((e, i) => {
        p.writeUInt32BE((((e.flags & 0xff) << 24) | (e.id & 0xffffff)) >>> 0, 4 + i * 8);
        p.writeUInt32BE(e.value >>> 0, 8 + i * 8);
      });
      return control(FRAME.SETTINGS, f.flags, p);
    }
    case 'ping':
      return control(FRAME.PING, 0, u32s(f.id));
    case 'goaway':
      return control(FRAME.GOAWAY, 0, u32s(f.lastGoodStreamId & 0x7fffffff, f.status));
    case 'window_update':
      return control(FRAME.WINDOW_UPDATE, 0, u32s(f.streamId & 0x7fffffff, f.delta & 0x7fffffff));
    case 'unknown':
      return control(f.frameType, f.flags, f.payload);
  }
}

function decodeControl(type: number, flags: number, p: Buffer): SpdyFrame {
  const need = (n: number) => {
    if (p.length < n) throw new Error(`SPDY control frame type ${type} is too short (${p.length} bytes)`);
  };
  switch (type) {
    case FRAME.SYN_STREAM:
      need(10);
      return { type: 'syn_stream', streamId: p.readUInt32BE(0) & 0x7fffffff, associatedId: p.readUInt32BE(4) & 0x7fffffff, priority: p.readUInt8(8) >> 5, flags, headerBlock: p.subarray(10) };
    case FRAME.SYN_REPLY:
      need(4);
      return { type: 'syn_reply', streamId: p.readUInt32BE(0) & 0x7fffffff, flags, headerBlock: p.subarray(4) };
    case FRAME.HEADERS:
      need(4);
      return { type: 'headers', streamId: p.readUInt32BE(0) & 0x7fffffff, flags, headerBlock: p.subarray(4) };
    case FRAME.RST_STREAM:
      need(8);
      return { type: 'rst_stream', streamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
    case FRAME.SETTINGS: {
      need(4);
      const n = p.readUInt32BE(0);
      need(4 + n * 8);
      const entries = [];
      for (let i = 0; i < n; i++) {
        const w = p.readUInt32BE(4 + i * 8);
        entries.push({ flags: w >>> 24, id: w & 0xffffff, value: p.readUInt32BE(8 + i * 8) });
      }
      return { type: 'settings', flags, entries };
    }
    case FRAME.PING:
      need(4);
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FRAME.GOAWAY:
      need(4);
      return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff, status: p.length >= 8 ? p.readUInt32BE(4) : 0 };
    case FRAME.WINDOW_UPDATE:
      need(8);
      return { type: 'window_update', streamId: p.readUInt32BE(0) & 0x7fffffff, delta: p.readUInt32BE(4) & 0x7fffffff };
    default:
      return { type: 'unknown', frameType: type, flags, payload: p };
  }
}

/** Cuts a byte stream into frames; frames may arrive split or coalesced (WebSocket tunnels do both). */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): SpdyFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: SpdyFrame[] = [];
    while (this.buf.length >= 8) {
      const w0 = this.buf.readUInt32BE(0);
      const w1 = this.buf.readUInt32BE(4);
      const len = w1 & 0xffffff;
      if (this.buf.length < 8 + len) break;
      const payload = this.buf.subarray(8, 8 + len);
      const flags = w1 >>> 24;
      if (w0 & 0x80000000) {
        const version = (w0 >>> 16) & 0x7fff;
        if (version !== VERSION) throw new Error(`unsupported SPDY version ${version}: only SPDY/3.1 is spoken here`);
        out.push(decodeControl(w0 & 0xffff, flags, Buffer.from(payload)));
      } else {
        out.push({ type: 'data', streamId: w0 & 0x7fffffff, flags, data: Buffer.from(payload) });
      }
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }
}

/** name → value; header names are lower case on the wire, multiple values are NUL-separated. */
export type SpdyHeaders = Record<string, string>;

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [u32s(Object.keys(headers).length)];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(u32s(n.length), n, u32s(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  let off = 0;
  const take = (n: number): Buffer => {
    if (off + n > b.length) throw new Error('SPDY header block is truncated');
    const s = b.subarray(off, off + n);
    off += n;
    return s;
  };
  const count = take(4).readUInt32BE(0);
  for (let i = 0; i < count; i++) {
    const name = take(take(4).readUInt32BE(0)).toString().toLowerCase();
    const value = take(take(4).readUInt32BE(0)).toString();
    out[name] = out[name] === undefined ? value : `${out[name]}\0${value}`;
  }
  return out;
}

/**
 * One direction's zlib context. SPDY compresses every header block of a connection with one stream per
 * direction, flushed (Z_SYNC_FLUSH) after each block, so blocks must be processed in order.
 */
class ZContext {
  private chunks: Buffer[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private fail: ((e: Error) => void) | undefined;

  constructor(private readonly z: zlib.Deflate | zlib.Inflate) {
    z.on('data', (c: Buffer) => this.chunks.push(c));
    z.on('error', (e: Error) => {
      this.failure = e;
      this.fail?.(e);
    });
  }

  run(input: Buffer): Promise<Buffer> {
    const next = this.queue.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure) return reject(this.failure);
          this.fail = reject;
          this.z.write(input);
          this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.fail = undefined;
            if (this.failure) return reject(this.failure);
            const out = Buffer.concat(this.chunks);
            this.chunks = [];
            resolve(out);
          });
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.z.close();
  }
}

export class HeaderCompressor {
  private ctx = new ZContext(zlib.createDeflate({ dictionary: SPDY_DICTIONARY }));
  compress(headers: SpdyHeaders): Promise<Buffer> {
    return this.ctx.run(encodeHeaderBlock(headers));
  }
  close(): void {
    this.ctx.close();
  }
}

export class HeaderDecompressor {
  private ctx = new ZContext(zlib.createInflate({ dictionary: SPDY_DICTIONARY }));
  async decompress(block: Buffer): Promise<SpdyHeaders> {
    return decodeHeaderBlock(await this.ctx.run(block));
  }
  close(): void {
    this.ctx.close();
  }
}

/** One SPDY stream as a Node duplex: readable = the peer's DATA, writable = our DATA (end() sends FIN). */
export class SpdyStream extends Duplex {
  remoteClosed = false;
  localClosed = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    // Data is pushed as frames arrive; SPDY flow control is not used (see the file comment).
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.session.sendData(this.id, chunk, false).then(() => cb(), cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.localClosed = true;
    this.session
      .sendData(this.id, Buffer.alloc(0), true)
      .then(() => {
        this.session.maybeForget(this);
        cb();
      }, cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (!(this.localClosed && this.remoteClosed)) this.session.reset(this.id, RST.CANCEL);
    this.session.forget(this.id);
    cb(err);
  }

  /** Called by the session: the peer's bytes, or its FIN. */
  deliver(data: Buffer, fin: boolean): void {
    if (this.remoteClosed) return;
    if (data.length) this.push(data);
    if (fin) {
      this.remoteClosed = true;
      this.push(null);
      this.session.maybeForget(this);
    }
  }
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  close: [];
}

/**
 * The server end of a SPDY/3.1 connection over any byte duplex (an upgraded socket, or a WebSocket
 * tunnel). Streams opened by the client are answered with an empty SYN_REPLY and emitted as 'stream'.
 */
export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private parser = new FrameParser();
  private compressor = new HeaderCompressor();
  private decompressor = new HeaderDecompressor();
  private streams = new Map<number, SpdyStream>();
  private inbound: Promise<void> = Promise.resolve();
  private outbound: Promise<void> = Promise.resolve();
  private lastStreamId = 0;
  private closed = false;

  constructor(
    private readonly transport: Duplex,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    super();
    transport.on('data', (chunk: Buffer) => {
      let frames: SpdyFrame[];
      try {
        frames = this.parser.push(chunk);
      } catch (e) {
        this.log(`spdy: ${(e as Error).message}`);
        this.destroy();
        return;
      }
      for (const f of frames) this.inbound = this.inbound.then(() => this.handle(f)).catch((e: unknown) => {
        this.log(`spdy: ${(e as Error).message}`);
        this.destroy();
      });
    });
    transport.on('end', () => this.destroy());
    transport.on('close', () => this.destroy());
    transport.on('error', () => this.destroy());
  }

  private async handle(f: SpdyFrame): Promise<void> {
    if (this.closed) return;
    switch (f.type) {
      case 'syn_stream': {
        const headers = await this.decompressor.decompress(f.headerBlock);
        if (f.streamId <= this.lastStreamId || f.streamId % 2 === 0) {
          this.reset(f.streamId, RST.PROTOCOL_ERROR);
          return;
        }
        this.lastStreamId = f.streamId;
        const s = new SpdyStream(this, f.streamId, headers);
        this.streams.set(f.streamId, s);
        // Reply before the handler can write, so DATA never precedes SYN_REPLY on the wire.
        void this.enqueue(async () => encodeFrame({ type: 'syn_reply', streamId: f.streamId, flags: 0, headerBlock: await this.compressor.compress({}) }));
        this.emit('stream', s);
        if (f.flags & FLAG_FIN) s.deliver(Buffer.alloc(0), true);
        return;
      }
      case 'syn_reply':
      case 'headers':
        // Keep the decompression context in step even though the headers are not used.
        await this.decompressor.decompress(f.headerBlock);
        return;
      case 'data': {
        const s = this.streams.get(f.streamId);
        s?.deliver(f.data, (f.flags & FLAG_FIN) !== 0);
        return;
      }
      case 'rst_stream': {
        const s = this.streams.get(f.streamId);
        if (s) {
          s.remoteClosed = true;
          s.localClosed = true;
          s.destroy();
        }
        return;
      }
      case 'ping':
        void this.enqueue(() => encodeFrame(f));
        return;
      case 'goaway':
        this.destroy();
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE and unknown frames need no answer.
    }
  }

  private enqueue(build: () => Buffer | Promise<Buffer>): Promise<void> {
    const next = this.outbound.then(async () => {
      if (this.closed) throw new Error('SPDY connection is closed');
      const frame = await build();
      if (!this.transport.write(frame)) await new Promise<void>((resolve) => {
        const done = () => {
          this.transport.off('drain', done);
          this.transport.off('close', done);
          resolve();
        };
        this.transport.on('drain', done);
        this.transport.on('close', done);
      });
    });
    this.outbound = next.catch(() => undefined);
    return next;
  }

  sendData(streamId: number, data: Buffer, fin: boolean): Promise<void> {
    if (data.length === 0) return this.enqueue(() => encodeFrame({ type: 'data', streamId, flags: fin ? FLAG_FIN : 0, data }));
    const sends: Array<Promise<void>> = [];
    for (let off = 0; off < data.length; off += MAX_DATA_CHUNK) {
      const part = data.subarray(off, off + MAX_DATA_CHUNK);
      const last = off + MAX_DATA_CHUNK >= data.length;
      sends.push(this.enqueue(() => encodeFrame({ type: 'data', streamId, flags: fin && last ? FLAG_FIN : 0, data: part })));
    }
    return Promise.all(sends).then(() => undefined);
  }

  reset(streamId: number, status: number): void {
    this.enqueue(() => encodeFrame({ type: 'rst_stream', streamId, status })).catch(() => undefined);
  }

  /** A stream closed in both directions is done. */
  maybeForget(s: SpdyStream): void {
    if (s.localClosed && s.remoteClosed) this.streams.delete(s.id);
  }

  forget(id: number): void {
    this.streams.delete(id);
  }

  /** Says goodbye (GOAWAY), lets queued frames go out, then ends the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.enqueue(() => encodeFrame({ type: 'goaway', lastGoodStreamId: this.lastStreamId, status: 0 })).catch(() => undefined);
    await this.outbound;
    this.transport.end();
    this.destroy();
  }

  /** Drops the connection: every open stream ends as if the peer had closed it. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) {
      s.localClosed = s.remoteClosed = true;
      if (!s.readableEnded) s.push(null);
      s.destroy();
    }
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    if (!this.transport.destroyed) this.transport.end();
    this.emit('close');
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
