import { spawn } from 'node:child_process';

// Runs nft transactions. `prefix` runs nft through another command (e.g. ["ip", "netns", "exec", "x"]), which
// is how tests and the benchmark program a private network namespace instead of the host's.

export interface NftRunner {
  /** Apply one `nft -f -` transaction; rejects with nft's own message and the offending lines. */
  apply(script: string): Promise<void>;
  /** `nft` with arguments, returning stdout. */
  run(args: string[]): Promise<string>;
}

function exec(cmd: string[], input: string | undefined): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new Error(`${cmd[0]} not found: the service proxy needs nftables (apt-get install nftables)`) : e));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.on('error', () => undefined); // nft may exit before reading everything; its stderr says why
    child.stdin.end(input ?? '');
  });
}

/** nft's errors name "/dev/stdin:LINE:COL": show those lines so a bad rule can be found without the script. */
function explain(stderr: string, script: string): string {
  const lines = script.split('\n');
  const shown = new Set<number>();
  for (const m of stderr.matchAll(/stdin:(\d+):/g)) shown.add(Number(m[1]));
  const context = [...shown].slice(0, 5).map((n) => `  line ${n}: ${(lines[n - 1] ?? '').slice(0, 300)}`);
  const msg = stderr.trim().split('\n').slice(0, 12).join('\n');
  return context.length ? `${msg}\n${context.join('\n')}` : msg;
}

export function nftRunner(prefix: string[] = []): NftRunner {
  return {
    async apply(script) {
      const r = await exec([...prefix, 'nft', '-f', '-'], script);
      if (r.code !== 0) throw new Error(`nft -f failed (exit ${r.code}): ${explain(r.stderr, script)}`);
    },
    async run(args) {
      const r = await exec([...prefix, 'nft', ...args], undefined);
      if (r.code !== 0) throw new Error(`nft ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`);
      return r.stdout;
    },
  };
}
