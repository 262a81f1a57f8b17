// shape: scalars, or arrays of scalars; the client-hint brand lists are the one
// structured exception, checked to their shape. Anything else is dropped.
import type { PropertyValue } from '../../contract/record.js';

const BRAND_LIST_MAX = 20;
const BRAND_TEXT_MAX = 128;

export type Scalar = string | number | boolean | null;
export const isScalar = (v: PropertyValue): v is Scalar => v === null || typeof v !== 'object';

/**
 * Chrome's GREASE brands (`Not?A_Brand`, `Not;A=Brand`, `Not)A;Brand`): punctuation that
 * reads as a query to the rules, and the same for every visitor. Kept as sent.
 */
export const isGreaseBrand = (brand: string): boolean => /^Not[ -~]A[ -~]Brand$/.test(brand);

/** A brand list `[{brand, version}, ...]` with exactly those two keys, both short strings. */
export function isBrandList(value: PropertyValue): value is { brand: string; version: string }[] {
  if (!Array.isArray(value) || value.length > BRAND_LIST_MAX) return false;
  for (const item of value) {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return false;
    let keys = 0;
    for (const k in item) {
      if ((k !== 'brand' && k !== 'version') || typeof item[k] !== 'string' || item[k].length > BRAND_TEXT_MAX)
        return false;
      keys++;
    }
    if (keys !== 2) return false;
  }
  return true;
}
