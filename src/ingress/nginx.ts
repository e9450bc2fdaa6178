import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// kite's own nginx master process: never the system service, never /etc/nginx. It runs in the foreground
// (`daemon off`) as a child of the node agent with kite's prefix and configuration, its error log on
// stderr (forwarded to the agent's log, so no log file grows unbounded). Configuration changes are
// checked with `nginx -t` and applied with SIGHUP: the master starts new workers with the new
// configuration and old workers finish the requests they hold, so nothing in flight is dropped.

export interface NginxOptions {
  /** The nginx prefix directory (-p); the pid file is `<prefix>/nginx.pid`. */
  prefix: string;
  /** The configuration file nginx runs (-c). */
  conf: string;
  binary?: string;
  log(m: string): void;
}

const DEFAULT_BINARY = '/usr/sbin/nginx';
const TEST_TIMEOUT_MS = 30_000;

function procAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Direct children of a process (nginx workers of a master), from /proc. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: the fields that follow it start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process went away while we looked
    }
  }
  return out;
}

/** SIGKILL a master and its workers: a master killed alone leaves workers holding the listening sockets. */
function killTree(pid: number): void {
  const workers = childrenOf(pid);
  for (const p of [pid, ...workers]) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function waitGone(pid: number, timeoutMs: number, isChild?: ChildProcess): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (isChild ? isChild.exitCode !== null || isChild.signalCode !== null : !procAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

export class NginxMaster {
  private child: ChildProcess | undefined;
  private readonly binary: string;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  /** Called when the master exits without being asked to (the controller restarts it). */
  onUnexpectedExit: ((reason: string) => void) | undefined;

  constructor(private readonly o: NginxOptions) {
    this.binary = o.binary ?? DEFAULT_BINARY;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Check a configuration file; resolves to nginx's complaint, or undefined when it is valid. */
  test(conf: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      execFile(this.binary, ['-t', '-q', '-p', this.o.prefix, '-c', conf, '-e', 'stderr'], { timeout: TEST_TIMEOUT_MS }, (err, _stdout, stderr) => {
        if (!err) return resolve(undefined);
        const text = String(stderr).trim() || (err as Error).message;
        resolve(text.split('\n').filter((l) => !/test failed/.test(l)).join('; '));
      });
    });
  }

  /**
   * A master left by an earlier run of the agent (killed before it could stop nginx) still holds the
   * ports. It is recognised by the pid file in kite's prefix and its command line, and stopped.
   */
  async stopLeftover(): Promise<void> {
    const pidFile = join(this.o.prefix, 'nginx.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 1 || !procAlive(pid)) return;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return;
    }
    if (!cmdline.includes('nginx') || !cmdline.includes(this.o.prefix)) return;
    this.o.log(`stopping nginx master ${pid} left by an earlier run`);
    process.kill(pid, 'SIGTERM');
    if (!(await waitGone(pid, 5000))) {
      killTree(pid);
      await waitGone(pid, 2000);
    }
  }

  /** Start the master; resolves once it is running (or rejects with what nginx printed if it exits at once). */
  async start(): Promise<void> {
    if (this.running()) return;
    this.stopping = false;
    const child = spawn(this.binary, ['-p', this.o.prefix, '-c', this.o.conf, '-e', 'stderr', '-g', 'daemon off; master_process on;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    let early = '';
    let partial = '';
    const onOutput = (d: Buffer) => {
      const text = partial + d.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        if (early.length < 4096) early += `${line}\n`;
        this.o.log(`nginx: ${line}`);
      }
    };
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (partial.trim()) this.o.log(`nginx: ${partial}`);
        if (!this.stopping) this.onUnexpectedExit?.(`nginx master exited (${signal ?? `code ${code}`})`);
        resolve();
      });
      child.once('error', (e) => {
        early += e.message;
        resolve();
      });
    });
    // nginx binds its sockets before it writes the pid file; a master that could not bind exits at once.
    const pidFile = join(this.o.prefix, 'nginx.pid');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!this.running() || child.pid === undefined) {
        await this.exited;
        throw new Error(`nginx did not start: ${early.trim() || 'it exited at once'}`);
      }
      if (existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8').trim()) === child.pid) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('nginx did not write its pid file within 10 s');
  }

  /** Graceful reload: new workers take the new configuration, old ones finish what they hold. */
  reload(): void {
    if (!this.running() || this.child?.pid === undefined) throw new Error('nginx is not running');
    process.kill(this.child.pid, 'SIGHUP');
  }

  /** Graceful stop (SIGQUIT), then fast (SIGTERM), then SIGKILL: nothing outlives the controller. */
  async stop(graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined || !this.running()) return;
    this.stopping = true;
    const pid = child.pid;
    child.kill('SIGQUIT');
    if (!(await waitGone(pid, graceMs, child))) {
      child.kill('SIGTERM');
      if (!(await waitGone(pid, 3000, child))) killTree(pid);
    }
    await this.exited;
  }
}
