// A small TCP proxy in front of one Redis node, to stall a replication link for real.
// The node announces the proxy's port (cluster-announce-port), so its clients and its
// replicas all connect through here. A connection that sends REPLCONF or PSYNC is a
// replica's link: stallReplication() stops reading both ways on those links, so the
// master's stream of writes piles up in the kernel's buffers and the replica receives
// nothing and acknowledges nothing, as with a congested network or a busy replica.
// (A stopped replica process does not do it: the kernel keeps receiving for it.)
// Other connections (clients, redis-cli) keep flowing. Everything is on 127.0.0.1.
import net from 'node:net';

export interface LinkProxy {
  /** The port clients and replicas connect to. */
  readonly port: number;
  /** Stops reading both ways on the replication links (now and those opened later). */
  stallReplication(): void;
  /** Lets the replication links flow again. */
  resume(): void;
  /** Closes every connection through it (the node died: its peers see the sockets close). */
  dropConnections(): void;
  close(): Promise<void>;
}

interface Link {
  client: net.Socket;
  upstream: net.Socket;
  replication: boolean;
}

const REPLICATION = /REPLCONF|PSYNC/i;

export async function startLinkProxy(port: number, target: number): Promise<LinkProxy> {
  const links = new Set<Link>();
  let stalled = false;
  const stall = (l: Link) => {
    l.client.pause();
    l.upstream.pause();
  };

  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    const link: Link = { client, upstream, replication: false };
    links.add(link);
    const drop = () => {
      links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d: Buffer) => {
      // a replica says who it is in its first commands (REPLCONF listening-port, PSYNC)
      if (!link.replication && REPLICATION.test(d.toString('latin1'))) {
        link.replication = true;
        if (stalled) stall(link);
      }
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });

  return {
    port,
    stallReplication() {
      stalled = true;
      for (const l of links) if (l.replication) stall(l);
    },
    resume() {
      stalled = false;
      for (const l of links) {
        l.client.resume();
        l.upstream.resume();
      }
    },
    dropConnections() {
      for (const l of [...links]) {
        l.client.destroy();
        l.upstream.destroy();
        links.delete(l);
      }
    },
    async close() {
      stalled = false;
      for (const l of [...links]) {
        l.client.destroy();
        l.upstream.destroy();
      }
      links.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
