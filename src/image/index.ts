// The image component: content store, references, image formats, snapshots, unpack, image store,
// import/export and garbage collection. Other components import only this file.
export * from './digest.js';
export * from './content/index.js';
export * from './reference/index.js';
export * from './formats/index.js';
export { applyLayer, type LayerApplyResult } from './unpack/layer.js';
export { applyTar, type ApplyOptions, type ApplyResult, type WhiteoutMode } from './unpack/apply.js';
export { decompressor, detectCompression } from './unpack/decompress.js';
export * from './snapshot/index.js';
export * from './store/index.js';
export * from './gc/index.js';
export { LeaseManager, leaseActive, type Lease, type LeaseResource } from './content/leases.js';
export * from './archive/index.js';
