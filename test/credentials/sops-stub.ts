import * as fs from 'fs';
import * as path from 'path';

/**
 * A stand-in for `sops` (no real sops or age key in CI): a node script named `sops` that insists
 * on the command line `npm run credentials` must use, reads the Secret from stdin and prints it as
 * `sops --encrypt` with `encrypted_regex: ^(data|stringData)$` would: `ENC[...]` values (a hash of
 * the value, never the value) and `sops` metadata with a mac.
 *
 * It appends one JSON line per call (arguments, working directory, whether recipient variables
 * reached it) to `<dir>/sops-calls.log`. Behaviour switches, by environment:
 * - STUB_SOPS_FAIL=1: prints an error that quotes its input on stderr and exits 128, as a sops
 *   without the age key might fail (the caller must not echo the secret);
 * - STUB_SOPS_PLAIN=1: prints its input unchanged (a broken sops; the caller must refuse it).
 *
 * @returns the directory holding `sops`, to put first on PATH
 */
export function writeSopsStub(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const script = `#!${process.execPath}
const fs = require('fs');
const crypto = require('crypto');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(path.join(dir, 'sops-calls.log'))}, JSON.stringify({
  args, cwd: process.cwd(), recipientEnv: Object.keys(process.env).filter((k) => /^SOPS_(AGE_RECIPIENTS|PGP_FP)$/.test(k)),
}) + '\\n');
const i = args.indexOf('--filename-override');
const ok = args.length === 10 && args[0] === '--config' && args[2] === '--encrypt' && args.slice(3, 7).join(' ') === '--input-type yaml --output-type yaml'
  && i === 7 && args[i + 1].endsWith('.sops.yaml') && args[9] === '/dev/stdin' && fs.existsSync(args[1]);
if (!ok) { process.stderr.write('stub sops: unexpected arguments ' + JSON.stringify(args) + '\\n'); process.exit(2); }
const input = fs.readFileSync(0, 'utf8');
if (process.env.STUB_SOPS_FAIL) { process.stderr.write('Could not generate data key for:\\n' + input); process.exit(128); }
if (process.env.STUB_SOPS_PLAIN) { process.stdout.write(input); process.exit(0); }
const enc = (v) => 'ENC[AES256_GCM,data:' + crypto.createHash('sha256').update(String(v)).digest('base64') + ',iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]';
// Line-based, like sops keeps the document's order: every value under data/stringData is replaced.
const out = [];
let inData = false;
for (const line of input.replace(/\\n$/, '').split('\\n')) {
  if (/^\\S/.test(line)) inData = /^(data|stringData):/.test(line);
  const m = inData && /^( {2})([^ :][^:]*): ?(.*)$/.exec(line);
  if (m) out.push(m[1] + m[2] + ': ' + enc(m[3]));
  else if (!(inData && /^ {4}/.test(line))) out.push(line);
}
out.push('sops:', '  age:', '    - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq5cu47z',
  '      enc: AAAA', '  lastmodified: "2026-12-02T00:00:00Z"', '  mac: ' + enc('mac'), '  encrypted_regex: ^(data|stringData)$', '  version: 3.9.0');
process.stdout.write(out.join('\\n') + '\\n');
`;
  fs.writeFileSync(path.join(dir, 'sops'), script, { mode: 0o755 });
  return dir;
}
