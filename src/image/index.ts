// The image component: content store, references, image formats, snapshots, unpack, image store,
// import/export and garbage collection. Other components import only this file.
export * from './digest.js';
export * from './content/index.js';
export * from './reference/index.js';
export * from './formats/index.js';
