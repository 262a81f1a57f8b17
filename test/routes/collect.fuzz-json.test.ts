// POST /event fuzzed with application/json bodies (the SDK's fetch): test/helpers/fuzz.ts.
import { describeFuzz } from '../helpers/fuzz.js';

describeFuzz('application/json', 1);
