export * from './media-types.js';
export * from './schemas.js';
export * from './parse.js';
export * from './platform.js';
