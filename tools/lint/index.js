// ESLint's plugins, resolved from this folder: typescript-eslint needs TypeScript's
// JavaScript API, which the project's typescript@7 (the native compiler) does not ship;
// this workspace installs typescript@6 beside them (see tools/lint/package.json).
export { default as js } from '@eslint/js';
export { default as tseslint } from 'typescript-eslint';
