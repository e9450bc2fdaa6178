import { open, stat, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

// Container log files in the CRI format that conmon and containerd write, one record per line:
//   2026-11-21T22:59:05.084011587+00:00 stdout F hello
// <RFC3339Nano time> <stdout|stderr> <tag> <content>; tag "P" marks a partial record (a line cut by the
// runtime's buffer), "F" the record that ends the line. Here the parts are joined back into whole lines.

export interface LogEntry {
  /** UTC, nine fraction digits, as the kubelet prints `--timestamps`. */
  time: string;
  /** Milliseconds since the epoch, for --since filtering; NaN when the record had no readable time. */
  ms: number;
  stream: 'stdout' | 'stderr';
  /** The line without its newline. */
  content: Buffer;
  /** False for a trailing partial line flushed at the end of the log. */
  complete: boolean;
}

const TIME_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/;

/** Parses an RFC 3339 time with up to nanosecond precision. */
export function parseLogTime(s: string): { time: string; ms: number } | undefined {
  const m = TIME_RE.exec(s);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3] === 'Z' ? 'Z' : m[3]}`);
  if (Number.isNaN(whole)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return { time: `${new Date(whole).toISOString().slice(0, 19)}.${frac}Z`, ms: whole + Number(frac.slice(0, 3)) };
}

interface Pending {
  time: string;
  ms: number;
  parts: Buffer[];
}

/** Turns chunks of a CRI log file into whole lines; keeps unfinished records between chunks. */
export class CriLogDecoder {
  private rest: Buffer = Buffer.alloc(0);
  private partial = new Map<'stdout' | 'stderr', Pending>();

  push(chunk: Buffer): LogEntry[] {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: LogEntry[] = [];
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      const e = this.record(buf.subarray(start, nl));
      if (e) out.push(e);
      start = nl + 1;
    }
    this.rest = Buffer.from(buf.subarray(start));
    return out;
  }

  /** Whatever partial lines are left, when the log has ended. */
  flush(): LogEntry[] {
    const out: LogEntry[] = [];
    for (const [stream, p] of this.partial) out.push({ time: p.time, ms: p.ms, stream, content: Buffer.concat(p.parts), complete: false });
    this.partial.clear();
    return out;
  }

  /** Forget a half-read record (the file was truncated or replaced under us). */
  resetLine(): void {
    this.rest = Buffer.alloc(0);
  }

  private record(line: Buffer): LogEntry | undefined {
    const sp1 = line.indexOf(0x20);
    const sp2 = sp1 < 0 ? -1 : line.indexOf(0x20, sp1 + 1);
    const sp3 = sp2 < 0 ? -1 : line.indexOf(0x20, sp2 + 1);
    const t = sp1 > 0 ? parseLogTime(line.subarray(0, sp1).toString()) : undefined;
    const stream = sp2 > 0 ? line.subarray(sp1 + 1, sp2).toString() : '';
    if (!t || (stream !== 'stdout' && stream !== 'stderr')) {
      // Not a CRI record (a file written by something else): show it as it is rather than lose it.
      return line.length ? { time: '', ms: Number.NaN, stream: 'stdout', content: Buffer.from(line), complete: true } : undefined;
    }
    // "<tag> <content>"; an empty line is written as "F" with nothing after it.
    const tag = sp3 > 0 ? line.subarray(sp2 + 1, sp3).toString() : line.subarray(sp2 + 1).toString();
    const content = sp3 > 0 ? Buffer.from(line.subarray(sp3 + 1)) : Buffer.alloc(0);
    const partial = tag.split(':').includes('P');
    const pending = this.partial.get(stream);
    if (partial) {
      if (pending) pending.parts.push(content);
      else this.partial.set(stream, { time: t.time, ms: t.ms, parts: [content] });
      return undefined;
    }
    if (pending) {
      this.partial.delete(stream);
      return { time: pending.time, ms: pending.ms, stream, content: Buffer.concat([...pending.parts, content]), complete: true };
    }
    return { time: t.time, ms: t.ms, stream, content, complete: true };
  }
}

export interface LogOptions {
  follow: boolean;
  /** Only the last N lines. */
  tailLines?: number;
  /** Only lines at or after this time (ms since the epoch). */
  sinceMs?: number;
  timestamps: boolean;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
}

export interface LogSink {
  /** Writes bytes to the client; resolves when it may take more. */
  write(b: Buffer): Promise<void>;
  /** True once the client has gone away. */
  closed(): boolean;
}

export function formatEntry(e: LogEntry, timestamps: boolean): Buffer {
  const nl = e.complete ? '\n' : '';
  if (timestamps && e.time) return Buffer.concat([Buffer.from(`${e.time} `), e.content, Buffer.from(nl)]);
  return nl ? Buffer.concat([e.content, Buffer.from(nl)]) : e.content;
}

const POLL_MS = 250;
const READ_CHUNK = 64 * 1024;

/**
 * Streams a CRI log file. With `follow`, keeps reading as the runtime appends, across rotation (the file
 * renamed and a new one created, or truncated in place, as conmon does), until `running()` says the
 * container has stopped and everything written has been sent.
 */
export async function streamCriLog(path: string, opts: LogOptions, sink: LogSink, running: () => Promise<boolean>): Promise<void> {
  const decoder = new CriLogDecoder();
  let budget = opts.limitBytes && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  let done = false;
  const emit = async (entries: LogEntry[]): Promise<void> => {
    for (const e of entries) {
      if (done) return;
      if (opts.sinceMs !== undefined && !(e.ms >= opts.sinceMs)) continue;
      let b = formatEntry(e, opts.timestamps);
      if (b.length >= budget) {
        b = b.subarray(0, budget);
        done = true;
      }
      budget -= b.length;
      if (b.length) await sink.write(b);
    }
  };

  let fh: FileHandle | undefined;
  let pos = 0;
  const openLog = async (): Promise<boolean> => {
    try {
      fh = await open(path, 'r');
      pos = 0;
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  };
  const readMore = async (): Promise<Buffer> => {
    if (!fh) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    for (;;) {
      const b = Buffer.allocUnsafe(READ_CHUNK);
      const { bytesRead } = await fh.read(b, 0, b.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      parts.push(b.subarray(0, bytesRead));
    }
    return Buffer.concat(parts);
  };

  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  try {
    await openLog();
    // The existing content first, cut to the tail the client asked for.
    let first = decoder.push(await readMore());
    if (!opts.follow) first = first.concat(decoder.flush());
    if (opts.sinceMs !== undefined) first = first.filter((e) => e.ms >= opts.sinceMs!);
    if (opts.tailLines !== undefined && opts.tailLines >= 0) first = opts.tailLines === 0 ? [] : first.slice(-opts.tailLines);
    await emit(first);
    if (!opts.follow || done) return;

    try {
      watcher = watch(dirname(path), (_ev, name) => {
        if (!name || name.toString() === basename(path)) wake?.();
      });
      watcher.on('error', () => undefined);
    } catch {
      // The poll below is enough on its own.
    }
    let stopping = false;
    while (!done && !sink.closed()) {
      const fresh = await readMore();
      if (fresh.length) {
        await emit(decoder.push(fresh));
        continue;
      }
      // Nothing new in this file: was it rotated or truncated?
      const now = await stat(path).catch(() => undefined);
      const mine = fh ? await fh.stat().catch(() => undefined) : undefined;
      if (now && (!mine || now.ino !== mine.ino || now.dev !== mine.dev)) {
        await fh?.close();
        fh = undefined;
        decoder.resetLine();
        await openLog();
        continue;
      }
      if (now && mine && now.size < pos) {
        pos = 0;
        decoder.resetLine();
        continue;
      }
      if (stopping) break;
      if (!(await running())) {
        // One more pass: lines written just before the container stopped.
        stopping = true;
        continue;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, POLL_MS);
        wake = () => {
          clearTimeout(t);
          wake = undefined;
          resolve();
        };
      });
    }
    if (!done && !sink.closed()) await emit(decoder.flush());
  } finally {
    watcher?.close();
    await fh?.close().catch(() => undefined);
  }
}
