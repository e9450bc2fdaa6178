import type { ChainDef, Ruleset, SetDef } from './render.js';

// Turns rulesets into `nft -f` transactions. Both forms are one transaction, so the kernel switches from the
// old rules to the new ones atomically or not at all:
//  - fullScript: delete and re-create the table (first sync, and after any failure);
//  - diffScript: only what changed since the last applied ruleset, so that a sync touching one service of
//    10,000 sends a few lines, and the kernel-filled affinity sets keep their clients.
// Output is sorted, so the same rulesets always give the same text.

// The default sort compares UTF-16 code units: a total order on names, and much faster than a comparator.
const sortedKeys = <V>(m: Map<string, V>) => [...m.keys()].sort();

function element(key: string, value: string): string {
  return value ? `${key} : ${value}` : key;
}

function elementList(elements: Map<string, string>, keys = sortedKeys(elements)): string {
  return keys.map((k) => element(k, elements.get(k)!)).join(', ');
}

function setBody(def: SetDef): string {
  const els = def.elements && def.elements.size > 0 ? ` elements = { ${elementList(def.elements)} }` : '';
  return `${def.decl}${els}`;
}

function chainBody(def: ChainDef): string {
  return [def.hook ? `\t\t${def.hook}` : '', ...def.rules.map((r) => `\t\t${r}`)].filter(Boolean).join('\n');
}

/** The whole table, replacing whatever exists under that name (`add` first so `delete` cannot fail). */
export function fullScript(family: string, table: string, rs: Ruleset): string {
  const out: string[] = [`add table ${family} ${table}`, `delete table ${family} ${table}`, `table ${family} ${table} {`];
  for (const name of sortedKeys(rs.sets)) {
    const def = rs.sets.get(name)!;
    out.push(`\t${def.kind} ${name} { ${setBody(def)} }`);
  }
  for (const name of sortedKeys(rs.chains)) out.push(`\tchain ${name} {\n${chainBody(rs.chains.get(name)!)}\n\t}`);
  out.push('}', '');
  return out.join('\n');
}

const sameChain = (a: ChainDef, b: ChainDef) => a.hook === b.hook && a.rules.length === b.rules.length && a.rules.every((r, i) => r === b.rules[i]);

/**
 * The commands that turn `prev` (what the kernel has) into `next`, ordered so that nothing is deleted while
 * still referenced: element deletions and chain flushes first, then deletions, then additions.
 * Returns '' when nothing changed.
 */
export function diffScript(family: string, table: string, prev: Ruleset, next: Ruleset): string {
  const t = `${family} ${table}`;
  // Walk the maps unsorted (most syncs change little) and sort only what changed.
  const delElements: string[] = [];
  const flushes: string[] = [];
  const deletes: string[] = [];
  const creates: string[] = [];
  const rules: string[] = [];
  const addElements: string[] = [];

  for (const [name, old] of prev.sets) {
    const cur = next.sets.get(name);
    if (!cur || cur.decl !== old.decl || cur.kind !== old.kind) {
      deletes.push(`delete ${old.kind} ${t} ${name}`);
      continue;
    }
    if (!old.elements || !cur.elements) continue;
    const gone: string[] = [];
    for (const [k, v] of old.elements) if (cur.elements.get(k) !== v) gone.push(k);
    if (gone.length) delElements.push(`delete element ${t} ${name} { ${gone.sort().join(', ')} }`);
  }
  for (const [name, cur] of next.sets) {
    const old = prev.sets.get(name);
    const recreated = !old || old.decl !== cur.decl || old.kind !== cur.kind;
    if (recreated) creates.push(`add ${cur.kind} ${t} ${name} { ${cur.decl} }`);
    if (!cur.elements) continue;
    const added: string[] = [];
    for (const [k, v] of cur.elements) if (recreated || old!.elements?.get(k) !== v) added.push(k);
    if (added.length) addElements.push(`add element ${t} ${name} { ${elementList(cur.elements, added.sort())} }`);
  }

  for (const [name, old] of prev.chains) {
    const cur = next.chains.get(name);
    if (cur && sameChain(old, cur)) continue;
    flushes.push(`flush chain ${t} ${name}`);
    if (!cur || cur.hook !== old.hook) deletes.push(`delete chain ${t} ${name}`);
  }
  const changed: string[] = [];
  for (const [name, cur] of next.chains) {
    const old = prev.chains.get(name);
    if (old && sameChain(old, cur)) continue;
    changed.push(name);
    if (!old || old.hook !== cur.hook) creates.push(`add chain ${t} ${name}${cur.hook ? ` { ${cur.hook} }` : ''}`);
  }
  for (const name of changed.sort()) for (const r of next.chains.get(name)!.rules) rules.push(`add rule ${t} ${name} ${r}`);

  // Element deletions and flushes drop every reference before anything is deleted; chains and sets exist
  // before the rules and elements that name them are added.
  const all = [...delElements.sort(), ...flushes.sort(), ...deletes.sort(), ...creates.sort(), ...rules, ...addElements.sort()];
  return all.length ? `${all.join('\n')}\n` : '';
}
