// ESLint flat config: typescript-eslint's recommended rules over src/, test/, bench/ and bin/.
// Formatting is Prettier's job (.prettierrc.json), so no stylistic rules here.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    { ignores: ['dist/', 'node_modules/', 'bench/results/', 'coverage/'] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        languageOptions: { globals: { ...globals.node } },
        rules: {
            // The code uses `cond ? a() : b()` and `x && f()` as statements.
            '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true, allowShortCircuit: true }],
            // Control characters in patterns are deliberate: keys and addresses must not carry them.
            'no-control-regex': 'off',
            // `_`-prefixed names are deliberately unused (positional parameters, destructuring).
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }]
        }
    },
    {
        // The live pages run in the browser.
        files: ['web/**/*.js', 'src/admin/web/**/*.js'],
        languageOptions: { globals: { ...globals.browser } }
    }
);
