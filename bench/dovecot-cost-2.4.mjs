// bench/dovecot-cost.mjs against Dovecot 2.4 (the tests' trixie root): the hook's cost there,
// the native driver's above all. Same knobs; writes dovecot-cost-2.4.{json,md}.
process.env.BENCH_DOVECOT = '2.4';
await import('./dovecot-cost.mjs');
