// The exempt value rules live in ./exempt/, one module per rule (index.ts says which);
// this module keeps the path the rest of the code imports them from.
export * from './exempt/index.js';
