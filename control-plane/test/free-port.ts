import { createServer } from "node:net";

/** A loopback port nothing listens on (bound once, then released): free to listen on, refused when dialled. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
