export * from './errors.js';
export * from './ids.js';
export * from './logging.js';
export * from './http-proxy.js';
export * from './fs.js';
export * from './trace.js';
export * from './commands.js';
