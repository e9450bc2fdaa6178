// `kite image`: manage the node's image store (import, build, ls, rm, pull). Implemented in src/runtime/images.

export async function runImage(argv: string[]): Promise<number> {
  console.error(`kite image: not implemented yet (${argv.join(' ')})`);
  return 2;
}
