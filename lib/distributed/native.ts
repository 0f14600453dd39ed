// The addon's collective entry points (native/dist/): MPI for CPU tensors, NCCL for CUDA tensors.
// Both libraries are dlopened by the addon at run time; nothing here loads unless a process group
// is asked for.

import { loadNative } from '../native.js';

export type HostArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface DistInitInfo {
  rank: number;
  size: number;
  threadLevel: 'multiple' | 'serialized';
  library: string;
  implementation: string;
  version: string;
}

export interface DistLoadInfo {
  ok: boolean;
  library?: string;
  implementation?: string;
  version?: number;
  cuda?: boolean;
  error?: string;
}

/** native/dist/comm.cc and nccl.cc; kinds: 0 allReduce, 1 broadcast, 2 allGather, 3 reduceScatter, 4 barrier. */
export interface DistBinding {
  distMpiLoad(): DistLoadInfo;
  distInit(timeoutMs: number, onDone: (id: number, error: string | null) => void): DistInitInfo;
  distSubmit(
    kind: number,
    send: HostArray | null,
    recv: HostArray | null,
    count: number,
    dtype: number,
    op: number,
    root: number,
    notify: boolean,
  ): number;
  distWait(id: number): void;
  distForget(id: number): void;
  distAbort(code: number): void;
  distState(): { initialized: boolean; broken: boolean; brokenReason?: string; pending: number };
  distNcclLoad(): DistLoadInfo;
  distNcclUniqueId?(): Uint8Array;
  distNcclInit?(id: Uint8Array, rank: number, size: number): void;
  distNcclCollective?(kind: number, send: unknown, recv: unknown, count: number, dtype: number, op: number, root: number): void;
  distNcclDestroy?(): void;
}

/** The addon's collectives, or throws saying why they are not available. */
export function distBinding(where: string): DistBinding {
  const load = loadNative();
  const b = load.binding as unknown as Partial<DistBinding> | null;
  if (!b) {
    throw new Error(
      `${where}: distributed training needs the native addon, which did not load (${load.error ?? 'unknown reason'}); build it with npm run build:native`,
    );
  }
  if (typeof b.distInit !== 'function' || typeof b.distSubmit !== 'function') {
    throw new Error(`${where}: the loaded addon (${load.path}) has no collectives (native/dist/); rebuild it with npm run build:native`);
  }
  return b as DistBinding;
}
