// The package's version, read once from the package.json shipped beside dist/ (one source of truth).
import { readFileSync } from 'node:fs';

export const VERSION: string = (() => {
    try {
        return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
        return 'unknown';
    }
})();
