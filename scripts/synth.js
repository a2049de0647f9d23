#!/usr/bin/env node
// `npm run synth`: `cdk8s synth` without the CLI's online upgrade check, and without the stack
// trace the CLI prints after the app exits non-zero. The app (main.ts) has already printed every
// problem as a message by then; the CLI's trace ("Error: command ... returned a non-zero exit
// code", then "    at ..." lines) only points into the CLI itself. Everything else passes through.
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const readline = require('readline');

const cli = path.join(__dirname, '..', 'node_modules', '.bin', 'cdk8s');
const child = spawn(cli, ['synth', '--check-upgrade=false', ...process.argv.slice(2)], { stdio: ['inherit', 'inherit', 'pipe'] });
let inTrace = false;
readline.createInterface({ input: child.stderr }).on('line', (line) => {
  if (/^Error: command ".*" at .* returned a non-zero exit code \d+$/.test(line)) {
    inTrace = true;
    return;
  }
  if (inTrace && /^\s+at /.test(line)) return;
  inTrace = false;
  process.stderr.write(`${line}\n`);
});
child.on('close', (code, signal) => process.exit(signal ? 1 : code ?? 1));
