// Kubernetes' $(VAR) expansion for command, args, env values and subPathExpr: "$(NAME)" becomes the value
// when NAME is known and stays as written when it is not; "$$" is an escaped "$", so "$$(NAME)" yields the
// literal "$(NAME)"; any other "$" is kept as is.

export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const ch = input[i]!;
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = name ? lookup(name) : undefined;
      out += value ?? `$(${name})`;
      i = close + 1;
      continue;
    }
    out += '$' + next;
    i += 2;
  }
  return out;
}

export function mapLookup(m: Map<string, string>): (name: string) => string | undefined {
  return (name) => m.get(name);
}
