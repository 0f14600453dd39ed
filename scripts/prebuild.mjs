#!/usr/bin/env node
// npm run prebuildify [-- --arch=90a] [-- --no-cuda]
// (not "prebuild": npm would run that before every `npm run build`.)
// Builds the release addon with cmake-js through prebuildify (Node-API, stripped) into
// prebuilds/<platform>-<arch>/wattgrad.node, the file node-gyp-build and lib/native.ts load from
// an installed package. Release builds carry all archs (sm_75/80/86/89/90, sm_90a, PTX compute_90).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './build-native.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const o = parseArgs(process.argv.slice(2));
if (o.arch) process.env.WATTGRAD_CUDA_ARCH = o.arch;
if (o.cuda) process.env.WATTGRAD_CUDA = o.cuda;

const prebuildify = require('prebuildify');
const shim = path.join(here, 'node-gyp-shim.mjs');
const started = Date.now();
prebuildify(
  {
    cwd: root,
    napi: true,
    strip: true,
    name: 'wattgrad',
    // prebuildify spawns nodeGyp with its args; through a shell so the shim needs no exec bit.
    shell: true,
    nodeGyp: `"${process.execPath}" "${shim}"`,
  },
  (err) => {
    if (err) {
      console.error(`prebuild: ${err.message ?? err}`);
      process.exit(1);
    }
    const out = path.join(root, 'prebuilds', `${os.platform()}-${os.arch()}`, 'wattgrad.node');
    const mb = (fs.statSync(out).size / 2 ** 20).toFixed(1);
    console.log(`prebuild: ${path.relative(root, out)} (${mb} MiB) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  },
);
