// sysexits codes the CLI uses, and an error that carries one.
export const EX = { OK: 0, USAGE: 64, DATAERR: 65, UNAVAILABLE: 69, SOFTWARE: 70, TEMPFAIL: 75, CONFIG: 78 } as const;

export class ExitError extends Error {
    constructor(
        readonly code: number,
        message = ''
    ) {
        super(message);
    }
}

/** Runs a flag's parser; a failure is a usage error naming the flag (exit 64). */
export function parseFlag<T>(flag: string, parse: () => T): T {
    try {
        return parse();
    } catch (err) {
        throw new ExitError(EX.USAGE, `invalid option ${flag}: ${(err as Error).message}`);
    }
}
