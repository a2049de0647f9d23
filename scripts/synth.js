#!/usr/bin/env node
// `npm run synth`: `cdk8s synth` that cannot wipe a directory the user cares about, offline and
// without the CLI's stack trace.
//
// - The CLI deletes its output directory before it starts the app, so `-o dist` would lose dist/
//   on a failed synth and `-o clusters` the cluster configs. The output is the scratch directory of
//   cdk8s.yaml (`.cdk8s.out`; main.ts publishes dist/ itself), so every way to name another one is
//   refused before the CLI starts: `-o`/`--output` in any spelling yargs accepts, and the
//   `CDK8S_OUTPUT` (or `CDK8S_O`) variable the CLI reads as the same option.
// - `CDK8S_CHECK_UPGRADE=false` (unless set): no online check for a newer CLI.
// - The CLI's trace after the app exits non-zero ("Error: command ... returned a non-zero exit
//   code", then "    at ..." lines) only points into the CLI itself; the app (main.ts) has already
//   printed every problem as a message, so the trace is dropped. Everything else passes through.
'use strict';
const { spawn } = require('child_process');
const path = require('path');
const readline = require('readline');

/**
 * Why these arguments and environment must not reach the cdk8s CLI, as a one-line message, or
 * undefined when they may.
 *
 * @param {readonly string[]} args the arguments after `synth`
 * @param {Record<string, string | undefined>} env the environment
 * @returns {string | undefined}
 */
function refusal(args, env) {
  const why = 'the cdk8s CLI empties its output directory before synth starts, and dist/ is written by the app itself';
  const fix = 'run `npm run synth` without it (set DIST_DIR to write dist/ elsewhere)';
  for (const name of Object.keys(env)) {
    // yargs reads CDK8S_<OPTION> in upper or lower case, aliases included.
    if (/^CDK8S_(OUTPUT|O)$/i.test(name) && env[name] !== undefined) {
      return `error: refusing ${name}: ${why}; unset it and ${fix}`;
    }
  }
  for (const arg of args) {
    if (arg === '--') break;
    // --output, --output=x, --no-output, --o, --o=x; -o, -ox, -o=x, and short groups like -po.
    if (/^--(no-)?(output|o)(=|$)/.test(arg) || /^-[^-=]*o/.test(arg)) {
      return `error: refusing ${arg}: ${why}; ${fix}`;
    }
  }
  return undefined;
}

function main() {
  const args = process.argv.slice(2);
  const refused = refusal(args, process.env);
  if (refused) {
    process.stderr.write(`${refused}\n`);
    process.exit(2);
  }
  const cli = path.join(__dirname, '..', 'node_modules', '.bin', 'cdk8s');
  const env = { ...process.env, CDK8S_CHECK_UPGRADE: process.env.CDK8S_CHECK_UPGRADE ?? 'false' };
  const child = spawn(cli, ['synth', ...args], { stdio: ['inherit', 'inherit', 'pipe'], env });
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
}

if (require.main === module) main();

module.exports = { refusal };
