// `kite <role> [flags]`: one binary, several roles, as k3s composes them. Each role is loaded only when asked for,
// so quick commands (`kite image ls`) do not pay for the control plane's modules.

const USAGE = `Usage: kite <command> [flags]

Commands:
  server    Run the control plane (API server, storage, controllers, scheduler) and, unless --disable-agent, a node agent
  agent     Join a cluster as a node and run its pods in containers (runc)
  image     Manage the node's images: import, build, ls, rm, pull
  sim       Register simulated nodes that heartbeat and run the pods bound to them (for tests and benchmarks)
  version   Print the version

Run 'kite <command> --help' for the flags of a command.`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'server':
      return (await import('./server.js')).runServer(rest);
    case 'sim':
      return (await import('./sim.js')).runSim(rest);
    case 'agent':
      return (await import('./agent.js')).runAgent(rest);
    case 'image':
      return (await import('./image.js')).runImage(rest);
    case 'version':
    case '--version':
      console.log('kite v0.1.0 (Kubernetes v1.32 API)');
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return 0;
    default:
      console.error(`kite: unknown command "${cmd}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  // A role that has shut down is done: stray retries or sockets must not keep the process alive.
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`kite: ${(e as Error)?.message ?? String(e)}`);
    process.exit(1);
  },
);
