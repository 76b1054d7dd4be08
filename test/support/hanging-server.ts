/**
 * An HTTP server on 127.0.0.1 that reads each request and never answers, recording when the client gives up on it
 * (the request's socket closes): proof that a timeout aborted the HTTP request rather than leaving it open.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** A running hanging server. */
export interface HangingServer {
  /** `http://127.0.0.1:PORT/v1`, a baseURL for `ChatOpenAI({ configuration: { baseURL } })`. */
  baseURL: string;
  /** Requests received. */
  received: number;
  /** Requests whose connection the client closed. */
  closedByClient: number;
  close(): Promise<void>;
}

/** Starts a hanging server on a free loopback port. */
export async function startHangingServer(): Promise<HangingServer> {
  const state = { received: 0, closedByClient: 0 };
  const server = createServer((req, res) => {
    state.received += 1;
    req.resume();
    res.on("close", () => {
      if (!res.writableEnded) state.closedByClient += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    get received() {
      return state.received;
    },
    get closedByClient() {
      return state.closedByClient;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
