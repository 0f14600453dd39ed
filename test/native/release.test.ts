// `npm run release` (scripts/release.mjs) stops before building, with one clear line, when the build
// cannot work. The test hides CMake and the compilers (PATH holds only node), so the script never
// reaches the build or touches prebuilds/. Cost: ~0.2 s.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../lib/native.js';

const root = packageRoot();
const script = path.join(root, 'scripts', 'release.mjs');
const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'wg-release-'));
fs.symlinkSync(process.execPath, path.join(bin, 'node'));
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

const release = (args: string[]) =>
  spawnSync(process.execPath, [script, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: bin, HOME: os.tmpdir(), CXX: '', CUDACXX: '' },
  });

describe('npm run release: clear failures', () => {
  it('names the missing tool (or the platform) and exits 1 without building', () => {
    const before = fs.existsSync(path.join(root, 'prebuilds')) ? fs.readdirSync(path.join(root, 'prebuilds')) : null;
    const r = release(['--no-cuda']);
    expect(r.status).toBe(1);
    const line = r.stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    if (`${process.platform}-${process.arch}` === 'linux-x64') {
      expect(line).toMatch(/^release: cmake not found; install CMake/);
    } else {
      expect(line).toMatch(/^release: the release builds the linux-x64 prebuild, and this machine is /);
    }
    expect(fs.existsSync(path.join(root, 'prebuilds')) ? fs.readdirSync(path.join(root, 'prebuilds')) : null).toEqual(before);
  });

  it('rejects an unknown argument by name', () => {
    const r = release(['--arch90a']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/release: unknown argument --arch90a \(expected --no-cuda, --arch=LIST, --pack-destination=DIR\)/);
  });
});
