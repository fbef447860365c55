#!/usr/bin/env node
// Keeps every core busy until stopped (Ctrl-C or kill), to check that the suite holds on a loaded
// machine:  node test/support/busy-cores.js & npm test; kill $!
const { availableParallelism } = require('node:os');
const { Worker } = require('node:worker_threads');

const threads = Number(process.argv[2] ?? availableParallelism());
for (let i = 0; i < threads; i++) new Worker('for (;;) {}', { eval: true });
process.stderr.write(`busy-cores: ${threads} threads spinning (pid ${process.pid})\n`);
