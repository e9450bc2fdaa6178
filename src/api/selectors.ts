// Label selectors: the `?labelSelector=` string syntax, metav1.LabelSelector objects (spec.selector of
// workloads), matching, and the canonical string form kube-apiserver prints (Scale.status.selector, the
// SELECTOR column). Error messages follow kube-apiserver's wording because kubectl shows them verbatim.

export type LabelOperator = 'In' | 'NotIn' | 'Equals' | 'DoubleEquals' | 'NotEquals' | 'Exists' | 'DoesNotExist' | 'GreaterThan' | 'LessThan';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted and de-duplicated for In/NotIn from the string syntax; one value for =, ==, !=, >, <; none for (Does[Not])Exist. */
  values: string[];
}

/** A parsed, matchable selector. `nothing` is the nil metav1.LabelSelector: it matches no object at all. */
export interface LabelSelector {
  requirements: LabelRequirement[];
  nothing?: boolean;
}

/** metav1.LabelSelector as it appears in objects. */
export interface MetaLabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}
export interface MetaLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: MetaLabelSelectorRequirement[];
}

export const EVERYTHING: LabelSelector = Object.freeze({ requirements: Object.freeze([]) }) as unknown as LabelSelector;
export const NOTHING: LabelSelector = Object.freeze({ requirements: Object.freeze([]), nothing: true }) as unknown as LabelSelector;

// ---------------------------------------------------------------------------------------------------------
// Validation of keys and values, with kube-apiserver's messages.

const QUALIFIED_NAME_RE = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_FMT = '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]';
const QUALIFIED_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_VALUE_FMT = '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?';
const LABEL_VALUE_MSG = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_SUBDOMAIN_FMT = '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*';
const DNS1123_SUBDOMAIN_MSG = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";

function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(' or ')}regex used for validation is '${fmt}')`;
}

function maxLenError(n: number): string {
  return `must be no more than ${n} characters`;
}

/** Problems with a label key (`[prefix/]name`); empty when valid. */
export function labelKeyErrors(key: string): string[] {
  const errs: string[] = [];
  const parts = key.split('/');
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else {
      if (prefix.length > 253) errs.push(`prefix part ${maxLenError(253)}`);
      if (!DNS1123_SUBDOMAIN_RE.test(prefix)) errs.push(`prefix part ${regexError(DNS1123_SUBDOMAIN_MSG, DNS1123_SUBDOMAIN_FMT, 'example.com')}`);
    }
  } else {
    return [`a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!QUALIFIED_NAME_RE.test(name)) errs.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, 'MyName', 'my.name', '123-abc')}`);
  return errs;
}

/** Problems with a label value; empty when valid. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push(maxLenError(63));
  if (!LABEL_VALUE_RE.test(value)) errs.push(regexError(LABEL_VALUE_MSG, LABEL_VALUE_FMT, 'MyValue', 'my_value', '12345'));
  return errs;
}

function invalid(path: string, value: string, detail: string): string {
  return `${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

function aggregate(msgs: string[]): string {
  const unique = [...new Set(msgs)];
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}

/** Validates a requirement the way NewRequirement does; `path` prefixes field paths ('' for the string syntax). */
function checkRequirement(r: LabelRequirement, path: string): void {
  const at = (child: string) => (path ? `${path}.${child}` : child);
  const errs: string[] = [];
  const keyErrs = labelKeyErrors(r.key);
  if (keyErrs.length) errs.push(invalid(at('key'), r.key, keyErrs.join('; ')));
  const vals = r.values;
  switch (r.operator) {
    case 'In':
    case 'NotIn':
      if (vals.length === 0) errs.push(`${at('values')}: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`);
      break;
    case 'Equals':
    case 'DoubleEquals':
    case 'NotEquals':
      if (vals.length !== 1) errs.push(`${at('values')}: Invalid value: ${JSON.stringify(vals)}: exact-match compatibility requires one single value`);
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (vals.length !== 0) errs.push(`${at('values')}: Invalid value: ${JSON.stringify(vals)}: values set must be empty for exists and does not exist`);
      break;
    case 'GreaterThan':
    case 'LessThan':
      if (vals.length !== 1) errs.push(`${at('values')}: Invalid value: ${JSON.stringify(vals)}: for 'Gt', 'Lt' operators, exactly one value is required`);
      vals.forEach((v, i) => {
        if (!INT_RE.test(v)) errs.push(invalid(`${at('values')}[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  vals.forEach((v, i) => {
    const ve = labelValueErrors(v);
    if (ve.length) errs.push(invalid(`${at('values')}[${i}][${r.key}]`, v, ve.join('; ')));
  });
  if (errs.length) throw new Error(aggregate(errs));
}

const INT_RE = /^[+-]?\d+$/;

// ---------------------------------------------------------------------------------------------------------
// The string syntax: `a=b,c!=d,e in (f,g),h notin (i),j,!k,l>3`.

type Tok = 'end' | 'ident' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'in' | 'notin';
interface Item {
  tok: Tok;
  lit: string;
}

const SYMBOLS = new Set(['=', '!', '(', ')', ',', '>', '<']);
const SYMBOL_TOKENS = new Set(['(', ')', ',', '!', '=', '==', '!=', '>', '<']);
const WHITESPACE = new Set([' ', '\t', '\r', '\n']);

function lex(s: string): Item[] {
  const items: Item[] = [];
  let i = 0;
  for (;;) {
    while (i < s.length && WHITESPACE.has(s[i])) i++;
    if (i >= s.length) {
      items.push({ tok: 'end', lit: '' });
      return items;
    }
    if (SYMBOLS.has(s[i])) {
      // Longest run of symbol characters that still forms an operator ("!=", "=="); the rest is the next token.
      let buf = '';
      let best = '';
      let j = i;
      while (j < s.length && SYMBOLS.has(s[j])) {
        buf += s[j];
        if (SYMBOL_TOKENS.has(buf)) best = buf;
        else if (best) break;
        j++;
      }
      i += best.length;
      items.push({ tok: best as Tok, lit: best });
      continue;
    }
    let j = i;
    while (j < s.length && !SYMBOLS.has(s[j]) && !WHITESPACE.has(s[j])) j++;
    const word = s.slice(i, j);
    i = j;
    items.push({ tok: word === 'in' || word === 'notin' ? word : 'ident', lit: word });
  }
}

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  /** In value position the keywords `in`/`notin` are ordinary identifiers. */
  private peek(values = true): Item {
    const it = this.items[this.pos];
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'ident', lit: it.lit } : it;
  }

  private next(values = true): Item {
    const it = this.peek(values);
    this.pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek();
      if (tok === 'end') return reqs;
      if (tok !== 'ident' && tok !== '!') throw new Error(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        throw new Error(`unable to parse requirement: ${(e as Error).message}`);
      }
      const after = this.next();
      if (after.tok === 'end') return reqs;
      if (after.tok !== ',') throw new Error(`found '${after.lit}', expected: ',' or 'end of string'`);
      const t2 = this.peek();
      if (t2.tok !== 'ident' && t2.tok !== '!') throw new Error(`found '${t2.lit}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let first = this.next();
    let negated = false;
    if (first.tok === '!') {
      negated = true;
      first = this.next();
    }
    if (first.tok !== 'ident') throw new Error(`found '${first.lit}', expected: identifier`);
    const key = first.lit;
    const keyErrs = labelKeyErrors(key);
    if (keyErrs.length) throw new Error(invalid('<nil>', key, keyErrs.join('; ')));
    const la = this.peek().tok;
    if (negated || la === 'end' || la === ',') {
      // A bare `!key` followed by something else still becomes DoesNotExist; the caller then trips on the leftover token.
      const r: LabelRequirement = { key, operator: negated ? 'DoesNotExist' : 'Exists', values: [] };
      checkRequirement(r, '');
      return r;
    }
    const op = this.operator();
    const values = op === 'In' || op === 'NotIn' ? this.valueSet() : this.exactValue();
    const r: LabelRequirement = { key, operator: op, values: [...new Set(values)].sort() };
    checkRequirement(r, '');
    return r;
  }

  private operator(): LabelOperator {
    const { tok, lit } = this.next(false);
    switch (tok) {
      case 'in': return 'In';
      case 'notin': return 'NotIn';
      case '=': return 'Equals';
      case '==': return 'DoubleEquals';
      case '!=': return 'NotEquals';
      case '>': return 'GreaterThan';
      case '<': return 'LessThan';
      default: throw new Error(`found '${lit}', expected: '=', '!=', '==', 'in', notin'`);
    }
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.peek();
    if (tok === ')') {
      this.next();
      return [''];
    }
    if (tok !== 'ident' && tok !== ',') throw new Error(`found '${lit}', expected: ',', ')' or identifier`);
    const vals = this.identifierList();
    if (this.next().tok !== ')') throw new Error(`found '${lit}', expected: ')'`);
    return vals;
  }

  /** Comma-separated, possibly empty identifiers: `(a,,b)` and `(,a)` include the empty value. */
  private identifierList(): string[] {
    const vals: string[] = [];
    for (;;) {
      const { tok, lit } = this.next();
      if (tok === 'ident') {
        vals.push(lit);
        const t2 = this.peek();
        if (t2.tok === ',') continue;
        if (t2.tok === ')') return vals;
        throw new Error(`found '${t2.lit}', expected: ',' or ')'`);
      }
      if (tok === ',') {
        if (vals.length === 0) vals.push('');
        const t2 = this.peek().tok;
        if (t2 === ')') {
          vals.push('');
          return vals;
        }
        if (t2 === ',') {
          this.next();
          vals.push('');
        }
        continue;
      }
      throw new Error(`found '${lit}', expected: ',', or identifier`);
    }
  }

  private exactValue(): string[] {
    const la = this.peek().tok;
    if (la === 'end' || la === ',') return [''];
    const { tok, lit } = this.next();
    if (tok === 'ident') return [lit];
    throw new Error(`found '${lit}', expected: identifier`);
  }
}

function byKey(a: LabelRequirement, b: LabelRequirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Parses the `labelSelector` query syntax. Throws an Error with kube-apiserver's message on bad input. */
export function parseLabelSelector(s: string): LabelSelector {
  const reqs = new Parser(lex(s)).parse();
  return { requirements: reqs.sort(byKey) };
}

// ---------------------------------------------------------------------------------------------------------
// Matching.

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'In':
    case 'Equals':
    case 'DoubleEquals':
      return has && r.values.includes(v as string);
    case 'NotIn':
    case 'NotEquals':
      return !has || !r.values.includes(v as string);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'GreaterThan':
    case 'LessThan': {
      if (!has || !INT_RE.test(v as string) || r.values.length !== 1 || !INT_RE.test(r.values[0])) return false;
      const lv = BigInt(v as string);
      const rv = BigInt(r.values[0]);
      return r.operator === 'GreaterThan' ? lv > rv : lv < rv;
    }
  }
}

export function matchesLabels(sel: LabelSelector, labels: Record<string, string> | undefined | null): boolean {
  if (sel.nothing) return false;
  const ls = labels ?? {};
  return sel.requirements.every((r) => requirementMatches(r, ls));
}

export function isEverything(sel: LabelSelector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

/** The single value a selector demands for `key` (`key=v`, `key==v`, `key in (v)`), if any. */
export function requiredLabelValue(sel: LabelSelector, key: string): string | undefined {
  const r = sel.requirements.find((x) => x.key === key);
  if (!r || r.values.length !== 1) return undefined;
  return r.operator === 'Equals' || r.operator === 'DoubleEquals' || r.operator === 'In' ? r.values[0] : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// metav1.LabelSelector.

const META_OPERATORS: Record<string, LabelOperator> = { In: 'In', NotIn: 'NotIn', Exists: 'Exists', DoesNotExist: 'DoesNotExist' };

/**
 * Converts a metav1.LabelSelector into a matcher. A missing selector matches nothing; an empty one matches
 * everything. Throws on invalid keys, values or operators.
 */
export function selectorFromLabelSelector(ls: MetaLabelSelector | null | undefined): LabelSelector {
  if (ls === null || ls === undefined) return NOTHING;
  const reqs: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(ls.matchLabels ?? {})) {
    const r: LabelRequirement = { key, operator: 'Equals', values: [value] };
    checkRequirement(r, '');
    reqs.push(r);
  }
  for (const expr of ls.matchExpressions ?? []) {
    const op = META_OPERATORS[expr.operator];
    if (!op) throw new Error(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    const r: LabelRequirement = { key: expr.key, operator: op, values: [...(expr.values ?? [])] };
    checkRequirement(r, '');
    reqs.push(r);
  }
  return { requirements: reqs.sort(byKey) };
}

function requirementString(r: LabelRequirement): string {
  const vals = r.values.length > 1 ? [...r.values].sort().join(',') : (r.values[0] ?? '');
  switch (r.operator) {
    case 'Exists': return r.key;
    case 'DoesNotExist': return `!${r.key}`;
    case 'Equals': return `${r.key}=${vals}`;
    case 'DoubleEquals': return `${r.key}==${vals}`;
    case 'NotEquals': return `${r.key}!=${vals}`;
    case 'GreaterThan': return `${r.key}>${vals}`;
    case 'LessThan': return `${r.key}<${vals}`;
    case 'In': return `${r.key} in (${vals})`;
    case 'NotIn': return `${r.key} notin (${vals})`;
  }
}

/** Canonical string of a parsed selector: requirements sorted by key, set values sorted. '' for everything/nothing. */
export function labelSelectorString(sel: LabelSelector): string {
  return sel.nothing ? '' : sel.requirements.map(requirementString).join(',');
}

/**
 * The string form of a metav1.LabelSelector (`app=web,tier in (a,b)`), '' when it is empty or missing.
 * Throws when the selector is invalid. Used for Scale.status.selector and the SELECTOR column.
 */
export function formatLabelSelector(ls: MetaLabelSelector | null | undefined): string {
  return labelSelectorString(selectorFromLabelSelector(ls));
}

/** A label map as `k=v` pairs sorted by key, '' when empty. */
export function formatLabels(labels: Record<string, string> | null | undefined): string {
  return Object.keys(labels ?? {})
    .sort()
    .map((k) => `${k}=${(labels as Record<string, string>)[k]}`)
    .join(',');
}

/** A matcher for exactly the given labels (a Service selector, an RC selector); empty matches everything. */
export function selectorFromSet(labels: Record<string, string> | null | undefined): LabelSelector {
  const reqs = Object.keys(labels ?? {})
    .sort()
    .map((key): LabelRequirement => ({ key, operator: 'Equals', values: [(labels as Record<string, string>)[key]] }));
  return { requirements: reqs };
}

/** Whether two label sets are equal (absent counts as empty): cheap enough for every watch event. */
export function sameLabels(a: Record<string, string> | null | undefined, b: Record<string, string> | null | undefined): boolean {
  if (a === b) return true;
  const ka = a ? Object.keys(a) : [];
  if (ka.length !== (b ? Object.keys(b).length : 0)) return false;
  for (const k of ka) if (a![k] !== b?.[k]) return false;
  return true;
}
