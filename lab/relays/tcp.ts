/**
 * The TCP relay every lab relay is built on: one upstream connection to the
 * real server per client, torn down together, all of them on close(). What
 * flows between the two is the caller's `wire`.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface TcpRelay {
  port: number;
  close(): Promise<void>;
}

export async function startTcpRelay(host: string, port: number, wire: (client: Socket, upstream: Socket) => void): Promise<TcpRelay> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    wire(client, upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
