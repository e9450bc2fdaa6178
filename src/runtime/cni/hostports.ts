import { spawn } from 'node:child_process';

// The portmap plugin creates node-global state that its DEL never removes: the shared CNI-HOSTPORT-* chains in
// the `ip nat` table, the jumps to them from the base chains, and (via ip6tables) an empty `ip6 nat` table.
// They may only go when no pod maps a host port any more, i.e. when CNI-HOSTPORT-DNAT has no rules left.

function iptables(bin: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', () => resolve({ code: 127, out: '' }));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** Splits an `iptables -S` rule into arguments (double-quoted words may contain spaces and \" escapes). */
export function splitRule(line: string): string[] {
  const args: string[] = [];
  let cur = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '\\' && i + 1 < line.length) cur += line[++i];
      else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') {
      quoted = true;
      inWord = true;
    } else if (ch === ' ') {
      if (inWord) args.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += ch;
      inWord = true;
    }
  }
  if (inWord) args.push(cur);
  return args;
}

const SHARED = /^CNI-HOSTPORT-(DNAT|MASQ|SETMARK)$/;

/**
 * Removes portmap's shared chains when no host port is mapped any more, and then the nat tables if they are
 * left completely empty. Returns true when something was removed. Safe to call at any time.
 */
export async function removeIdleHostportChains(): Promise<boolean> {
  const listed = await iptables('iptables', ['-t', 'nat', '-S']);
  if (listed.code !== 0) return false;
  const rules = listed.out.split('\n').filter(Boolean).map(splitRule);
  const chains = rules.filter((r) => r[0] === '-N' && SHARED.test(r[1] ?? '')).map((r) => r[1]!);
  let removed = false;
  if (chains.length) {
    if (rules.some((r) => r[0] === '-A' && r[1] === 'CNI-HOSTPORT-DNAT')) return false; // still in use
    for (const r of rules) {
      const target = r[r.indexOf('-j') + 1] ?? '';
      if (r[0] === '-A' && !SHARED.test(r[1] ?? '') && r.includes('-j') && SHARED.test(target)) {
        await iptables('iptables', ['-t', 'nat', '-D', ...r.slice(1)]);
      }
    }
    for (const c of chains) await iptables('iptables', ['-t', 'nat', '-F', c]);
    for (const c of chains) await iptables('iptables', ['-t', 'nat', '-X', c]);
    removed = true;
  }
  for (const [bin, family] of [['iptables', 'ip'], ['ip6tables', 'ip6']] as const) {
    const l = await iptables(bin, ['-t', 'nat', '-S']);
    if (l.code !== 0) continue;
    const lines = l.out.split('\n').filter(Boolean);
    if (lines.length && lines.every((x) => x.startsWith('-P '))) {
      const del = await iptables('nft', ['delete', 'table', family, 'nat']);
      removed ||= del.code === 0;
    }
  }
  return removed;
}
