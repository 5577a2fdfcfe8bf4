// Lint: strict TypeScript, no floating promises, and no Node built-ins in workflow code
// (workflows run in Temporal's deterministic sandbox).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '.venv*/', '.watcher/', 'examples/', 'bench/results/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'child_process', 'crypto', 'pg', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'],
              message: 'Workflow code must stay deterministic: no Node built-ins, I/O or non-workflow SDK packages.',
            },
            {
              group: ['../activities/*', '../src/dbt/*', '../src/devstack/*', '../src/store/*', '../src/temporal/*'],
              allowTypeImports: true,
              message: 'Workflows import activities (and other side-effecting modules) as types only.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['bin/**/*.js', '.ci/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
