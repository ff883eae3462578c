// Registry: the distribution server (`skiff registry`) and the client that pulls and pushes images.
export * from './server/index.js';
export * from './client/index.js';
