/** The keeper's HTTP endpoints: `/metrics` (Prometheus) and `/healthz` (JSON; 503 when the loop is stale). */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

import type { Registry } from "prom-client";

/** What `/healthz` reports. */
export interface HealthReport {
  status: "ok" | "stale" | "starting";
  /** When the last loop succeeded (ISO), null before the first. */
  lastSuccessAt: string | null;
  /** The last indexed block, and how far behind the head it is. */
  block: number | null;
  head: number | null;
  lagBlocks: number | null;
  accountsKnown: number;
  dryRun: boolean;
}

export interface KeeperServer {
  server: Server;
  /** The port it listens on (the real one when configured with 0). */
  port: number;
  close(): Promise<void>;
}

/** Starts the server; `health()` returns the report and whether it is healthy. */
export async function startKeeperServer(options: {
  host: string;
  port: number;
  registry: Registry;
  health: () => { healthy: boolean; report: HealthReport };
}): Promise<KeeperServer> {
  const server = createServer((req, res) => {
    const url = (req.url ?? "/").split("?")[0];
    if (url === "/metrics") {
      options.registry.metrics().then(
        (body) => {
          res.writeHead(200, { "content-type": options.registry.contentType });
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(String(error));
        },
      );
    } else if (url === "/healthz") {
      const { healthy, report } = options.health();
      res.writeHead(healthy ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify(report));
    } else {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "not found", endpoints: ["/metrics", "/healthz"] }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeAllConnections();
      }),
  };
}
