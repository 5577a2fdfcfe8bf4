// A webhook receiver on 127.0.0.1 for the alert tests: records every request and answers as
// `respond` decides (a status, or 'hang' to never answer).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  /** Epoch ms the request's body had arrived. */
  at: number;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A webhook receiver: `respond` decides each answer (status, or 'hang' to never answer). */
export class Receiver {
  readonly requests: Received[] = [];
  respond: (n: number) => number | 'hang' = () => 200;
  delayMs = 0;
  private server?: http.Server;
  private hanging: http.ServerResponse[] = [];
  port = 0;

  async listen(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = this.respond(this.requests.length + 1);
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ at: Date.now(), path: req.url ?? '', headers: req.headers, body, status: answer === 'hang' ? 0 : answer });
        if (answer === 'hang') {
          this.hanging.push(res);
          return;
        }
        setTimeout(() => res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer < 300 ? 'ok' : `failed at ${req.url ?? ''}`), this.delayMs);
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Bodies of the requests answered 2xx: what the receiver accepted. */
  accepted(): Received[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging = [];
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
