// The npm package as a user gets it (WATTGRAD_SLOW_TESTS=1; ~30-60 s: tsc, npm pack, an offline
// install). A temp copy of the package gets dist/ (tsc -p tsconfig.build.json) and the addon at
// prebuilds/<platform>-<arch>/wattgrad.node (the repo's prebuild, else build/Release's), then:
// npm pack -> the tarball holds the prebuild and no build tree -> npm install --offline
// --ignore-scripts into an empty dir (deps come from the npm cache) -> import('wattgrad') works and
// loads the prebuild -> if the package exports tensor + nn, a tiny model trains on js.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/native.js';

const root = packageRoot();
const hasNpm = spawnSync('npm', ['--version'], { stdio: 'ignore' }).status === 0;
const slow = process.env.WATTGRAD_SLOW_TESTS === '1' && hasNpm;
const tuple = `${os.platform()}-${os.arch()}`;
const addon = [path.join(root, 'prebuilds', tuple, 'wattgrad.node'), path.join(root, 'build', 'Release', 'wattgrad.node')]
  .find((p) => fs.existsSync(p));
const tmp = slow ? fs.mkdtempSync(path.join(os.tmpdir(), 'wg-pack-')) : '';
afterAll(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });

describe.skipIf(!slow || !addon)('npm package (slow)', () => {
  let tarball = '';
  const pkgDir = path.join(tmp, 'pkg');
  const app = path.join(tmp, 'app');

  it('packs the prebuild and no build tree', () => {
    fs.mkdirSync(pkgDir, { recursive: true });
    for (const f of ['package.json', 'binding.d.ts', 'CMakeLists.txt', 'README.md', 'native', 'lib', 'tsconfig.json', 'tsconfig.build.json']) {
      if (fs.existsSync(path.join(root, f))) fs.cpSync(path.join(root, f), path.join(pkgDir, f), { recursive: true });
    }
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkgDir, 'node_modules'));
    spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: pkgDir });
    expect(fs.existsSync(path.join(pkgDir, 'dist', 'index.js'))).toBe(true);
    fs.mkdirSync(path.join(pkgDir, 'prebuilds', tuple), { recursive: true });
    fs.copyFileSync(addon!, path.join(pkgDir, 'prebuilds', tuple, 'wattgrad.node'));
    fs.mkdirSync(path.join(pkgDir, 'build', 'Release'), { recursive: true }); // must NOT be packed
    fs.writeFileSync(path.join(pkgDir, 'build', 'Release', 'junk.o'), '');
    const out = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], pkgDir)) as { filename: string; files: { path: string }[]; size: number }[];
    const files = out[0]!.files.map((f) => f.path);
    tarball = path.join(tmp, out[0]!.filename);
    expect(files).toContain(`prebuilds/${tuple}/wattgrad.node`);
    expect(files.some((f) => f.startsWith('build/'))).toBe(false);
    expect(files).toContain('dist/index.js');
    expect(files).toContain('CMakeLists.txt');
    console.log(`tarball ${(out[0]!.size / 2 ** 20).toFixed(1)} MiB, ${files.length} files`);
  }, 180_000);

  it('installs offline with --ignore-scripts and imports, loading the prebuild', () => {
    fs.mkdirSync(app, { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
    npm(['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], app);
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', `const w = await import('wattgrad'); console.log(JSON.stringify({ n: Object.keys(w).length, backends: w.backends?.() }))`],
      { cwd: app, encoding: 'utf8', env: { ...process.env, WATTGRAD_QUIET: '' } });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { n: number; backends?: { name: string; path?: string | null; reason: string | null }[] };
    expect(res.n).toBeGreaterThan(0);
    const cuda = res.backends?.find((x) => x.name === 'cuda');
    if (cuda) {
      // the addon loaded from the installed prebuild (cuda itself is unavailable without a GPU)
      expect(cuda.path ?? '').toMatch(new RegExp(`node_modules/wattgrad/prebuilds/${tuple}/wattgrad\\.node$`));
    }
    expect(r.stderr).not.toMatch(/native addon not loaded/);
  }, 180_000);

  it('trains a tiny model from the installed package (when it exports tensor and nn)', () => {
    const code = `
      const w = await import('wattgrad');
      if (typeof w.tensor !== 'function' || !w.nn) { console.log('SKIP'); process.exit(0); }
      const { tensor, nn } = w;
      const optim = w.optim;
      w.manualSeed?.(0);
      const model = new nn.Linear(2, 1);
      const opt = optim ? new optim.SGD(model.parameters(), { lr: 0.1 }) : null;
      const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
      const y = tensor([[1], [3], [2], [4]]);
      let first = 0, last = 0;
      for (let i = 0; i < 200; i++) {
        const loss = model.forward(x).sub(y).square().mean();
        if (i === 0) first = loss.item();
        last = loss.item();
        opt?.zeroGrad(); loss.backward(); opt?.step();
      }
      console.log(JSON.stringify({ first, last }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: app, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.trim().split('\n').pop()!;
    if (out === 'SKIP') return;
    const { first, last } = JSON.parse(out) as { first: number; last: number };
    expect(last).toBeLessThan(first / 10);
  }, 120_000);
});
