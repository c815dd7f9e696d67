import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of the API server that can turn into a black hole: it
 * stops forwarding in both directions while keeping every socket open (nothing is reset,
 * nothing is closed, bytes are read and dropped), as a NAT or load balancer that lost a
 * connection's state does, or a path that stopped carrying packets. A real TCP path, below
 * TLS: levee's client sees exactly what it would see on a dead network.
 *
 * - `blackHole('existing')`: connections open now go silent; new ones pass (the NAT case).
 * - `blackHole('all')`: new connections are accepted and go silent too (the path is dead).
 * - `heal()`: new connections pass again; the silenced ones stay silent, as after a NAT
 *   lost them: the client must give them up by itself.
 */
export class BlackHoleProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket | undefined; silent: boolean }>();
  private mode: 'forward' | 'all' = 'forward';
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(port = 0): Promise<number> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  /** How many connections are open and being forwarded, and how many are silenced. */
  counts(): { forwarding: number; silent: number } {
    let silent = 0;
    for (const pair of this.pairs) if (pair.silent) silent++;
    return { forwarding: this.pairs.size - silent, silent };
  }

  blackHole(which: 'existing' | 'all'): void {
    for (const pair of this.pairs) pair.silent = true;
    if (which === 'all') this.mode = 'all';
  }

  heal(): void {
    this.mode = 'forward';
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    const pair: { client: Socket; upstream: Socket | undefined; silent: boolean } = { client, upstream: undefined, silent: this.mode === 'all' };
    this.pairs.add(pair);
    const forget = (): void => {
      this.pairs.delete(pair);
    };
    client.on('error', () => undefined);
    if (pair.silent) {
      // Accepted, then nothing: no upstream, no answer, no close.
      client.on('data', () => undefined);
      client.on('close', forget);
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    client.on('data', (chunk: Buffer) => {
      if (!pair.silent) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.silent) client.write(chunk);
    });
    // An end on one side is passed on while forwarding; once silent, nothing is, not even a FIN.
    client.on('end', () => {
      if (!pair.silent) upstream.end();
    });
    upstream.on('end', () => {
      if (!pair.silent) client.end();
    });
    // The client gave the connection up (levee abandoning a dead watch): so does the proxy.
    client.on('close', () => {
      upstream.destroy();
      forget();
    });
    upstream.on('close', () => {
      if (!pair.silent) client.destroy();
    });
  }
}
