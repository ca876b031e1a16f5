// ESLint flat config: type-aware typescript-eslint rules on every TypeScript
// file of the workspace. Formatting is Prettier's job (`pnpm lint` runs
// `prettier --check` after ESLint), so no stylistic rules here.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['.tools/', '.data/', '.cache/', '**/node_modules/', 'coverage/', '**/dist/']),

  js.configs.recommended,

  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // One TypeScript program per tsconfig, found the way the editor finds it.
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The rules the style guide asks for by name.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'inline-type-imports' },
      ],
      '@typescript-eslint/no-import-type-side-effects': 'error',

      // Tuned so that ordinary, careful code passes.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Node's callback APIs (server.listen(cb), stream.on(cb)) take async
      // listeners whose rejections we handle inside; only conditions must be sound.
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      // Numbers, booleans and errors in template strings read fine in logs and messages.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowNullish: true, allowAny: false },
      ],
      // String(x) on a value narrowed from `unknown` (a userId may be a number,
      // a caught error anything) is the intended fallback, and the rule cannot
      // tell it from a bug; restrict-template-expressions still rejects objects
      // in template strings.
      '@typescript-eslint/no-base-to-string': 'off',
      // An async function without await is harmless and often an interface's shape.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/prefer-promise-reject-errors': 'error',
    },
  },

  {
    // Tests: Jest's asymmetric matchers (expect.any, expect.stringContaining)
    // are typed `any`, and response bodies are checked by the assertions
    // themselves; mocks pass methods around unbound.
    files: ['**/*.test.ts', '**/test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },

  {
    // Plain JS config files at the top level: not part of a TypeScript program.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'module', globals: { console: 'readonly', process: 'readonly' } },
  },
);
