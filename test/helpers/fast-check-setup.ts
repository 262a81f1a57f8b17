// Every property test (fast-check) can be replayed: its failure message gives the seed
// and the path of the counterexample, and
//   FC_SEED=<seed> FC_PATH=<path> npx vitest run <file>
// runs that very case again (a test that sets its own seed, as the fuzz does, keeps it).
import fc from 'fast-check';

const seed = process.env.FC_SEED;
if (seed !== undefined) {
  const path = process.env.FC_PATH;
  fc.configureGlobal({ seed: Number(seed), ...(path ? { path } : {}) });
}
