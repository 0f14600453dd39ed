#!/usr/bin/env node
// Which of the addon's kernels ran under the simulator: reads the PTX the simulator extracted
// (SCRATCH/*.ptx, every .entry) and its log (SCRATCH/sim.log, "pushing kernel '<name>'" per launch),
// demangles the names (c++filt) and counts, per kernel (template arguments folded), how many of its
// instantiations were launched. Prints the totals and the kernels that never ran; --out FILE gets
// the whole table and every instantiation never launched. scripts/test-sim.sh runs it.
//
//   node scripts/sim-kernel-coverage.mjs SCRATCH [--out FILE]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: sim-kernel-coverage.mjs SCRATCH [--out FILE]');
  process.exit(2);
}
const outFile = rest[0] === '--out' ? rest[1] : undefined;

const all = new Set();
for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ptx'))) {
  for (const m of fs.readFileSync(path.join(dir, f), 'utf8').matchAll(/^\.(?:visible )?\.?entry ([A-Za-z0-9_$]+)/gm)) all.add(m[1]);
}
const ran = new Set();
const log = fs.readFileSync(path.join(dir, 'sim.log'), 'latin1');
for (const m of log.matchAll(/pushing kernel '([^']+)'/g)) ran.add(m[1]);

const names = [...all].sort();
let demangled = names;
try {
  demangled = execFileSync('c++filt', { input: names.join('\n'), encoding: 'utf8', maxBuffer: 64 << 20 })
    .trimEnd()
    .split('\n');
} catch {
  /* keep the mangled names */
}

// "void wg::k::(anonymous namespace)::UnaryKernel<float>(int, ...)" -> family UnaryKernel, variant <float>
function split(d) {
  const s = d
    .replace(/^void /, '')
    .replace(/\(anonymous namespace\)::/g, '')
    .replace(/^wg::k::/, '');
  const lt = s.indexOf('<'),
    lp = s.indexOf('(');
  const cut = lt >= 0 && (lp < 0 || lt < lp) ? lt : lp >= 0 ? lp : s.length;
  const family = s.slice(0, cut);
  let variant = '';
  if (cut === lt) {
    let depth = 0,
      i = lt;
    for (; i < s.length; i++) {
      if (s[i] === '<') depth++;
      else if (s[i] === '>' && --depth === 0) break;
    }
    variant = s.slice(lt, i + 1).replace(/wg::k::|__nv_/g, '');
  }
  return { family, variant };
}

const fam = new Map();
names.forEach((n, i) => {
  const { family, variant } = split(demangled[i]);
  const f = fam.get(family) ?? { total: 0, ran: 0, missing: [] };
  f.total++;
  if (ran.has(n)) f.ran++;
  else f.missing.push(variant || '(no template arguments)');
  fam.set(family, f);
});

const lines = [];
const families = [...fam.entries()].sort((a, b) => a[0].localeCompare(b[0]));
const famRan = families.filter(([, f]) => f.ran > 0).length;
lines.push(
  `kernels under the simulator: ${ran.size} of ${names.length} instantiations launched, ${famRan} of ${families.length} kernels at least once`,
);
for (const [name, f] of families)
  lines.push(`  ${name.padEnd(34)} ${String(f.ran).padStart(3)} / ${String(f.total).padEnd(3)}${f.ran === 0 ? '  NEVER RAN' : ''}`);
const detail = ['', 'instantiations never launched:'];
for (const [name, f] of families) for (const v of f.missing) detail.push(`  ${name}${v}`);
// stdout: the summary and the kernels that never ran; the file: every kernel and the instantiations never launched
console.log([lines[0], ...lines.slice(1).filter((l) => l.endsWith('NEVER RAN'))].join('\n'));
if (outFile) fs.writeFileSync(outFile, [...lines, ...detail].join('\n') + '\n');
