// CNIL (Piano guide 4.3): geolocation no finer than the city.
// Only country, first subdivision (region) and city survive; coordinates, postal
// code, accuracy radius, metro code, time zone and ASN are never read out.
// The lookup only ever sees the truncated address (see anonymise-ip.ts).
import { stat } from 'node:fs/promises';
import maxmind, { type Reader } from 'maxmind';
import type { FastifyBaseLogger as Logger } from 'fastify';
import { BoundedCache } from '../bounded-cache.js';
import type { RecordGeo } from '../contract/record.js';

export type Geo = RecordGeo;

type Names = { names?: Record<string, string> } | undefined;

/** Picks city-level fields from either record layout and drops everything else. */
export function cityLevel(record: unknown): Geo | undefined {
  if (!record || typeof record !== 'object') return undefined;
  const r = record as Record<string, unknown>;
  const geo: Geo = {};
  if (typeof r.country_code === 'string' || typeof r.state1 === 'string' || typeof r.city === 'string') {
    // flat layout (@ip-location-db): country_code, state1, state2, city, postcode, latitude, ...
    if (typeof r.country_code === 'string' && r.country_code) geo.country = r.country_code;
    if (typeof r.state1 === 'string' && r.state1) geo.region = r.state1;
    if (typeof r.city === 'string' && r.city) geo.city = r.city;
  } else {
    // nested GeoIP2 / GeoLite2 City layout
    const country = (r.country ?? r.registered_country) as { iso_code?: string } | undefined;
    const subdivision = (r.subdivisions as Names[] | undefined)?.[0];
    const city = r.city as Names;
    if (typeof country?.iso_code === 'string') geo.country = country.iso_code;
    const region = subdivision?.names?.en;
    if (typeof region === 'string' && region) geo.region = region;
    const cityName = city?.names?.en;
    if (typeof cityName === 'string' && cityName) geo.city = cityName;
  }
  return geo.country || geo.region || geo.city ? Object.freeze(geo) : undefined;
}

interface OpenDb {
  readonly path: string;
  readonly reader: Reader<Record<string, unknown>>;
  readonly ipVersion: number;
  readonly buildEpoch: Date;
  readonly fingerprint: string;
}

async function fingerprint(path: string): Promise<string> {
  const s = await stat(path);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

async function openDb(path: string): Promise<OpenDb> {
  const fp = await fingerprint(path);
  const reader = await maxmind.open<Record<string, unknown>>(path, { cache: { max: 1 } });
  const type = String(reader.metadata.databaseType);
  if (!/city/i.test(type)) throw new Error(`${path} is a "${type}" database, not a City database`);
  return {
    path,
    reader,
    ipVersion: reader.metadata.ipVersion,
    buildEpoch: reader.metadata.buildEpoch,
    fingerprint: fp,
  };
}

const CACHE_MAX = 65_536;

/**
 * Holds the open City databases (opened at start, never lazily), answers lookups
 * from a per-prefix cache (truncation makes one /24 or /48 one entry), and swaps in
 * a database replaced on disk (as geoipupdate does) without a restart.
 */
export class Geolocator {
  #dbs: OpenDb[];
  readonly #cache = new BoundedCache<string, Geo | undefined>(CACHE_MAX);
  #timer: NodeJS.Timeout | undefined;
  #log: Logger | undefined;

  private constructor(dbs: OpenDb[], log?: Logger) {
    this.#dbs = dbs;
    this.#log = log;
  }

  /** Opens every path now; throws with the path when one cannot be used. */
  static async open(paths: readonly string[], opts: { log?: Logger; watchMs?: number } = {}): Promise<Geolocator> {
    const dbs: OpenDb[] = [];
    for (const p of paths) {
      try {
        dbs.push(await openDb(p));
      } catch (err) {
        throw new Error(`GEOIP_DB: cannot open ${p}: ${(err as Error).message}`, { cause: err });
      }
    }
    const g = new Geolocator(dbs, opts.log);
    if (opts.watchMs && dbs.length > 0) g.#watch(opts.watchMs);
    return g;
  }

  static disabled(): Geolocator {
    return new Geolocator([]);
  }

  get enabled(): boolean {
    return this.#dbs.length > 0;
  }

  /** Build dates of the open databases (for readiness and metrics). */
  get databases(): { path: string; buildEpoch: Date }[] {
    return this.#dbs.map((d) => ({ path: d.path, buildEpoch: d.buildEpoch }));
  }

  /** `truncatedIp` must come from anonymiseIp. */
  lookup(truncatedIp: string | undefined): Geo | undefined {
    if (!truncatedIp || this.#dbs.length === 0) return undefined;
    return this.#cache.getOrCompute(truncatedIp, (ip) => this.#find(ip));
  }

  #find(truncatedIp: string): Geo | undefined {
    const v6 = truncatedIp.includes(':');
    let geo: Geo | undefined;
    for (const db of this.#dbs) {
      if (!v6 && db.ipVersion !== 4 && this.#dbs.some((d) => d.ipVersion === 4)) continue;
      if (v6 && db.ipVersion === 4) continue;
      geo = cityLevel(db.reader.get(truncatedIp));
      if (geo) break;
    }
    return geo;
  }

  /** Re-opens every database whose file changed; keeps the old one if the new one is unusable. */
  async reloadChanged(): Promise<number> {
    let reloaded = 0;
    const next = [...this.#dbs];
    for (let i = 0; i < next.length; i++) {
      const db = next[i]!;
      try {
        if ((await fingerprint(db.path)) === db.fingerprint) continue;
        next[i] = await openDb(db.path);
        reloaded++;
      } catch (err) {
        this.#log?.warn(
          { path: db.path, err: (err as Error).message },
          'geolocation database not reloaded; keeping the previous one',
        );
      }
    }
    if (reloaded > 0) {
      this.#dbs = next;
      this.#cache.clear();
      this.#log?.info({ databases: this.databases }, 'geolocation database reloaded');
    }
    return reloaded;
  }

  #watch(ms: number): void {
    let running = false;
    this.#timer = setInterval(() => {
      if (running) return;
      running = true;
      // reloadChanged logs what it cannot reload; a rejection here would be unhandled and end the process
      this.reloadChanged()
        .catch((err: unknown) => this.#log?.warn({ err: String(err) }, 'geolocation reload failed'))
        .finally(() => (running = false));
    }, ms);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
