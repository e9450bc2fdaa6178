import { open, rename, rm, readFile, stat, mkdir } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, basename } from 'node:path';

// Files shared between processes (the agent and the `kite image` CLI use one store at the same time):
// writes are temp + rename so readers never see half a file, and writers take a lock file.

/** A temp name in the same directory, carrying our pid so a later process can tell a crashed writer's leftovers. */
export function tempName(dir: string, hint: string): string {
  return join(dir, `${process.pid}-${randomBytes(6).toString('hex')}-${basename(hint)}`);
}

export function pidOfTempName(name: string): number | undefined {
  const m = /^(\d+)-[0-9a-f]{12}-/.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempName(dirname(path), `.${basename(path)}.tmp`);
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs fn holding an exclusive lock file (O_EXCL create, holder's pid inside). A lock whose holder died is
 * taken over; an empty one older than 10 s (a holder that died between create and write) too.
 */
export async function withLockFile<T>(path: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o644);
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (holder > 0 && !processAlive(holder)) {
      await rm(path, { force: true });
      continue;
    }
    if (!holder) {
      const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 10_000) {
        await rm(path, { force: true });
        continue;
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`the image store is locked by process ${holder || '?'} (${path}); wait for it to finish, or remove the file if that process is gone`);
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}

/** A promise chain: one holder at a time inside this process (the lock file alone cannot tell our own callers apart). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** De-duplicates concurrent work on one key (a blob, a layer, a pull) inside one process. */
export class Singleflight<T> {
  private inflight = new Map<string, Promise<T>>();
  do(key: string, fn: () => Promise<T>): Promise<T> {
    const running = this.inflight.get(key);
    if (running) return running;
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}
