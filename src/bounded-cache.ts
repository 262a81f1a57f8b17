// The one cache of the code (sites, origins, geolocation, URL hosts, dates, property
// names, robot verdicts): a Map that starts over when it is full. The keys it holds
// repeat a lot (a site id, an Origin, a truncated address), so starting over is rare,
// and cheaper than keeping an eviction order on every hit.

export class BoundedCache<K, V> {
  #entries = new Map<K, V>();

  constructor(readonly maxEntries: number) {}

  /** The value remembered for `key`, else `compute(key)`, remembered (undefined included). */
  getOrCompute(key: K, compute: (key: K) => V): V {
    if (this.#entries.has(key)) return this.#entries.get(key) as V;
    const value = compute(key);
    if (this.#entries.size >= this.maxEntries) this.#entries.clear();
    this.#entries.set(key, value);
    return value;
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
