// What a report may show of a table of counts, so that no count below the minimum
// (REPORT_MIN_COUNT, default 5) is ever shown beside a name.
//
// A cell below the minimum is folded, without its name, into an "(other)" row. A named
// cell at or above the minimum is always shown: folding it in as well would only hide
// the folded cells' sum, which names nobody — a reader who subtracts the shown rows
// from a total learns how many page views (visits, …) the unnamed cells hold together,
// never which page (place, source) they belong to. "(other)" itself is withheld when
// it is below the minimum, so the report never prints a small number, but it is not
// a secret: it is a total minus the shown rows.
//
// Where the name of a hidden cell is partly known — a place is written under its
// country — the subtraction would give a small count a name (FR 8 shown, FR / Paris 5
// shown: some place in FR had 3). suppressWithin folds more of that country's places
// so that it cannot.

export const OTHER = '(other)';

export interface Row {
  label: string;
  count: number;
}

export interface SuppressedTable<R extends Row = Row> {
  rows: R[];
  /** The folded cells' sum; null when it is below the minimum (withheld). */
  other: number | null;
  /** How many cells were folded into "(other)". */
  suppressed: number;
}

/** A count as a report may print it: null (withheld) when it is above 0 and below the minimum. */
export const shown = (n: number, k: number): number | null => (n > 0 && n < k ? null : n);

const byCount = (a: Row, b: Row) => b.count - a.count || a.label.localeCompare(b.label);

/** Every cell at or above the minimum with its name, largest first; the others folded into "(other)". */
export function suppress(cells: ReadonlyMap<string, number> | Record<string, number>, k: number): SuppressedTable {
  // (a ReadonlyMap is no class: instanceof cannot narrow the union either way)
  const pairs: [string, number][] =
    cells instanceof Map
      ? [...(cells as ReadonlyMap<string, number>)]
      : Object.entries(cells as Record<string, number>);
  const entries = pairs.filter(([, n]) => n > 0);
  const all = entries.map(([label, count]) => ({ label, count })).sort(byCount);
  const rows = all.filter((r) => r.count >= k);
  const folded = all.filter((r) => r.count < k);
  const other = folded.reduce((a, r) => a + r.count, 0);
  return { rows, other: shown(other, k), suppressed: folded.length };
}

/**
 * Suppresses a table whose cells break down those of a table already suppressed (places
 * within countries), so that no hidden place can be had by subtraction across the two:
 * a country folded away takes its places with it, and a country shown whose hidden
 * places would add up to less than the minimum (FR 8 shown, FR / Paris 5 shown: FR /
 * Nice 3 would be 8 − 5) gets more of its places folded until they add up to at least
 * the minimum, or all are folded. Here a named row is folded: the count it protects
 * would otherwise be shown with part of a name (its country).
 */
export function suppressWithin(
  cells: ReadonlyMap<string, number>,
  parentOf: (label: string) => string,
  parents: SuppressedTable,
  k: number,
): SuppressedTable {
  const t = suppress(cells, k);
  const shownParents = new Map(parents.rows.map((r) => [r.label, r.count]));
  let other = [...cells.values()].reduce((a, n) => a + n, 0) - t.rows.reduce((a, r) => a + r.count, 0);
  let suppressed = t.suppressed;
  const fold = (i: number) => {
    other += t.rows[i]!.count;
    suppressed++;
    t.rows.splice(i, 1);
  };
  for (let i = t.rows.length - 1; i >= 0; i--) if (!shownParents.has(parentOf(t.rows[i]!.label))) fold(i);
  for (const [parent, total] of shownParents) {
    for (;;) {
      const mine = t.rows.map((r, i) => [r, i] as const).filter(([r]) => parentOf(r.label) === parent);
      const hidden = total - mine.reduce((a, [r]) => a + r.count, 0);
      if (hidden === 0 || hidden >= k || mine.length === 0) break;
      fold(mine[mine.length - 1]![1]); // the smallest of them (rows are sorted)
    }
  }
  return { rows: t.rows, other: shown(other, k), suppressed };
}

/**
 * A period's total beside its days, unless it would give away the sum of the withheld
 * days: a day is a name ("2026-11-29: 3 page views"), so here the total is withheld.
 */
export function totalShown(total: number, perDay: readonly (number | null)[], k: number): number | null {
  const hidden = total - perDay.reduce<number>((a, n) => a + (n ?? 0), 0);
  return hidden > 0 && hidden < k ? null : shown(total, k);
}
