import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Duplex, PassThrough, Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { StreamOptions, StreamSession } from '../interface.js';
import { killPidFile, minimalEnv } from './proc.js';

// Streaming sessions for the agent's exec/attach/port-forward endpoint.
// - exec without a tty: `runc exec` with pipes (runc waits for the process and exits with its status).
// - exec with a tty: runc passes the pty master over a unix socket, which Node cannot receive; the small python
//   helper in libexec/ receives it and relays bytes and window sizes.
// - attach: follows the container's CRI log from now on (conmon owns the container's stdio).
// - port-forward: busybox nc run inside the pod's network namespace, so "localhost" is the pod's.

const DRAIN_MS = 200;
const HELPER = 'kite-console-helper.py';

export interface ExecTarget {
  runc: string;
  runcRoot: string;
  containerId: string;
}

/**
 * libexec/kite-console-helper.py: in $KITE_LIBEXEC_DIR if set, else searched upward from this module (the repo's
 * dist/ sits next to libexec/) and from the working directory.
 */
export function findConsoleHelper(): string {
  const env = process.env.KITE_LIBEXEC_DIR;
  if (env && existsSync(join(env, HELPER))) return join(env, HELPER);
  const starts = [dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (const start of starts) {
    let dir = start;
    for (;;) {
      const candidate = join(dir, 'libexec', HELPER);
      if (existsSync(candidate)) return candidate;
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  throw new Error(`cannot find libexec/${HELPER} (needed for exec with a tty); run kite from its repository or set KITE_LIBEXEC_DIR to the directory holding it`);
}

function emptyReadable(): Readable {
  const r = new PassThrough();
  r.end();
  return r;
}

/** Copies child pipes into a stream that ends shortly after the child exits, even if a grandchild keeps a pipe. */
function detachOnExit(sources: Array<Readable | null>, exited: Promise<unknown>): Readable {
  const srcs = sources.filter((x): x is Readable => x !== null);
  if (!srcs.length) return emptyReadable();
  const out = new PassThrough();
  for (const src of srcs) src.pipe(out, { end: false });
  void exited.then(() =>
    setTimeout(() => {
      for (const src of srcs) {
        src.unpipe(out);
        src.destroy();
      }
      out.end();
    }, DRAIN_MS),
  );
  return out;
}

function exitPromise(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.on('error', () => resolve(255));
    child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 255)));
  });
}

export async function execSession(t: ExecTarget, argv: string[], opts: StreamOptions): Promise<StreamSession> {
  const helper = opts.tty ? findConsoleHelper() : '';
  const dir = await mkdtemp(join(tmpdir(), 'kite-exec-'));
  const pidFile = join(dir, 'pid');
  const cleanup = (): void => void rm(dir, { recursive: true, force: true });
  let child: ChildProcess;
  let resizeFd: Writable | undefined;
  if (opts.tty) {
    const sock = join(dir, 'console.sock');
    const runcArgs = [t.runc, '--root', t.runcRoot, 'exec', '-d', '-t', '--console-socket', sock, '--pid-file', pidFile, t.containerId, ...argv];
    child = spawn('python3', [helper, sock, pidFile, '--', ...runcArgs], {
      env: minimalEnv(),
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    resizeFd = child.stdio[3] as Writable;
    resizeFd.on('error', () => undefined);
  } else {
    child = spawn(t.runc, ['--root', t.runcRoot, 'exec', '--pid-file', pidFile, t.containerId, ...argv], {
      env: minimalEnv(),
      stdio: [opts.stdin ? 'pipe' : 'ignore', opts.stdout ? 'pipe' : 'ignore', opts.stderr ? 'pipe' : 'ignore'],
    });
  }
  const exited = exitPromise(child);
  void exited.then(() => {
    resizeFd?.destroy();
    cleanup();
  });
  child.stdin?.on('error', () => undefined);
  // With a tty there is no stderr stream: the helper's own errors (runc's "executable file not found") go to the
  // terminal, where the user looks.
  const stdout = detachOnExit(opts.tty ? [child.stdout, child.stderr] : [child.stdout], exited);
  return {
    stdin: child.stdin ?? undefined,
    stdout,
    stderr: opts.tty ? undefined : detachOnExit([child.stderr], exited),
    resize(width: number, height: number): void {
      if (resizeFd && !resizeFd.destroyed && width > 0 && height > 0) resizeFd.write(`${Math.floor(width)} ${Math.floor(height)}\n`);
    },
    wait: () => exited,
    close(): void {
      void killPidFile(pidFile).finally(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
    },
  };
}

/** One parsed line of a CRI log: "<RFC3339Nano> <stdout|stderr> <F|P> <content>". */
export function parseCriLogLine(line: string): { stream: 'stdout' | 'stderr'; partial: boolean; content: string } | undefined {
  const m = /^(\S+) (stdout|stderr) ([FP])(?: (.*))?$/s.exec(line);
  if (!m) return undefined;
  return { stream: m[2] as 'stdout' | 'stderr', partial: m[3] === 'P', content: m[4] ?? '' };
}

export interface AttachTarget {
  logPath: string;
  /** Resolves with the exit code when the container exits. */
  exited: Promise<number>;
}

/**
 * Attach = the container's output from now on, read from its log. stdin cannot reach the container (conmon
 * runs without an stdin pipe), so a stdin stream, when asked for, fails every write with an explanation.
 */
export async function attachSession(a: AttachTarget, opts: StreamOptions): Promise<StreamSession> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let offset = (await stat(a.logPath).catch(() => ({ size: 0 }))).size;
  let pending = '';
  let stopped = false;

  const pump = async (): Promise<void> => {
    const size = (await stat(a.logPath).catch(() => ({ size: 0 }))).size;
    if (size < offset) offset = 0; // rotated: conmon started a new file
    if (size === offset) return;
    const fh = await open(a.logPath, 'r').catch(() => undefined);
    if (!fh) return;
    try {
      const buf = Buffer.alloc(size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      offset += bytesRead;
      pending += buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const l = parseCriLogLine(line);
      if (!l) continue;
      const text = l.partial ? l.content : `${l.content}\n`;
      if (l.stream === 'stdout' && opts.stdout) stdout.write(text);
      if (l.stream === 'stderr' && opts.stderr) (opts.tty ? stdout : stderr).write(text);
    }
  };
  let busy = Promise.resolve();
  const tick = (): void => {
    busy = busy.then(pump).catch(() => undefined);
  };
  const timer = setInterval(tick, 100);
  const finish = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    tick();
    await busy;
    stdout.end();
    stderr.end();
  };
  const exited = a.exited.then(async (code) => {
    await finish();
    return code;
  });

  let stdin: Writable | undefined;
  if (opts.stdin) {
    stdin = new Writable({
      write(_chunk, _enc, cb): void {
        cb(new Error('attach: sending stdin to a running container is not supported by the runc runtime; use kubectl exec instead'));
      },
    });
    stdin.on('error', () => undefined);
  }
  return {
    stdin,
    stdout,
    stderr: opts.tty ? undefined : stderr,
    resize(): void {
      // The container's terminal belongs to conmon; attach cannot resize it.
    },
    wait: () => exited,
    close(): void {
      void finish();
    },
  };
}

/** A TCP connection to 127.0.0.1:port inside the pod's network namespace, or on the host for hostNetwork pods. */
export async function portForwardStream(netnsPath: string | undefined, port: number): Promise<Duplex> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`port ${port} is not a valid TCP port`);
  if (!netnsPath) {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', (e) => reject(new Error(`cannot connect to port ${port} of the pod: ${e.message}`)));
    });
  }
  const child = spawn('nsenter', [`--net=${netnsPath}`, '/usr/bin/busybox', 'nc', '127.0.0.1', String(port)], {
    env: minimalEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  child.stdin.on('error', () => undefined);
  const duplex = new Duplex({
    write(chunk: Buffer, _enc, cb): void {
      if (child.stdin.writable) child.stdin.write(chunk, cb);
      else cb();
    },
    final(cb): void {
      child.stdin.end();
      cb();
    },
    read(): void {
      child.stdout.resume();
    },
    destroy(e, cb): void {
      if (child.exitCode === null) child.kill('SIGKILL');
      cb(e);
    },
  });
  child.stdout.on('data', (b: Buffer) => {
    if (!duplex.push(b)) child.stdout.pause();
  });
  child.stdout.on('end', () => duplex.push(null));
  child.on('exit', (code) => {
    if (code && code !== 0) duplex.destroy(new Error(`port-forward to port ${port} failed: ${err.trim() || `exit ${code}`}`));
  });
  child.on('error', (e) => duplex.destroy(new Error(`cannot run nsenter for port-forward: ${e.message}`)));
  return duplex;
}
