#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through the prepare script).
import { main } from '../dist/cli.js';

main(process.argv).then(
    code => {
        if (typeof code === 'number') process.exitCode = code;
    },
    err => {
        console.error(err?.stack || String(err));
        process.exit(70);
    }
);
