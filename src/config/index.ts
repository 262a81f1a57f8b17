// Environment → validated, typed, frozen configuration (docs/configuration.md). This folder is the
// only reader of process.env; everything else gets a Config or an AggregateConfig.
// fields.ts lists every variable with its default and bounds.
export { type AggregateConfig, loadAggregateConfig } from './aggregator.js';
export { type Config, loadConfig } from './collector.js';
export { embeddedGeoipDbs } from './fields.js';
export { MAX_RETENTION_MS, parseDuration } from './kinds.js';
