export { garbageCollect, type GcOptions, type GcResult } from './gc.js';
