// sysexits codes the CLI uses, and an error that carries one.
export const EX = { OK: 0, USAGE: 64, DATAERR: 65, UNAVAILABLE: 69, SOFTWARE: 70, TEMPFAIL: 75 } as const;

export class ExitError extends Error {
    constructor(readonly code: number, message = '') {
        super(message);
    }
}
