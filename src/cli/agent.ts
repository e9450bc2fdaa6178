// `kite agent`: a node that joins a cluster over HTTPS and runs its pods with runc.

export async function runAgent(argv: string[]): Promise<number> {
  console.error(`kite agent: not implemented yet (${argv.join(' ')})`);
  return 2;
}
