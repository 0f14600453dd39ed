#!/usr/bin/env node
// prebuildify runs `node-gyp rebuild --target=… --devdir=… --arch=… --release`; it has no
// cmake-js backend, so scripts/prebuild.mjs points it here (PREBUILD_NODE_GYP) and we build with
// cmake-js into build/Release, where prebuildify picks the .node up, strips it and moves it to
// prebuilds/<platform>-<arch>/wattgrad.node (its name for Node-API builds).
// The CUDA archs come from WATTGRAD_CUDA_ARCH (default: the full release set) and WATTGRAD_CUDA.
import { buildNative } from './build-native.mjs';

const args = process.argv.slice(2);
if (args[0] !== 'rebuild' && args[0] !== 'build') {
  console.error(`node-gyp-shim: unsupported command ${args.join(' ')}`);
  process.exit(1);
}
try {
  buildNative({ clean: true, debug: args.includes('--debug') });
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
