#!/usr/bin/env node
// The native boundary, generated from one manifest (the format, and how to add an entry:
// native/manifest/README.md).
//
//   node scripts/gen-boundary.mjs           (npm run gen)        writes every generated file
//   node scripts/gen-boundary.mjs --check   (npm run gen:check)  exit 1 when one is stale (npm run lint runs it)
//
// Sources: native/manifest/cpu/<family>.mjs (the CPU entry points of the addon, every build) and
// native/manifest/cuda/<family>.mjs (the CUDA kernel entry points, CUDA builds only). Each exports
// `entries`, a list of entry descriptions (names, arguments with their kinds, dtypes, the size each
// array must hold, extra checks, the plain C++ function to call).
//
// Outputs (committed, so a clean clone builds without running this):
//   native/cpu/gen_<family>.h    the plain C++ functions the CPU entry points call (the family implements them)
//   native/cpu/gen_<family>.cc   their N-API unpacking + checks, registered with WGCPU_ENTRY
//   native/src/gen_ops_<family>.cc   the CUDA entry points' unpacking + checks, calling k::Launch*
//   binding.d.ts                 the regions between `// <gen:NAME>` and `// </gen:NAME>` (CpuKernelBinding, KernelBinding)
// Output is deterministic: sorted families, entries in manifest order, then clang-format (C++,
// .clang-format) and prettier (TS, .prettierrc), the same tools `npm run lint` checks with.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SELF = 'scripts/gen-boundary.mjs';

// ---- manifest loading and validation ----------------------------------------------------------

class ManifestError extends Error {}
const fail = (where, msg) => {
  throw new ManifestError(`${where}: ${msg}`);
};

async function loadFamilies(kind) {
  const dir = path.join(root, 'native', 'manifest', kind);
  if (!fs.existsSync(dir)) return [];
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.mjs'))
    .sort();
  const out = [];
  for (const f of files) {
    const family = f.slice(0, -4);
    const rel = `native/manifest/${kind}/${f}`;
    if (!/^[a-z][a-z0-9_]*$/.test(family)) fail(rel, `family name '${family}' must be lower-case letters, digits and _`);
    const mod = await import(pathToFileURL(path.join(dir, f)).href);
    if (!Array.isArray(mod.entries)) fail(rel, 'must export `entries` (an array of entry descriptions)');
    out.push({ family, rel, entries: mod.entries });
  }
  return out;
}

// Typed-array element types of the CPU entry points: manifest name -> [napi type, C++ type, JS class].
const CPU_TYPES = {
  f32: ['napi_float32_array', 'float', 'Float32Array'],
  f64: ['napi_float64_array', 'double', 'Float64Array'],
  i32: ['napi_int32_array', 'int32_t', 'Int32Array'],
  u32: ['napi_uint32_array', 'uint32_t', 'Uint32Array'],
  u16: ['napi_uint16_array', 'uint16_t', 'Uint16Array'],
  i8: ['napi_int8_array', 'int8_t', 'Int8Array'],
  u8: ['napi_uint8_array', 'uint8_t', 'Uint8Array'],
};
const CPU_KINDS = ['array', 'list', 'size', 'int', 'number', 'bool'];

function validateCpu(fam, seen) {
  for (const [ei, e] of fam.entries.entries()) {
    const where = `${fam.rel}: entry ${e?.name ?? `#${ei}`}`;
    if (!e || typeof e.name !== 'string' || !/^cpu[A-Z][A-Za-z0-9]*$/.test(e.name))
      fail(where, "name must be the JS export, 'cpu' + CamelCase (e.g. cpuConv2d)");
    if (seen.has(e.name)) fail(where, `duplicate entry name (also in ${seen.get(e.name)})`);
    seen.set(e.name, fam.rel);
    if (e.kernel !== null && typeof e.kernel !== 'string')
      fail(where, 'kernel must be the kernel name it makes native (lib/backend/kernels.ts) or null');
    if (e.fn !== undefined && !/^[A-Z][A-Za-z0-9]*$/.test(e.fn)) fail(where, 'fn must be a C++ identifier in CamelCase');
    if (e.types !== undefined && (!Array.isArray(e.types) || e.types.length === 0 || e.types.some((t) => !CPU_TYPES[t])))
      fail(where, `types must list element types of ${Object.keys(CPU_TYPES).join(', ')}`);
    if (!Array.isArray(e.args)) fail(where, 'args must be an array');
    const names = new Set();
    for (const a of e.args) {
      const aw = `${where}, argument ${a?.name}`;
      if (!a || typeof a.name !== 'string' || !/^[a-z][A-Za-z0-9]*$/.test(a.name)) fail(aw, 'name must be a lowerCamelCase identifier');
      if (names.has(a.name)) fail(aw, 'duplicate argument name');
      names.add(a.name);
      if (!CPU_KINDS.includes(a.kind)) fail(aw, `kind must be one of ${CPU_KINDS.join(', ')}`);
      if (a.kind === 'array' || a.kind === 'list') {
        if (a.type === 'T') {
          if (!e.types) fail(aw, "type 'T' needs the entry's `types`");
        } else if (!CPU_TYPES[a.type]) fail(aw, `type must be 'T' or one of ${Object.keys(CPU_TYPES).join(', ')}`);
      }
      if (a.kind === 'array' && typeof a.need !== 'string')
        fail(aw, 'an array needs `need`: the element count it must hold (a C++ expression)');
      if (a.kind === 'list' && a.sameLengths !== undefined && typeof a.sameLengths !== 'boolean') fail(aw, 'sameLengths must be a boolean');
    }
    if (e.types) {
      const firm = e.args.filter((a) => (a.kind === 'array' || a.kind === 'list') && a.type === 'T' && !a.nullable);
      if (firm.length === 0) fail(where, "`types` needs at least one non-nullable array or list of type 'T'");
    }
    for (const [o, i] of e.noOverlap ?? []) {
      for (const n of [o, i]) {
        const a = e.args.find((x) => x.name === n);
        if (!a || a.kind !== 'array') fail(where, `noOverlap names '${n}', which is not an array argument`);
      }
    }
    for (const c of e.checks ?? []) {
      if (typeof c.if !== 'string' || (typeof c.msg !== 'string' && typeof c.msgExpr !== 'string'))
        fail(where, 'each check needs `if` (C++ condition that is an error) and `msg` (text) or `msgExpr` (C++ std::string expression)');
      if (c.error !== undefined && !['Error', 'TypeError', 'RangeError'].includes(c.error))
        fail(where, 'check error must be Error, TypeError or RangeError');
    }
  }
}

// ---- CPU: C++ ---------------------------------------------------------------------------------

const cppStr = (s) => JSON.stringify(s);
const fnName = (e) => e.fn ?? e.name[0].toUpperCase() + e.name.slice(1);
const andList = (names) => (names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`);
const signature = (e) => e.args.map((a) => a.name).join(', ');

/** The C++ parameter list of the plain function for one concrete element type of the group (null: no group). */
function cpuParams(e, groupType) {
  return e.args.map((a) => {
    const elem = a.type === 'T' ? CPU_TYPES[groupType][1] : CPU_TYPES[a.type]?.[1];
    switch (a.kind) {
      case 'array':
        return `${a.out ? '' : 'const '}${elem}* ${a.name}`;
      case 'list':
        return `const ArrayList<${a.out ? '' : 'const '}${elem}>& ${a.name}`;
      case 'size':
      case 'int':
        return `int64_t ${a.name}`;
      case 'number':
        return `double ${a.name}`;
      case 'bool':
        return `bool ${a.name}`;
    }
    throw new Error('unreachable');
  });
}

function docLines(e) {
  const lines = [`${e.name}(${signature(e)})${e.kernel ? ` — makes '${e.kernel}' native` : ''}`];
  if (e.doc) lines.push(...String(e.doc).split('\n'));
  return lines.map((l) => `// ${l}`.trimEnd()).join('\n');
}

function genCpuHeader(fam) {
  const out = [
    `// generated by ${SELF} from ${fam.rel}`,
    '// do not edit: change the manifest, then npm run gen.',
    '//',
    `// The plain C++ functions the '${fam.family}' CPU entry points call after native/cpu/gen_${fam.family}.cc`,
    '// has unpacked and checked their arguments (every array holds its `need`, the types agree). The',
    '// family implements them (namespace wgcpu). They return nullptr, or a message that becomes an',
    '// Error "<entry>: <message>" in JS.',
    '#pragma once',
    '',
    '#include <stdint.h>',
    '',
    '#include "entry_types.h"',
    '',
    'namespace wgcpu {',
    '',
  ];
  for (const e of fam.entries) {
    out.push(docLines(e));
    for (const t of e.types ?? [null]) out.push(`const char* ${fnName(e)}(${cpuParams(e, t).join(', ')});`);
    out.push('');
  }
  out.push('}  // namespace wgcpu', '');
  return out.join('\n');
}

function genCpuEntry(e) {
  const L = [];
  const n = e.args.length;
  L.push(docLines(e));
  L.push(`Napi::Value Entry_${e.name}(const Napi::CallbackInfo& info) {`);
  L.push(`  const char* fn = ${cppStr(e.name)};`);
  L.push('  Napi::Env env = info.Env();');
  L.push(`  ArgCount(info, ${n}, fn, ${cppStr(signature(e))});`);
  const typesVar = (a) => (a.type === 'T' ? 'kGroup' : `kType_${a.type}`);
  const typesLen = (a) => (a.type === 'T' ? e.types.length : 1);
  if (e.types) L.push(`  static const napi_typedarray_type kGroup[] = {${e.types.map((t) => CPU_TYPES[t][0]).join(', ')}};`);
  const fixed = [...new Set(e.args.filter((a) => (a.kind === 'array' || a.kind === 'list') && a.type !== 'T').map((a) => a.type))];
  for (const t of fixed) L.push(`  static const napi_typedarray_type kType_${t}[] = {${CPU_TYPES[t][0]}};`);
  e.args.forEach((a, i) => {
    const nm = cppStr(a.name);
    switch (a.kind) {
      case 'array':
        L.push(
          `  const TypedArr arr_${a.name} = OneOf(info, ${i}, fn, ${nm}, ${typesVar(a)}, ${typesLen(a)}${a.nullable ? ', true' : ''});`,
        );
        break;
      case 'list':
        L.push(
          `  const TypedList list_${a.name} = ListOf(info, ${i}, fn, ${nm}, ${typesVar(a)}, ${typesLen(a)}${a.nullable ? ', true' : ''});`,
        );
        break;
      case 'size':
        L.push(`  const int64_t ${a.name} = Size(info, ${i}, fn, ${nm});`);
        break;
      case 'int':
        L.push(`  const int64_t ${a.name} = Integer(info, ${i}, fn, ${nm});`);
        break;
      case 'number':
        L.push(`  const double ${a.name} = Num(info, ${i}, fn, ${nm});`);
        break;
      case 'bool':
        L.push(`  const bool ${a.name} = Bool(info, ${i});`);
        break;
    }
  });
  const witness = (a) => (a.kind === 'array' ? `&arr_${a.name}` : `&list_${a.name}.witness`);
  const group = e.args.filter((a) => (a.kind === 'array' || a.kind === 'list') && a.type === 'T');
  if (group.length > 1) L.push(`  SameType(env, fn, ${cppStr(andList(group.map((a) => a.name)))}, {${group.map(witness).join(', ')}});`);
  const lists = e.args.filter((a) => a.kind === 'list');
  for (const l of lists.slice(1))
    L.push(
      `  ListMatches(env, fn, ${cppStr(l.name)}, list_${l.name}, ${cppStr(lists[0].name)}, list_${lists[0].name}, ${l.sameLengths ? 'true' : 'false'});`,
    );
  for (const c of e.checks ?? []) {
    const msg = c.msgExpr ?? cppStr(c.msg);
    L.push(`  if (${c.if}) throw Napi::${c.error ?? 'RangeError'}::New(env, std::string(fn) + ": " + ${msg});`);
  }
  const arrays = e.args.filter((a) => a.kind === 'array');
  for (const a of arrays) L.push(`  const double need_${a.name} = ${a.need};`);
  if (e.sizeError) {
    const cond = arrays.map((a) => `(arr_${a.name}.present && need_${a.name} > double(arr_${a.name}.length))`).join(' || ');
    if (cond) L.push(`  if (${cond}) throw Napi::RangeError::New(env, std::string(fn) + ": " + ${e.sizeError});`);
  } else {
    for (const a of arrays) L.push(`  Need(env, fn, ${cppStr(a.name)}, arr_${a.name}, need_${a.name});`);
  }
  for (const [o, i] of e.noOverlap ?? []) {
    const bytes = (x) => `size_t(need_${x}) * ElemBytes(arr_${x}.type)`;
    L.push(
      `  if (Overlap(arr_${o}.data, ${bytes(o)}, arr_${i}.data, ${bytes(i)})) throw Napi::RangeError::New(env, std::string(fn) + ${cppStr(`: ${o} overlaps ${i} (an input); pass a separate output array`)});`,
    );
  }
  // the call, once per element type of the group
  const call = (t) => {
    const pre = [];
    const args = e.args.map((a) => {
      const elem = a.type === 'T' ? CPU_TYPES[t][1] : CPU_TYPES[a.type]?.[1];
      const q = a.out ? '' : 'const ';
      if (a.kind === 'array') return `static_cast<${q}${elem}*>(arr_${a.name}.data)`;
      if (a.kind === 'list') {
        pre.push(`const std::vector<${q}${elem}*> ptr_${a.name} = Ptrs<${q}${elem}>(list_${a.name});`);
        return `ArrayList<${q}${elem}>{ptr_${a.name}.data(), list_${a.name}.length.data(), int64_t(ptr_${a.name}.size())}`;
      }
      return a.name;
    });
    return { pre, expr: `wgcpu::${fnName(e)}(${args.join(', ')})` };
  };
  L.push('  const char* err = nullptr;');
  if (!e.types) {
    const c = call(null);
    L.push(`  {`, ...c.pre.map((p) => `    ${p}`), `    err = ${c.expr};`, '  }');
  } else {
    const firm = group.find((a) => !a.nullable);
    const firmType = firm.kind === 'array' ? `arr_${firm.name}.type` : `list_${firm.name}.witness.type`;
    L.push(`  const napi_typedarray_type t = GroupType({${group.map(witness).join(', ')}}, ${firmType});`);
    e.types.forEach((t, i) => {
      const c = call(t);
      const head =
        i === 0 ? `if (t == ${CPU_TYPES[t][0]}) {` : i === e.types.length - 1 ? '} else {' : `} else if (t == ${CPU_TYPES[t][0]}) {`;
      L.push(`  ${head}`, ...c.pre.map((p) => `    ${p}`), `    err = ${c.expr};`);
    });
    L.push('  }');
  }
  L.push('  if (err) throw Napi::Error::New(env, std::string(fn) + ": " + err);');
  L.push('  return env.Undefined();');
  L.push('}');
  L.push(`WGCPU_ENTRY(${cppStr(e.name)}, Entry_${e.name}, ${e.kernel ? cppStr(e.kernel) : 'nullptr'});`);
  return L.join('\n');
}

function genCpuSource(fam) {
  const out = [
    `// generated by ${SELF} from ${fam.rel}`,
    '// do not edit: change the manifest, then npm run gen.',
    '//',
    `// N-API entry points of the '${fam.family}' CPU kernels: argument count, types, sizes and the`,
    `// manifest's checks, then the plain functions of gen_${fam.family}.h.`,
    '#include <napi.h>',
    '',
    '#include <string>',
    '#include <vector>',
    '',
    `#include "gen_${fam.family}.h"`,
    '#include "napi_util.h"',
    '#include "registry.h"',
    '',
    'namespace {',
    '',
    'using namespace wgcpu::napi;',
    'using wgcpu::ArrayList;',
    '',
  ];
  for (const e of fam.entries) out.push(genCpuEntry(e), '');
  out.push('}  // namespace', '');
  return out.join('\n');
}

// ---- CPU: TypeScript --------------------------------------------------------------------------

function tsCpuArg(e, a) {
  // the group as a union (the native side checks that the arrays agree; a generic would make
  // tests that pass a wrong type on purpose cast)
  const group = e.types ? e.types.map((t) => CPU_TYPES[t][2]).join(' | ') : null;
  const cls = a.type === 'T' ? group : CPU_TYPES[a.type]?.[2];
  let t;
  switch (a.kind) {
    case 'array':
      t = cls;
      break;
    case 'list':
      t = a.type === 'T' && e.types.length > 1 ? `(${cls})[]` : `${cls}[]`;
      break;
    case 'bool':
      t = 'boolean';
      break;
    default:
      t = 'number';
  }
  return `${a.name}: ${t}${a.nullable ? ' | null' : ''}`;
}

function genCpuTs(families) {
  const out = [
    '/**',
    ' * The CPU kernel entry points (native/manifest/cpu/*.mjs). Every build has them; an addon built',
    ' * before an entry was added lacks it, so callers check `typeof binding.cpuX === "function"`.',
    ' * Arrays are the js backend storage itself (zero copy); sizes are checked, too-short arrays throw.',
    ' */',
    'export interface CpuKernelBinding {',
  ];
  for (const fam of families) {
    for (const e of fam.entries) {
      const doc = [`${fam.rel}${e.kernel ? `; makes '${e.kernel}' native` : ''}`, ...(e.doc ? String(e.doc).split('\n') : [])];
      out.push(`  /**`, ...doc.map((d) => ` * ${d}`.trimEnd()), `   */`);
      out.push(`  ${e.name}(${e.args.map((a) => tsCpuArg(e, a)).join(', ')}): void;`);
    }
  }
  out.push('}');
  return out.join('\n');
}

// ---- CUDA: validation -------------------------------------------------------------------------

// Argument kinds of the CUDA kernel entry points (native/src/ops_gen_<family>.cc; helpers in ops_common.h).
const CUDA_KINDS = {
  buf: 'a storage handle (NativeBuffer): Ptr(), then Holds(holds, holdsDtype)',
  i64: 'a number read as int64 (size: true adds it to the NonNeg check)',
  int: 'a number read as int (ignore indices)',
  dtype: 'a dtype code (int; the backend passes a DType, the table maps it with DT)',
  enum: 'an int code below k::<enum>::kCount ("<kernel>: unknown <what> code N")',
  num: 'a number (double)',
  bool: 'a boolean (JS truthiness)',
  u64: 'an integer in [0, 2^53) (seeds, offsets)',
  ndim: 'the rank of the following strided argument',
  strided: 'a Float64Array [shape, strides of each of `ops` operands] into a k::Strided (after its ndim)',
  conv: 'a Float64Array of Conv2dParams into a k::Conv2d (ReadConv)',
  pool: 'a Float64Array of Pool2dParams into a k::Pool2d (ReadPool)',
  numels: 'a number[] of element counts, one per tensor of the lists (ReadNumels)',
  bufList: 'an array of handles, each holding numels[i] elements of dtype (ReadList)',
};

function validateCuda(fam, seen) {
  for (const [ei, e] of fam.entries.entries()) {
    const where = `${fam.rel}: entry ${e?.name ?? `#${ei}`}`;
    if (!e || typeof e.name !== 'string' || !/^[a-z][A-Za-z0-9]*$/.test(e.name))
      fail(where, 'name must be the kernel name (lib/backend/kernels.ts)');
    if (seen.has(e.name)) fail(where, `duplicate entry name (also in ${seen.get(e.name)})`);
    seen.set(e.name, fam.rel);
    if (!Array.isArray(e.args)) fail(where, 'args must be an array');
    const names = new Set();
    e.args.forEach((a, i) => {
      const aw = `${where}, argument ${a?.name}`;
      if (!a || typeof a.name !== 'string' || !/^[a-z][A-Za-z0-9]*$/.test(a.name)) fail(aw, 'name must be a lowerCamelCase identifier');
      if (names.has(a.name)) fail(aw, 'duplicate argument name');
      names.add(a.name);
      if (!CUDA_KINDS[a.kind]) fail(aw, `kind must be one of ${Object.keys(CUDA_KINDS).join(', ')}`);
      if (a.kind === 'buf' && typeof a.holds !== 'string' && !a.strided)
        fail(aw, 'a buf needs `holds` (elements it must hold, a C++ uint64 expression) or `strided`');
      if (a.kind === 'enum' && typeof a.enum !== 'string') fail(aw, 'an enum needs `enum`, the k:: enum class (e.g. Unary)');
      if (a.kind === 'strided' && (e.args[i - 1]?.kind !== 'ndim' || !(a.ops >= 1 && a.ops <= 3)))
        fail(aw, 'a strided argument follows its ndim argument and has ops 1..3');
      if (a.kind === 'bufList' && !e.args.some((x) => x.kind === 'numels')) fail(aw, 'a bufList needs a numels argument in the entry');
      if (a.launchAs !== undefined && (a.kind !== 'i64' || a.launchAs !== 'int'))
        fail(aw, "launchAs: 'int' is for i64 arguments the launcher takes as int");
    });
    if (e.launch !== undefined || e.launchArgs !== undefined)
      fail(where, 'the launcher is always k::Launch<Name> with the arguments in order (launchAs: int for an int size)');
    for (const c of e.checks ?? []) {
      if (typeof c.if !== 'string' || (typeof c.msg !== 'string' && typeof c.msgExpr !== 'string'))
        fail(where, 'each check needs `if` (C++ condition that is an error) and `msg` or `msgExpr`');
      if (c.error !== undefined && !['Error', 'TypeError', 'RangeError'].includes(c.error))
        fail(where, 'check error must be Error, TypeError or RangeError');
    }
  }
}

// ---- CUDA: C++ --------------------------------------------------------------------------------

const cap = (n) => n[0].toUpperCase() + n.slice(1);

// The launcher's parameters: [the C++ expression the entry point passes, its declaration in
// launch.gen.h], in the order of the entry's arguments (ndim dropped, the hyper struct where its
// first field is, the error flag and the stream last).
function cudaLaunchParams(e) {
  const out = [];
  let hyperDone = false;
  for (const a of e.args) {
    if (a.hyper) {
      if (!hyperDone) out.push(['h', `const ${e.hyper.replace(/^k::/, '')}& h`]);
      hyperDone = true;
      continue;
    }
    const n = a.name;
    switch (a.kind) {
      case 'ndim':
        break;
      case 'buf':
        out.push([n, `${a.out ? '' : 'const '}${a.elem ?? 'void'}* ${n}`]);
        break;
      case 'i64':
        out.push(a.launchAs === 'int' ? [`static_cast<int>(${n})`, `int ${n}`] : [n, `int64_t ${n}`]);
        break;
      case 'int':
      case 'dtype':
      case 'enum':
        out.push([n, `int ${n}`]);
        break;
      case 'num':
        out.push([n, `double ${n}`]);
        break;
      case 'bool':
        out.push([n, `bool ${n}`]);
        break;
      case 'u64':
        out.push([n, `uint64_t ${n}`]);
        break;
      case 'strided':
        out.push([n, `Strided ${n}`]);
        break;
      case 'conv':
        out.push([n, `const Conv2d& ${n}`]);
        break;
      case 'pool':
        out.push([n, `const Pool2d& ${n}`]);
        break;
      case 'numels':
        out.push([`${n}.data()`, `const int64_t* ${n}`], [`static_cast<int>(${n}.size())`, 'int count']);
        break;
      case 'bufList':
        out.push([a.nullable ? `has_${n} ? ${n}.data() : nullptr` : `${n}.data()`, `void* const* ${n}`]);
        break;
    }
  }
  if (e.errorFlag) out.push(['DeviceErrorFlag()', 'int* errorFlag']);
  out.push(['Stream()', 'cudaStream_t s']);
  return out;
}

const launcherName = (e) => `Launch${cap(e.name)}`;

function genLaunchHeader(families) {
  const out = [
    `// generated by ${SELF} from native/manifest/cuda/*.mjs`,
    '// do not edit: change the manifests, then npm run gen.',
    '//',
    '// The host launchers of the CUDA kernels, one per kernel entry point (native/src/ops_gen_*.cc calls',
    '// them after checking every argument); native/kernels/*.cu define them. Included by kernels.h,',
    '// which holds the codes and parameter structs. Each enqueues work on `s` and returns kOk, or',
    '// kUnsupported when the dtype is not implemented; launch errors are checked by the caller.',
    '#pragma once',
    '',
    '#include "kernels.h"',
    '',
    'namespace wg {',
    'namespace k {',
    '',
  ];
  for (const f of families) {
    out.push(`// ---- ${f.rel}`);
    for (const e of f.entries) {
      if (e.doc)
        out.push(
          ...String(e.doc)
            .split('\n')
            .map((d) => `// ${e.name}: ${d}`.trimEnd()),
        );
      out.push(
        `int ${launcherName(e)}(${cudaLaunchParams(e)
          .map((p) => p[1])
          .join(', ')});`,
      );
    }
    out.push('');
  }
  out.push('}  // namespace k', '}  // namespace wg', '');
  return out.join('\n');
}

function genCudaEntry(e) {
  const L = [];
  const K = e.name;
  const q = (s) => cppStr(s);
  const label = (a) => q(`${K}: ${a.name}`);
  const undef = 'return env.Undefined();';
  L.push(`// ${K}(${signature(e)})`);
  if (e.doc)
    L.push(
      ...String(e.doc)
        .split('\n')
        .map((d) => `// ${d}`.trimEnd()),
    );
  L.push(`Napi::Value Entry_${K}(const Napi::CallbackInfo& info) {`);
  L.push('  Napi::Env env = info.Env();');
  L.push(`  if (!ArgCount(info, ${e.args.length}, ${q(K)})) ${undef}`);
  if (e.hyper) L.push(`  ${e.hyper} h;`);
  const sizes = [];
  e.args.forEach((a, i) => {
    const dst = a.hyper ? `h.${a.name}` : null;
    const decl = (type, expr) => L.push(dst ? `  ${dst} = ${expr};` : `  const ${type} ${a.name} = ${expr};`);
    switch (a.kind) {
      case 'buf': {
        const t = a.elem ? `${a.out ? '' : 'const '}${a.elem}*` : a.out ? 'void*' : 'const void*';
        const ptr = `Ptr(info[${i}], ${label(a)})`;
        L.push(`  ${t} ${a.name} = ${a.elem ? `static_cast<${t}>(${ptr})` : ptr};`);
        break;
      }
      case 'i64':
        decl('int64_t', `I64(info, ${i})`);
        if (a.size) sizes.push(a.name);
        break;
      case 'int':
      case 'dtype':
      case 'enum':
      case 'ndim':
        if (a.kind !== 'ndim') decl('int', `Int(info, ${i})`);
        break;
      case 'num':
        decl('double', `Num(info, ${i})`);
        break;
      case 'bool':
        decl('bool', `Bool(info, ${i})`);
        break;
      default:
        break;
    }
  });
  const reads = [];
  e.args.forEach((a, i) => {
    switch (a.kind) {
      case 'u64':
        L.push(`  uint64_t ${a.name} = 0;`);
        reads.push(`!ReadU64(info, ${i}, ${q(K)}, ${q(a.name)}, &${a.name})`);
        break;
      case 'strided':
        L.push(`  k::Strided ${a.name};`);
        reads.push(`!ReadStrided(info, ${i - 1}, ${i}, ${a.ops}, ${q(K)}, &${a.name})`);
        break;
      case 'conv':
        L.push(`  k::Conv2d ${a.name};`);
        reads.push(`!ReadConv(info, ${i}, ${q(K)}, &${a.name})`);
        break;
      case 'pool':
        L.push(`  k::Pool2d ${a.name};`);
        reads.push(`!ReadPool(info, ${i}, ${q(K)}, &${a.name})`);
        break;
      case 'numels':
        L.push(`  std::vector<int64_t> ${a.name};`);
        reads.push(`!ReadNumels(info, ${i}, ${q(K)}, &${a.name})`);
        break;
      default:
        break;
    }
  });
  const first = ['Pending(env)'];
  if (sizes.length) first.push(`!NonNeg(env, ${q(K)}, {${sizes.join(', ')}})`);
  L.push(`  if (${[...first, ...reads].join(' || ')}) ${undef}`);
  const lists = e.args.filter((a) => a.kind === 'bufList');
  if (lists.length) {
    const numels = e.args.find((a) => a.kind === 'numels').name;
    for (const l of lists) L.push(`  std::vector<void*> ${l.name};`, `  bool has_${l.name} = false;`);
    const lr = lists.map(
      (l) => `!ReadList(info, ${e.args.indexOf(l)}, ${label(l)}, ${numels}, ${l.holdsDtype ?? 'dtype'}, &${l.name}, &has_${l.name})`,
    );
    L.push(`  if (${lr.join(' || ')}) ${undef}`);
    const req = lists.filter((l) => !l.nullable);
    if (req.length)
      L.push(
        `  if (${req.map((l) => `!has_${l.name}`).join(' || ')}) {`,
        `    Fail(env, ${q(`${K}: ${andList(req.map((l) => l.name))} ${req.length > 1 ? 'are' : 'is'} required`)}, true);`,
        `    ${undef}`,
        '  }',
      );
  }
  for (const a of e.args.filter((x) => x.kind === 'enum')) {
    L.push(
      `  if (${a.name} < 0 || ${a.name} >= static_cast<int>(k::${a.enum}::kCount)) {`,
      `    Fail(env, ${q(`${K}: unknown ${a.what ?? 'op'} code `)} + std::to_string(${a.name}));`,
      `    ${undef}`,
      '  }',
    );
  }
  for (const p of e.prelude ?? []) L.push(`  ${p}`);
  const failCall = (c) => {
    const msg = c.msgExpr ? `std::string(${q(`${K}: `)}) + ${c.msgExpr}` : q(`${K}: ${c.msg}`);
    if (c.error === 'RangeError') return `FailRange(env, ${msg});`;
    return `Fail(env, ${msg}${c.error === 'TypeError' ? ', true' : ''});`;
  };
  for (const c of e.checks ?? []) L.push(`  if (${c.if}) {`, `    ${failCall(c)}`, `    ${undef}`, '  }');
  const bufs = e.args.filter((a) => a.kind === 'buf');
  const extents = bufs.filter((a) => a.strided);
  if (extents.length) {
    L.push(`  uint64_t ${extents.map((a) => `ext_${a.name} = 0`).join(', ')};`);
    const ex = extents.map(
      (a) => `!StridedExtent(env, ${a.strided.dims}, ${a.strided.op}, ${a.strided.offset ?? '0'}, ${label(a)}, &ext_${a.name})`,
    );
    L.push(`  if (${ex.join(' || ')}) ${undef}`);
  }
  if (bufs.length) {
    const hs = bufs.map((a) => {
      const idx = e.args.indexOf(a);
      const holds = a.strided ? `ext_${a.name}` : a.holds;
      return `!Holds(env, info[${idx}], ${label(a)}, ${holds}, ${a.holdsDtype ?? 'dtype'}${a.nullable ? ', true' : ''})`;
    });
    L.push(`  if (${hs.join(' || ')}) ${undef}`);
  }
  if (e.errorFlag) L.push(`  SetErrorOp(${q(K)});`);
  L.push(
    `  const int st = k::${launcherName(e)}(${cudaLaunchParams(e)
      .map((p) => p[0])
      .join(', ')});`,
  );
  L.push(`  Done(env, st, ${e.doneDtype ?? 'dtype'}, ${q(K)});`);
  L.push(`  ${undef}`);
  L.push('}');
  return L.join('\n');
}

function genCudaSource(fam) {
  const out = [
    `// generated by ${SELF} from ${fam.rel}`,
    '// do not edit: change the manifest, then npm run gen.',
    '//',
    `// CUDA kernel entry points of the '${fam.family}' family: argument count, handles (Ptr), sizes,`,
    '// the bytes every handle must hold (Holds), the manifest checks, then the k::Launch* launcher on',
    '// wg::Stream() and Done (unsupported dtype, CheckLaunch). Helpers: ops_common.h.',
    '#include <string>',
    '#include <vector>',
    '',
    '#include "ops_common.h"',
    '',
    'namespace wg {',
    'namespace ops {',
    'namespace {',
    '',
  ];
  for (const e of fam.entries) out.push(genCudaEntry(e), '');
  out.push('}  // namespace', '');
  out.push(`void RegisterGenerated_${fam.family}(Napi::Env env, Napi::Object exports) {`);
  for (const e of fam.entries) out.push(`  exports.Set(${cppStr(e.name)}, Napi::Function::New(env, Entry_${e.name}, ${cppStr(e.name)}));`);
  out.push('}', '', '}  // namespace ops', '}  // namespace wg', '');
  return out.join('\n');
}

function genCudaRegister(families) {
  const out = [
    `// generated by ${SELF} from native/manifest/cuda/*.mjs`,
    '// do not edit: change the manifests, then npm run gen.',
    '//',
    '// RegisterGeneratedOps: every generated CUDA kernel entry point (ops_register.cc calls it).',
    '#include <napi.h>',
    '',
    'namespace wg {',
    'namespace ops {',
    '',
  ];
  for (const f of families) out.push(`void RegisterGenerated_${f.family}(Napi::Env env, Napi::Object exports);`);
  out.push('', 'void RegisterGeneratedOps(Napi::Env env, Napi::Object exports) {');
  for (const f of families) out.push(`  RegisterGenerated_${f.family}(env, exports);`);
  out.push('}', '', '}  // namespace ops', '}  // namespace wg', '');
  return out.join('\n');
}

// ---- CUDA: TypeScript -------------------------------------------------------------------------

function tsCudaArg(a) {
  const t = {
    buf: 'Buf',
    bool: 'boolean',
    strided: 'Float64Array',
    conv: 'Float64Array',
    pool: 'Float64Array',
    numels: 'number[]',
    bufList: 'Buf[]',
  }[a.kind];
  return `${a.name}: ${t ?? 'number'}${a.nullable ? ' | null' : ''}`;
}

function genCudaTs(families) {
  const out = [
    '/** The kernel entry points (native/manifest/cuda/*.mjs), one per kernel of lib/backend/kernels.ts. */',
    'export interface KernelEntryBinding {',
  ];
  for (const fam of families) {
    for (const e of fam.entries) {
      if (e.tsDoc) out.push(`  /** ${e.tsDoc} */`);
      out.push(`  ${e.name}(${e.args.map(tsCudaArg).join(', ')}): void;`);
    }
  }
  out.push('}');
  return out.join('\n');
}

// ---- CUDA: the backend's kernel table (lib/backend/cuda/kernels.gen.ts) ------------------------

// enum class of kernels.h -> the code map of codes.ts
const ENUM_CODES = { Unary: 'UN', UnaryGrad: 'UG', Binary: 'BI', Reduce: 'RE', ArgReduce: 'AR', Act: 'AC' };

/** The backend-level parameters (lib/backend/kernels.ts KernelFns) of an entry, in order, and how each native argument is made from them. */
function backendView(e) {
  const params = [];
  let hyperSeen = false;
  const conv = [];
  let pre = null;
  for (const a of e.args) {
    if (a.hyper) {
      if (!hyperSeen) params.push('h');
      hyperSeen = true;
      conv.push(`h.${a.name}`);
      continue;
    }
    switch (a.kind) {
      case 'buf':
        params.push(a.name);
        conv.push(`${a.nullable ? 'Bn' : 'B'}(${a.name})`);
        break;
      case 'bufList':
        params.push(a.name);
        conv.push(`${a.nullable ? 'Bln' : 'Bl'}(${a.name})`);
        break;
      case 'dtype':
        params.push(a.name);
        conv.push(`DT[${a.name}]`);
        break;
      case 'enum':
        params.push(a.name);
        conv.push(`${ENUM_CODES[a.enum]}[${a.name}]`);
        break;
      case 'ndim':
        conv.push('nd');
        break;
      case 'strided': {
        if (!Array.isArray(a.backend) || a.backend.length !== a.ops + 1)
          fail(e.name, `strided argument ${a.name} needs backend: [shape, one strides list per operand]`);
        params.push(...a.backend);
        pre = `const nd = packDims${a.ops}(${cppStr(e.name)}, ${a.backend.join(', ')});`;
        conv.push('dimsScratch');
        break;
      }
      case 'conv':
        params.push('p');
        conv.push('packConv(p)');
        break;
      case 'pool':
        params.push('p');
        conv.push('packPool(p)');
        break;
      default:
        params.push(a.name);
        conv.push(a.name);
    }
  }
  const order = e.backendOrder ?? params;
  if (e.backendOrder && [...e.backendOrder].sort().join() !== [...params].sort().join())
    fail(e.name, `backendOrder must list the backend parameters ${params.join(', ')}`);
  return { params: order, conv, pre };
}

function genCudaTable(families) {
  const out = [
    `// generated by ${SELF} from native/manifest/cuda/*.mjs: do not edit (change the manifests, then npm run gen).`,
    '//',
    "// The cuda backend's kernel table: each kernel of lib/backend/kernels.ts calls the addon's entry point",
    '// of the same name (binding.d.ts KernelEntryBinding), with handles as NativeBuffers, dtypes and ops',
    '// as codes, shapes and conv/pool parameters packed (codes.ts).',
    '',
    "import type { KernelBinding } from '../../../binding.js';",
    "import type { Kernels } from '../kernels.js';",
  ];
  const used = new Set();
  const body = [];
  for (const fam of families) {
    for (const e of fam.entries) {
      const v = backendView(e);
      const callee = e.optional ? `need(addon, ${cppStr(e.name)}).call(addon, ` : `addon.${e.name}(`;
      if (e.optional) used.add('need');
      const call = `${callee}${v.conv.join(', ')})`;
      for (const m of call.matchAll(/\b(Bln|Bn|Bl|B|DT|UN|UG|BI|RE|AR|AC|packConv|packPool|dimsScratch)\b[[(]?/g)) used.add(m[1]);
      if (v.pre) {
        used.add(`packDims${v.pre.match(/packDims(\d)/)[1]}`);
        used.add('dimsScratch');
        body.push(`    ${e.name}(${v.params.join(', ')}) {`, `      ${v.pre}`, `      ${call};`, '    },');
      } else body.push(`    ${e.name}: (${v.params.join(', ')}) => ${call},`);
    }
  }
  out.push(`import { ${[...used].sort().join(', ')} } from './codes.js';`, '');
  out.push('/** The Kernels table of the cuda backend over the addon (every entry point present: hasCudaKernels). */');
  out.push('export function cudaKernelTable(addon: KernelBinding): Kernels {', '  return {', ...body, '  };', '}', '');
  return out.join('\n');
}

// ---- regions, formatting, writing -------------------------------------------------------------

function replaceRegion(text, name, body, file) {
  const begin = `// <gen:${name}>`;
  const end = `// </gen:${name}>`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file}: markers '${begin}' ... '${end}' not found`);
  const lineEnd = text.indexOf('\n', i);
  return `${text.slice(0, lineEnd + 1)}${body}\n${text.slice(j)}`;
}

function clangFormat(text, file) {
  const bin = process.env.CLANG_FORMAT || 'clang-format';
  const r = spawnSync(bin, ['--style=file', `--assume-filename=${file}`], { cwd: root, input: text, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(`gen-boundary: ${bin} failed on ${file} (${r.error?.message ?? r.stderr}); install clang-format or set CLANG_FORMAT`);
  return r.stdout;
}

async function prettierFormat(text, file) {
  const prettier = await import('prettier');
  const abs = path.join(root, file);
  const options = (await prettier.resolveConfig(abs)) ?? {};
  return prettier.format(text, { ...options, filepath: abs });
}

async function generate() {
  const cpu = await loadFamilies('cpu');
  const seen = new Map();
  for (const f of cpu) validateCpu(f, seen);

  const files = new Map(); // relative path -> content
  for (const f of cpu) {
    if (f.entries.length === 0) continue;
    files.set(`native/cpu/gen_${f.family}.h`, clangFormat(genCpuHeader(f), `native/cpu/gen_${f.family}.h`));
    files.set(`native/cpu/gen_${f.family}.cc`, clangFormat(genCpuSource(f), `native/cpu/gen_${f.family}.cc`));
  }
  const cuda = await loadFamilies('cuda');
  const seenCuda = new Map();
  for (const f of cuda) validateCuda(f, seenCuda);
  const cudaFams = cuda.filter((f) => f.entries.length > 0);
  for (const f of cudaFams) {
    const rel = `native/src/ops_gen_${f.family}.cc`;
    files.set(rel, clangFormat(genCudaSource(f), rel));
  }
  if (cudaFams.length) {
    files.set('native/src/ops_gen_register.cc', clangFormat(genCudaRegister(cudaFams), 'native/src/ops_gen_register.cc'));
    files.set('native/kernels/launch.gen.h', clangFormat(genLaunchHeader(cudaFams), 'native/kernels/launch.gen.h'));
  }

  const bindingPath = 'binding.d.ts';
  let binding = fs.readFileSync(path.join(root, bindingPath), 'utf8');
  binding = replaceRegion(binding, 'cpu', genCpuTs(cpu), bindingPath);
  if (binding.includes('// <gen:cuda>')) binding = replaceRegion(binding, 'cuda', genCudaTs(cudaFams), bindingPath);
  if (cudaFams.length) {
    const rel = 'lib/backend/cuda/kernels.gen.ts';
    files.set(rel, await prettierFormat(genCudaTable(cudaFams), rel));
  }
  files.set(bindingPath, await prettierFormat(binding, bindingPath));

  // generated files whose manifest is gone
  const list = (dir, re) =>
    fs.existsSync(path.join(root, dir))
      ? fs
          .readdirSync(path.join(root, dir))
          .filter((f) => re.test(f))
          .map((f) => `${dir}/${f}`)
      : [];
  const orphans = [...list('native/cpu', /^gen_.*\.(cc|h)$/), ...list('native/src', /^ops_gen_.*\.cc$/)].filter((p) => !files.has(p));
  return { files, orphans };
}

async function main() {
  const check = process.argv.includes('--check');
  const { files, orphans } = await generate();
  const stale = [];
  for (const [rel, content] of files) {
    const abs = path.join(root, rel);
    const cur = fs.existsSync(abs) ? fs.readFileSync(abs, 'utf8') : null;
    if (cur === content) continue;
    stale.push(rel);
    if (!check) fs.writeFileSync(abs, content);
  }
  for (const rel of orphans) {
    stale.push(`${rel} (its manifest is gone)`);
    if (!check) fs.rmSync(path.join(root, rel));
  }
  if (check) {
    if (stale.length) {
      console.error(`gen-boundary: generated files are stale (run npm run gen and commit them):\n  ${stale.join('\n  ')}`);
      process.exit(1);
    }
    console.log(`gen-boundary: ${files.size} generated files up to date`);
  } else {
    console.log(
      stale.length ? `gen-boundary: wrote ${stale.join(', ')}` : `gen-boundary: ${files.size} generated files already up to date`,
    );
  }
}

main().catch((e) => {
  console.error(e instanceof ManifestError ? `gen-boundary: ${e.message}` : e);
  process.exit(1);
});
