// Free loopback ports for the tools that start servers (the browser tests, the
// bench, check:bundle). On a machine shared by several people each is given a
// range in an environment variable (E2E_PORTS=9400-9499, BENCH_PORTS=8961-8969),
// and only ports from it are taken; without one, any free port.
import net from 'node:net';

function listenOn(port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A `freePort()` for the range named by `variable`: each call tries the next
 * port of the range (wrapping around), skipping those in use, and fails only
 * when every port of the range is taken.
 */
export function portAllocator(variable) {
  const range = /^(\d+)-(\d+)$/.exec(process.env[variable] ?? '');
  if (!range) return () => listenOn(0);
  const first = Number(range[1]);
  const last = Number(range[2]);
  let next = first;
  return async function freePort() {
    for (let tries = 0; tries <= last - first; tries++) {
      const port = next;
      next = next >= last ? first : next + 1;
      try {
        return await listenOn(port);
      } catch {
        // In use: the next one.
      }
    }
    throw new Error(`${variable} ${process.env[variable]}: no free port`);
  };
}
