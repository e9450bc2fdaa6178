import type { Readable } from 'node:stream';
import type { WebSocket } from 'ws';
import type { StreamOptions, StreamSession } from '../../runtime/interface.js';
import type { SpdySession, SpdyStream } from './spdy.js';
import { failure, nonZeroExit, success, type StreamStatus } from './status.js';

// exec and attach: one runtime StreamSession carried over either of kubectl's transports.
// - WebSocket, subprotocol v5.channel.k8s.io (or v4): binary messages whose first byte is the channel:
//   0 stdin, 1 stdout, 2 stderr, 3 error (the final Status), 4 resize, 255 close (v5: [255, 0] = stdin EOF).
// - SPDY/3.1 (v4.channel.k8s.io): one SPDY stream per channel, named by its "streamtype" header.

export const WS_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];
/** SPDY protocol versions, best first. v4 and v5 are identical over SPDY, where streams half-close natively. */
export const SPDY_PROTOCOLS = ['v4.channel.k8s.io', 'v5.channel.k8s.io'];

const CH = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === 'true' || v === '1';
}

export function streamOptions(q: URLSearchParams): StreamOptions {
  const tty = flag(q, 'tty');
  // With a tty, stderr is merged into stdout by the terminal.
  return { stdin: flag(q, 'stdin'), stdout: flag(q, 'stdout'), stderr: flag(q, 'stderr') && !tty, tty };
}

/** How a finished command is reported: exec passes its exit code on; attach ends with Success. */
export type Outcome = (exitCode: number) => StreamStatus;

export function execOutcome(argv: string[]): Outcome {
  return (code) => (code === 0 ? success() : nonZeroExit(argv, code));
}

export const attachOutcome: Outcome = () => success();

/** The client's side of a session, whatever the transport. */
interface ClientChannels {
  writeStdout(b: Buffer): Promise<void>;
  writeStderr(b: Buffer): Promise<void>;
  /** Writes the final Status and closes everything. */
  finish(status: StreamStatus): Promise<void>;
}

interface ClientInput {
  stdin(b: Buffer): void;
  stdinEnd(): void;
  resize(width: number, height: number): void;
}

/** Copies a runtime output stream to the client, pausing it while the client is behind. */
function pump(from: Readable | undefined, to: (b: Buffer) => Promise<void>): Promise<void> {
  if (!from) return Promise.resolve();
  return new Promise((resolve) => {
    let inflight = Promise.resolve();
    from.on('data', (b: Buffer) => {
      from.pause();
      inflight = to(b).then(
        () => void from.resume(),
        () => void from.resume(),
      );
    });
    const done = () => void inflight.then(resolve);
    from.once('end', done);
    from.once('close', done);
    from.once('error', done);
  });
}

/** Runs a started session to its end and reports the outcome; `gone` fires when the client went away. */
async function run(session: StreamSession, out: ClientChannels, outcome: Outcome, gone: Promise<void>): Promise<void> {
  let clientGone = false;
  void gone.then(() => {
    clientGone = true;
    session.close();
  });
  const outputs = Promise.all([pump(session.stdout, (b) => out.writeStdout(b)), pump(session.stderr, (b) => out.writeStderr(b))]);
  let code: number;
  try {
    code = await session.wait();
  } catch (e) {
    if (!clientGone) await out.finish(failure(500, `error executing in container: ${(e as Error).message}`));
    return;
  }
  // Output written just before the exit is still in the pipes: send it before the Status.
  await outputs;
  if (!clientGone) await out.finish(outcome(code));
}

function wireInput(session: StreamSession): ClientInput {
  return {
    stdin: (b) => {
      if (session.stdin && !session.stdin.writableEnded) session.stdin.write(b);
    },
    stdinEnd: () => {
      if (session.stdin && !session.stdin.writableEnded) session.stdin.end();
    },
    resize: (w, h) => {
      if (w > 0 && h > 0) session.resize(w, h);
    },
  };
}

function parseResize(text: string): { width: number; height: number } | undefined {
  try {
    const v = JSON.parse(text) as { Width?: unknown; Height?: unknown };
    if (typeof v.Width === 'number' && typeof v.Height === 'number') return { width: v.Width, height: v.Height };
  } catch {
    // A malformed resize is ignored, as the kubelet does.
  }
  return undefined;
}

// ------------------------------------------------------------------------------------------- WebSocket

export function serveWebSocket(ws: WebSocket, start: () => Promise<StreamSession>, outcome: Outcome, log: (m: string) => void): void {
  const v5 = ws.protocol === 'v5.channel.k8s.io';
  const send = (channel: number, data: Buffer): Promise<void> =>
    new Promise((resolve) => {
      if (ws.readyState !== ws.OPEN) return resolve();
      ws.send(Buffer.concat([Buffer.of(channel), data]), { binary: true }, () => resolve());
    });
  const out: ClientChannels = {
    writeStdout: (b) => send(CH.stdout, b),
    writeStderr: (b) => send(CH.stderr, b),
    finish: async (status) => {
      await send(CH.error, Buffer.from(JSON.stringify(status)));
      if (ws.readyState === ws.OPEN) ws.close(1000);
    },
  };
  const gone = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  // Input that arrives while the runtime is still starting the process is kept, not lost.
  const early: Buffer[] = [];
  let input: ClientInput | undefined;
  const onMessage = (msg: Buffer) => {
    if (msg.length === 0) return;
    const ch = msg[0]!;
    const body = msg.subarray(1);
    if (!input) return void early.push(Buffer.from(msg));
    if (ch === CH.stdin) input.stdin(body);
    else if (ch === CH.resize) {
      const r = parseResize(body.toString());
      if (r) input.resize(r.width, r.height);
    } else if (ch === CH.close && v5 && body[0] === CH.stdin) input.stdinEnd();
  };
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => onMessage(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)));
  start().then(
    (session) => {
      input = wireInput(session);
      for (const m of early.splice(0)) onMessage(m);
      return run(session, out, outcome, gone);
    },
    (e: unknown) => {
      log(`exec/attach failed to start: ${(e as Error).message}`);
      return out.finish(failure(500, `failed to start in container: ${(e as Error).message}`));
    },
  ).catch((e: unknown) => log(`exec/attach: ${(e as Error).message}`));
}

// ----------------------------------------------------------------------------------------------- SPDY

const STREAM_WAIT_MS = 30_000;

/**
 * Waits for the streams the client must open (error, plus stdin/stdout/stderr/resize as requested), then
 * runs the session over them.
 */
export function serveSpdy(spdy: SpdySession, opts: StreamOptions, start: () => Promise<StreamSession>, outcome: Outcome, log: (m: string) => void): void {
  const want = new Set(['error', ...(opts.stdin ? ['stdin'] : []), ...(opts.stdout ? ['stdout'] : []), ...(opts.stderr ? ['stderr'] : []), ...(opts.tty ? ['resize'] : [])]);
  const streams = new Map<string, SpdyStream>();
  let started = false;
  const timer = setTimeout(() => {
    log(`exec/attach: the client opened only [${[...streams.keys()].join(' ')}] of [${[...want].join(' ')}] in ${STREAM_WAIT_MS / 1000}s`);
    void spdy.close();
  }, STREAM_WAIT_MS);
  const gone = new Promise<void>((resolve) => spdy.once('close', () => resolve()));
  void gone.then(() => clearTimeout(timer));

  spdy.on('stream', (s) => {
    const type = s.headers['streamtype'] ?? '';
    if (!want.has(type) || streams.has(type)) {
      s.destroy();
      return;
    }
    streams.set(type, s);
    // Collect input now; it is fed to the process once it has started.
    if (type === 'stdin' || type === 'resize') s.pause();
    if (started || [...want].some((w) => !streams.has(w))) return;
    started = true;
    clearTimeout(timer);
    begin();
  });

  const writeTo = (s: SpdyStream | undefined) => (b: Buffer) =>
    new Promise<void>((resolve) => {
      if (!s || s.writableEnded || s.destroyed) return resolve();
      s.write(b, () => resolve());
    });
  const endStream = (s: SpdyStream | undefined) => new Promise<void>((resolve) => (s && !s.writableEnded && !s.destroyed ? s.end(() => resolve()) : resolve()));

  function begin(): void {
    const out: ClientChannels = {
      writeStdout: writeTo(streams.get('stdout')),
      writeStderr: writeTo(streams.get('stderr')),
      finish: async (status) => {
        await endStream(streams.get('stdout'));
        await endStream(streams.get('stderr'));
        const err = streams.get('error');
        if (err && !err.writableEnded) {
          await writeTo(err)(Buffer.from(JSON.stringify(status)));
          await endStream(err);
        }
        // The client closes the connection once it has read every stream; close it ourselves if it does not.
        setTimeout(() => spdy.destroy(), 5000).unref();
      },
    };
    start().then(
      (session) => {
        const input = wireInput(session);
        const stdin = streams.get('stdin');
        stdin?.on('data', (b: Buffer) => input.stdin(b));
        stdin?.on('end', () => input.stdinEnd());
        stdin?.resume();
        const resize = streams.get('resize');
        let pending = '';
        resize?.on('data', (b: Buffer) => {
          pending += b.toString();
          // The client's JSON encoder ends each size with a newline.
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const r = parseResize(pending.slice(0, nl));
            pending = pending.slice(nl + 1);
            if (r) input.resize(r.width, r.height);
          }
        });
        resize?.resume();
        return run(session, out, outcome, gone);
      },
      (e: unknown) => {
        log(`exec/attach failed to start: ${(e as Error).message}`);
        return out.finish(failure(500, `failed to start in container: ${(e as Error).message}`));
      },
    ).catch((e: unknown) => log(`exec/attach: ${(e as Error).message}`));
  }
}
