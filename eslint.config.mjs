import eslint from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }
      ]
    }
  },
  { files: ['**/*.js'], languageOptions: { globals: globals.node, sourceType: 'commonjs' } },
  { files: ['**/*.mjs'], languageOptions: { globals: globals.node } },
  // The plugin never loads the tools that sit above it.
  {
    files: ['src/index.ts', 'src/index.mts', 'src/destinations/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ regex: '(^|/)(cli|sandbox)(/|$)', message: 'The plugin must not load the CLI or the sandbox.' }]
        }
      ]
    }
  },
  // The sandbox is an independent witness: it models Mailchimp from Mailchimp's documentation, never from the plugin.
  {
    files: ['src/sandbox/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)(destinations|cli)(/|$)|^\\.\\./index$', message: 'The sandbox must not import the plugin.' }
          ]
        }
      ]
    }
  },
  // The tools drive the plugin as a host does: through the package's public exports only.
  {
    files: ['src/cli/**', 'bench/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)destinations(/|$)', message: 'Use the public exports of ../index.' }] }
      ]
    }
  }
)
