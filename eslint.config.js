// Lint for bugs, not for looks (Prettier owns the layout): typescript-eslint's
// type-aware rules catch the promise, condition and typing mistakes tsc lets through.
import { js, tseslint } from '@exempt-collector/lint-tools';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'tools/lint/node_modules/',
      '.tmp/',
      'bench/out/',
      'coverage/',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // promises: a forgotten await loses an error or a write that was acknowledged
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // a condition the types say is always true or false is dead code or a wrong type
      '@typescript-eslint/no-unnecessary-condition': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // the privacy rules match control characters on purpose (they are removed from values)
      'no-control-regex': 'off',
      // Fastify handlers are async whether they await or not: a style choice, not a bug
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // tests read answers as JSON (`any`) and look into them: checking each access adds noise, not safety
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      // a test checks what the types say cannot happen: that is its job
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // expect(obj.method) and spies pass methods around on purpose
      '@typescript-eslint/unbound-method': 'off',
    },
  },
);
