// POST /event fuzzed with text/plain bodies (the SDK's sendBeacon): test/helpers/fuzz.ts.
import { describeFuzz } from '../helpers/fuzz.js';

describeFuzz('text/plain;charset=UTF-8', 0);
