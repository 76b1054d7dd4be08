/**
 * The connection budget of the metrics server. A plain `server.maxConnections` refuses every new connection once the
 * cap is reached, so a handful of slow clients (slowloris: connect, then trickle a request that never completes) lock
 * the liveness probe out and get a healthy pod restarted. Here the cap is kept by closing the connection that has been
 * idle longest (no request in flight: still sending its headers, or a keep-alive between requests), so a new
 * connection (a probe, a scrape) always gets in. Only when every connection has a request in flight is the newcomer
 * refused; those requests are bounded by the server's request timeout.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** Keeps at most `max` connections open on `server`, closing the longest-idle one to make room for a new one. */
export function budgetConnections(server: Server, max: number): void {
  /** Connections with no request in flight, least recently active first (a Set keeps insertion order). */
  const idle = new Set<Socket>();
  /** Requests in flight per connection (pipelining can put several on one). */
  const busy = new Map<Socket, number>();
  let open = 0;
  server.on("connection", (socket: Socket) => {
    open += 1;
    idle.add(socket);
    socket.once("close", () => {
      open -= 1;
      idle.delete(socket);
      busy.delete(socket);
    });
    if (open <= max) return;
    // The oldest idle connection, which is the newcomer itself when every other one is serving a request.
    const victim = idle.values().next().value as Socket;
    idle.delete(victim);
    victim.destroy();
  });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    idle.delete(socket);
    busy.set(socket, (busy.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const left = (busy.get(socket) ?? 1) - 1;
      if (left > 0) {
        busy.set(socket, left);
        return;
      }
      busy.delete(socket);
      if (!socket.destroyed) idle.add(socket);
    });
  });
}
